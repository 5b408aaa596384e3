from hyperlearn.cli import main

raise SystemExit(main())
