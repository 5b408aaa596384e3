"""load_tags_npz: round trip of a user's own data and clear errors for malformed files."""

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hyperlearn.datasets import load_tags_npz


def _save(tmp_path, name="data.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3)).astype(np.float32)
    Y = np.array([[1, 0], [0, 1], [0, 0], [1, 1], [0, 0], [1, 0]])
    Y_true = np.array([[1, 0], [0, 1], [1, 0], [1, 1], [0, 1], [1, 0]])
    path = _save(tmp_path, X=X, Y=Y, Y_true=Y_true, tag_names=np.array(["cat", "dog"]))
    d = load_tags_npz(path)
    assert d.features.dtype == np.float32
    np.testing.assert_array_equal(d.features, X)
    assert d.tags_observed.dtype == np.uint8 and d.tags_true.dtype == np.uint8
    np.testing.assert_array_equal(d.tags_observed, Y)
    np.testing.assert_array_equal(d.tags_true, Y_true)
    assert d.tag_names == ["cat", "dog"]
    np.testing.assert_array_equal(d.untagged, [False, False, True, False, True, False])
    # a str path works as well as a pathlib.Path
    np.testing.assert_array_equal(load_tags_npz(str(path)).features, X)


@pytest.mark.parametrize(
    ("X_dtype", "Y", "expected_dtype"),
    [
        (np.float64, np.array([[1], [0]]), np.float64),
        (np.int32, np.array([[True], [False]]), np.float64),
        (np.float16, np.array([[1.0], [0.0]]), np.float64),
    ],
)
def test_dtypes(tmp_path, X_dtype, Y, expected_dtype):
    path = _save(tmp_path, X=np.arange(4).reshape(2, 2).astype(X_dtype), Y=Y)
    d = load_tags_npz(path)
    assert d.features.dtype == expected_dtype
    np.testing.assert_array_equal(d.features, np.arange(4).reshape(2, 2))
    np.testing.assert_array_equal(d.tags_observed, Y.astype(np.uint8))
    assert d.tags_true is None and d.tag_names == ["tag_0"]


X2 = np.zeros((2, 3))
Y2 = np.array([[0, 1], [1, 0]])


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"Y": Y2}, r"'X'.*missing \['X'\]"),
        ({"X": X2}, r"missing \['Y'\]"),
        ({"X": X2, "Y": np.ones((3, 2))}, "same n"),
        ({"X": np.zeros(2), "Y": Y2}, "X must be"),
        ({"X": X2, "Y": np.ones((2, 2, 1))}, "Y \\(n, T\\)"),
        ({"X": np.zeros((0, 3)), "Y": np.zeros((0, 2))}, "at least one row"),
        ({"X": X2, "Y": np.zeros((2, 0))}, "at least one row and one column"),
        ({"X": X2, "Y": np.array([[0, 2], [1, 0]])}, "Y must contain only 0 and 1"),
        ({"X": X2, "Y": np.array([[0, -1], [1, 0]])}, "Y must contain only 0 and 1"),
        ({"X": X2, "Y": np.array([[0, 0.5], [1, 0]])}, "Y must contain only 0 and 1"),
        ({"X": X2, "Y": np.array([[0, np.nan], [1, 0]])}, "Y must contain only 0 and 1"),
        ({"X": X2, "Y": np.array([["a", "b"], ["c", "d"]])}, "Y must hold 0/1 numbers"),
        ({"X": np.array([[np.nan, 0, 0], [0, 0, 0]]), "Y": Y2}, "X must be finite"),
        ({"X": np.array([[np.inf, 0, 0], [0, 0, 0]]), "Y": Y2}, "X must be finite"),
        ({"X": X2 + 1j, "Y": Y2}, "X must hold real numbers"),
        ({"X": X2.astype(str), "Y": Y2}, "X must hold real numbers"),
        ({"X": X2, "Y": Y2, "Y_true": np.ones((2, 3))}, "Y_true must have the shape"),
        ({"X": X2, "Y": Y2, "Y_true": np.full((2, 2), 3)}, "Y_true must contain only 0 and 1"),
        ({"X": X2, "Y": Y2, "tag_names": np.array(["a", "b", "c"])}, "tag_names must be 2"),
    ],
)
def test_malformed_arrays(tmp_path, arrays, match):
    path = _save(tmp_path, **arrays)
    with pytest.raises(ValueError, match=match):
        load_tags_npz(path)


def test_malformed_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no such \.npz file"):
        load_tags_npz(tmp_path / "absent.npz")
    text = tmp_path / "notes.npz"
    text.write_text("X,Y\n1,0\n")
    with pytest.raises(ValueError, match="cannot read"):
        load_tags_npz(text)
    single = tmp_path / "single.npy"
    np.save(single, X2)
    with pytest.raises(ValueError, match="single array"):
        load_tags_npz(single)
    objects = tmp_path / "objects.npz"
    np.savez(objects, X=X2, Y=np.array([[0, 1], [1, None]], dtype=object))
    with pytest.raises(ValueError, match=r"cannot load the arrays.*'Y' is an object array"):
        load_tags_npz(objects)
    sparse_truth = tmp_path / "sparse.npz"  # a scipy.sparse matrix saved by numpy.savez
    np.savez(sparse_truth, X=X2, Y=np.eye(2, dtype=np.uint8), Y_true=scipy.sparse.eye(2))
    with pytest.raises(ValueError, match=r"'Y_true' is an object array.*toarray\(\)"):
        load_tags_npz(sparse_truth)


@settings(max_examples=30)
@given(
    data=st.data(),
    n=st.integers(1, 8),
    d=st.integers(1, 5),
    T=st.integers(1, 6),
)
def test_round_trip_property(tmp_path_factory, data, n, d, T):
    X = data.draw(
        hnp.arrays(np.float64, (n, d), elements=st.floats(-1e6, 1e6, allow_nan=False)),
    )
    Y = data.draw(hnp.arrays(np.uint8, (n, T), elements=st.integers(0, 1)))
    path = tmp_path_factory.mktemp("npz") / "prop.npz"
    np.savez(path, X=X, Y=Y)
    out = load_tags_npz(path)
    np.testing.assert_array_equal(out.features, X)
    np.testing.assert_array_equal(out.tags_observed, Y)
    np.testing.assert_array_equal(out.untagged, Y.sum(axis=1) == 0)
    assert len(out.tag_names) == T
