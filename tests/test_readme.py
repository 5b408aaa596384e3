"""The README's library example runs as written and does what its comments say."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _block_after(heading):
    text = README.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.DOTALL).group(1)


def test_using_the_library_example_runs(capsys):
    namespace = {}
    exec(compile(_block_after("## Using the library"), "README.md", "exec"), namespace)
    tagger, data, w = namespace["tagger"], namespace["data"], namespace["w"]
    # Θ's spectrum lies in [0, 1] and its top eigenvalue is 1 (eigenvector Dv^{1/2}·1)
    assert np.all((w >= -1e-6) & (w <= 1 + 1e-6)) and abs(w[0] - 1) < 1e-6
    assert tagger.scores_.shape == data.tags_true.shape
    assert namespace["new_tags"].sum(axis=1).tolist() == [5, 5, 5]
    f1 = float(capsys.readouterr().out.strip())
    assert 0.0 < f1 <= 1.0
