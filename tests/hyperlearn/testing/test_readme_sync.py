"""The README example of "Property-testing your own code" is test_readme_example.py, verbatim."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SECTION = "## Property-testing your own code"


def test_readme_example_matches_the_tested_file():
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert SECTION in text, "README.md lost its 'Property-testing your own code' section"
    section = text.split(SECTION, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert match, "the README section has no python code block"
    tested = (Path(__file__).parent / "test_readme_example.py").read_text(encoding="utf-8")
    body = tested[tested.index("import numpy as np") :]
    assert match.group(1) == body
