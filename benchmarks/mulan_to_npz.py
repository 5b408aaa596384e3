"""Turn the MULAN multi-label data sets of a local ``scikit-multilearn-0.0.1.tar.gz`` into
``.npz`` files that the ``tagging`` suite (and ``hyperlearn tag --dataset``) reads.

The first release of scikit-multilearn on PyPI carried eleven MULAN benchmark sets (scene,
Corel5k, emotions, yeast, medical, enron, bibtex, ...) as pickles; later releases download them
at run time, and the old source archive no longer builds, so ``pip`` cannot install it.  This
script reads the archive you fetched yourself (it never touches the network)::

    curl -LO https://files.pythonhosted.org/packages/0e/5a/4bc646ce33f2b6a6130e09efb5e2530d9661a5c4c51e4e17821b459016b2/scikit-multilearn-0.0.1.tar.gz
    python -m benchmarks.mulan_to_npz scikit-multilearn-0.0.1.tar.gz ~/mulan
    HYPERLEARN_TAGGING_DATA=~/mulan python -m benchmarks tagging --sizes completion-scene

Each set's train and test parts are stacked (the suite draws its own hidden images) and saved
as ``<name>.npz`` with ``X`` (float32) and ``Y`` (uint8).  The archive's SHA-256 is checked,
and the pickles are read by an unpickler that builds NumPy arrays and nothing else.
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import io
import pickle
import sys
import tarfile
from pathlib import Path

import numpy as np

SHA256 = "ac30a342595481f46db77f5334c3a1e2d8261f4adbd104e3444f801c3c89b6a0"
#: Sets with numeric features (genbase's first column is a protein identifier: left out).
SETS = (
    "scene",
    "Corel5k",
    "emotions",
    "yeast",
    "medical",
    "enron",
    "bibtex",
    "delicious",
    "tmc2007-500",
    "mediamill",
)
#: The only globals the pickles may name: NumPy's array and dtype reconstruction (under the
#: module names of NumPy 1 and 2, and Python 2's, as the pickles were written).
_ALLOWED = {
    *(
        (m, n)
        for m in ("numpy.core.multiarray", "numpy._core.multiarray")
        for n in ("_reconstruct", "scalar")
    ),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("copy_reg", "_reconstructor"),
    ("__builtin__", "object"),
    ("_codecs", "encode"),  # bytes in protocol-2 pickles written by Python 3
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the archive")
        if module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            try:  # the pickles name NumPy 1's module; NumPy 2 moved it
                from numpy._core import multiarray
            except ImportError:  # pragma: no cover - NumPy 1
                from numpy.core import multiarray
            return getattr(multiarray, name)
        module = {"copy_reg": "copyreg", "__builtin__": "builtins"}.get(module, module)
        return super().find_class(module, name)


def _read_part(archive, member):
    raw = archive.extractfile(member).read()
    with bz2.BZ2File(io.BytesIO(raw)) as handle:
        data = _ArraysOnly(handle, encoding="latin1").load()
    return np.asarray(data["X"], dtype=np.float32), np.asarray(data["y"], dtype=np.uint8)


def convert(archive_path, out_dir, sets=SETS, *, sha256=SHA256):
    """Write ``<name>.npz`` (lower case) for each of ``sets``; returns ``{name: (n, d, T)}``."""
    archive_path, out_dir = Path(archive_path), Path(out_dir)
    digest = hashlib.sha256(archive_path.read_bytes()).hexdigest()
    if digest != sha256:
        raise ValueError(f"{archive_path} has SHA-256 {digest}, expected {sha256}")
    out_dir.mkdir(parents=True, exist_ok=True)
    shapes = {}
    with tarfile.open(archive_path) as archive:
        members = {Path(m.name).name: m for m in archive.getmembers() if m.isfile()}
        for name in sets:
            parts = [
                _read_part(archive, members[f"{name}-{s}.dump.bz2"]) for s in ("train", "test")
            ]
            X = np.vstack([p[0] for p in parts])
            Y = np.vstack([p[1] for p in parts])
            if not np.isin(Y, (0, 1)).all():
                raise ValueError(f"{name}: tags other than 0/1 in the archive")
            np.savez_compressed(out_dir / f"{name.lower()}.npz", X=X, Y=Y)
            shapes[name.lower()] = (X.shape[0], X.shape[1], Y.shape[1])
    return shapes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", help="path of scikit-multilearn-0.0.1.tar.gz")
    parser.add_argument("out_dir", help="directory for the .npz files")
    args = parser.parse_args(argv)
    for name, (n, d, T) in convert(args.archive, args.out_dir).items():
        print(f"{name}: {n} items, {d} features, {T} tags")
    return 0


if __name__ == "__main__":
    sys.exit(main())
