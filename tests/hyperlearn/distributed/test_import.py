"""``import hyperlearn`` (and its core subpackages) never imports Dask."""

import subprocess
import sys


def test_import_hyperlearn_does_not_import_dask():
    code = (
        "import sys, hyperlearn, hyperlearn.linalg, hyperlearn.hypergraph\n"
        "hyperlearn.Hypergraph, hyperlearn.linalg.block_cg\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
        "print(loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def test_distributed_package_imports_dask_on_request():
    code = "import sys, hyperlearn.distributed; print('distributed' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "True"
