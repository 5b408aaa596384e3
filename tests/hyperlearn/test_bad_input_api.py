"""Bad and edge inputs walked through the public API.

Categories: NaN/inf, empty, n = 1, k beyond the shape, wrong dtypes (object, complex, strings,
wrong scalar types), mismatched shapes, misbehaving LinearOperators — each must raise the
documented exception type with a message that names the parameter; float16, read-only,
non-contiguous (strided and Fortran-ordered) arrays and every SciPy sparse format must be
ACCEPTED and give the answer of the clean input.

Cases the library does not meet yet are marked ``xfail(strict=True)`` with the reason, so that
a fix makes them fail loudly until the mark is removed.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from hyperlearn import Hypergraph, HypergraphTagger, datasets, metrics
from hyperlearn.linalg import (
    block_cg,
    cg,
    randomized_eigh,
    randomized_range_finder,
    randomized_svd,
    tessellate,
)

RNG = np.random.default_rng(0)
X = RNG.standard_normal((24, 3))
Y = (RNG.random((24, 4)) < 0.4).astype(np.float64)
Y[:, 0] = 1.0  # no empty tag column
SCORES = RNG.random((24, 4))
_B = RNG.standard_normal((8, 8))
SPD = _B @ _B.T + 8 * np.eye(8)
RHS = RNG.standard_normal(8)
RHS_BLOCK = RNG.standard_normal((8, 3))
EDGES = [[0, 1, 2], [2, 3], [3, 4, 5], [0, 5]]
INCIDENCE = Hypergraph.from_edges(EDGES).incidence.toarray()
LOW_RANK = RNG.standard_normal((30, 4)) @ RNG.standard_normal((4, 20))
# tridiagonal SPD with 18 % nonzero entries: sparse enough for tessellate's RCM ordering
BANDED = 2.5 * np.eye(16) - np.eye(16, k=1) - np.eye(16, k=-1)


def with_value(array, value, index=(0, 0)):
    array = np.array(array, dtype=np.result_type(array, type(value)), copy=True)
    array[index] = value
    return array


def hg():
    return Hypergraph.from_edges(EDGES)


def tagger():
    return HypergraphTagger(n_neighbors=3, max_iter=2, alpha=0.5, mu=1.0, random_state=0)


def fitted_tagger():
    return tagger().fit(X, Y)


def operator(matvec, n, dtype=np.float64):
    """A symmetric-looking LinearOperator built from ``matvec`` (rmatvec = matvec)."""
    return LinearOperator((n, n), matvec=matvec, rmatvec=matvec, dtype=dtype)


def xfail(reason):
    return pytest.mark.xfail(strict=True, reason=reason)


# ---------------------------------------------------------------------------------------------
# bad inputs: (call, exception type, parameter the message must name)

NAN = np.nan
INF = np.inf

BAD = {
    # --- NaN / inf
    "from_incidence H nan": (
        lambda: Hypergraph.from_incidence(with_value(INCIDENCE, NAN)),
        ValueError,
        "H",
    ),
    "from_incidence H inf sparse": (
        lambda: Hypergraph.from_incidence(sp.csr_matrix(with_value(INCIDENCE, INF))),
        ValueError,
        "H",
    ),
    "from_edges weights nan": (
        lambda: Hypergraph.from_edges(EDGES, weights=[1, NAN, 1, 1]),
        ValueError,
        "weights",
    ),
    "with_weights inf": (lambda: hg().with_weights([1, INF, 1, 1]), ValueError, "weights"),
    "from_labels Y nan": (lambda: Hypergraph.from_labels(with_value(Y, NAN)), ValueError, "Y"),
    "from_knn X nan": (lambda: Hypergraph.from_knn(with_value(X, NAN), 3), ValueError, "X"),
    "randomized_svd M nan": (lambda: randomized_svd(with_value(LOW_RANK, NAN), 2), ValueError, "M"),
    "randomized_svd M inf sparse": (
        lambda: randomized_svd(sp.csr_matrix(with_value(LOW_RANK, INF)), 2),
        ValueError,
        "M",
    ),
    "randomized_range_finder A nan": (
        lambda: randomized_range_finder(with_value(LOW_RANK, NAN), size=3, n_iter=1),
        ValueError,
        "A",
    ),
    "randomized_eigh A nan": (lambda: randomized_eigh(with_value(SPD, NAN), 2), ValueError, "A"),
    "tessellate A nan": (lambda: tessellate(with_value(SPD, NAN), 2, 2), ValueError, "A"),
    "cg A nan": (lambda: cg(with_value(SPD, NAN), RHS), ValueError, "A"),
    "cg b nan": (lambda: cg(SPD, with_value(RHS, NAN, 0)), ValueError, "b"),
    "cg x0 inf": (lambda: cg(SPD, RHS, with_value(RHS, INF, 0)), ValueError, "x0"),
    "block_cg B nan": (lambda: block_cg(SPD, with_value(RHS_BLOCK, NAN)), ValueError, "B"),
    "tagger fit X nan": (lambda: tagger().fit(with_value(X, NAN), Y), ValueError, "X"),
    "tagger fit Y nan": (lambda: tagger().fit(X, with_value(Y, NAN)), ValueError, "Y"),
    "tagger predict X inf": (lambda: fitted_tagger().predict(with_value(X, INF)), ValueError, "X"),
    "f1_at_k scores nan": (
        lambda: metrics.f1_at_k(Y, with_value(SCORES, NAN)),
        ValueError,
        "scores",
    ),
    "mean_average_precision scores inf": (
        lambda: metrics.mean_average_precision(Y, with_value(SCORES, INF)),
        ValueError,
        "scores",
    ),
    "retrieval_map query nan": (
        lambda: metrics.retrieval_map(with_value(X, NAN), X, Y, Y),
        ValueError,
        "query",
    ),
    "make_tagged_shapes tag_noise nan": (
        lambda: datasets.make_tagged_shapes(20, tag_noise=(NAN, 0.1)),
        ValueError,
        "tag_noise",
    ),
    # --- empty
    "from_incidence H 0 vertices": (
        lambda: Hypergraph.from_incidence(np.zeros((0, 2))),
        ValueError,
        "H",
    ),
    "from_knn X empty": (lambda: Hypergraph.from_knn(np.zeros((0, 3)), 3), ValueError, "X"),
    "randomized_svd M empty": (lambda: randomized_svd(np.zeros((0, 4)), 1), ValueError, "M"),
    "tagger fit empty": (lambda: tagger().fit(np.zeros((0, 3)), np.zeros((0, 4))), ValueError, "X"),
    "f1_at_k empty": (
        lambda: metrics.f1_at_k(np.zeros((0, 4)), np.zeros((0, 4)), k=2),
        ValueError,
        "Y_true",
    ),
    "hstack empty list": (lambda: Hypergraph.hstack([]), ValueError, "hypergraphs"),
    # --- k beyond the shape
    "randomized_svd n_components > min(m, n)": (
        lambda: randomized_svd(LOW_RANK, 21),
        ValueError,
        "n_components",
    ),
    "randomized_svd n_components 0": (
        lambda: randomized_svd(LOW_RANK, 0),
        ValueError,
        "n_components",
    ),
    "randomized_eigh n_components > n": (
        lambda: randomized_eigh(SPD, 9),
        ValueError,
        "n_components",
    ),
    "tessellate n_blocks > n": (lambda: tessellate(SPD, 9, 1), ValueError, "n_blocks"),
    "from_knn n_neighbors >= n": (lambda: Hypergraph.from_knn(X, 24), ValueError, "n_neighbors"),
    "f1_at_k k > n_tags": (lambda: metrics.f1_at_k(Y, SCORES, k=5), ValueError, "k"),
    "precision_at_k k 0": (lambda: metrics.precision_at_k(Y, SCORES, k=0), ValueError, "k"),
    "tagger predict k > n_tags": (lambda: fitted_tagger().predict(X[:3], k=5), ValueError, "k"),
    "tagger n_neighbors >= n": (
        lambda: HypergraphTagger(n_neighbors=24, alpha=0.5, mu=1.0).fit(X, Y),
        ValueError,
        "n_neighbors",
    ),
    # --- wrong dtypes
    "from_incidence H complex": (
        lambda: Hypergraph.from_incidence(INCIDENCE.astype(complex)),
        TypeError,
        "H",
    ),
    "from_incidence H object": (
        lambda: Hypergraph.from_incidence(INCIDENCE.astype(object)),
        TypeError,
        "H",
    ),
    "from_knn X strings": (lambda: Hypergraph.from_knn(X.astype(str), 3), TypeError, "X"),
    "randomized_svd M complex": (
        lambda: randomized_svd(LOW_RANK.astype(complex), 2),
        TypeError,
        "M",
    ),
    "randomized_svd M object": (lambda: randomized_svd(LOW_RANK.astype(object), 2), TypeError, "M"),
    "randomized_svd n_components float": (
        lambda: randomized_svd(LOW_RANK, 2.0),
        TypeError,
        "n_components",
    ),
    "randomized_svd n_iter string": (
        lambda: randomized_svd(LOW_RANK, 2, n_iter="many"),
        TypeError,
        "n_iter",
    ),
    "randomized_eigh method unknown": (
        lambda: randomized_eigh(SPD, 2, method="power"),
        ValueError,
        "method",
    ),
    "cg b strings": (lambda: cg(SPD, RHS.astype(str)), TypeError, "b"),
    # a ValueError, not the TypeError of the general rule: SciPy's contract for cg (any invalid
    # rtol/atol is a ValueError), which SciPy's own cg tests check against ours
    "cg rtol string": (lambda: cg(SPD, RHS, rtol="small"), ValueError, "rtol"),
    "block_cg atol string": (lambda: block_cg(SPD, RHS_BLOCK, atol="small"), ValueError, "atol"),
    "cg A inf sparse": (lambda: cg(sp.csr_matrix(with_value(SPD, INF)), RHS), ValueError, "A"),
    "block_cg A nan": (lambda: block_cg(with_value(SPD, NAN), RHS_BLOCK), ValueError, "A"),
    "cg maxiter float": (lambda: cg(SPD, RHS, maxiter=10.5), TypeError, "maxiter"),
    "block_cg B object": (lambda: block_cg(SPD, RHS_BLOCK.astype(object)), TypeError, "B"),
    "tessellate rank float": (lambda: tessellate(SPD, 2, 1.5), TypeError, "rank"),
    "tagger fit X complex": (lambda: tagger().fit(X.astype(complex), Y), TypeError, "X"),
    "tagger alpha string": (
        lambda: HypergraphTagger(alpha="big", mu=1.0, n_neighbors=3).fit(X, Y),
        (TypeError, ValueError),
        "alpha",
    ),
    "tagger solver unknown": (
        lambda: HypergraphTagger(solver="magic", alpha=0.5, mu=1.0, n_neighbors=3).fit(X, Y),
        ValueError,
        "solver",
    ),
    "f1_at_k scores complex": (
        lambda: metrics.f1_at_k(Y, SCORES.astype(complex), k=2),
        TypeError,
        "scores",
    ),
    "f1_at_k k float": (lambda: metrics.f1_at_k(Y, SCORES, k=2.0), TypeError, "k"),
    "f1_at_k average unknown": (
        lambda: metrics.f1_at_k(Y, SCORES, k=2, average="mean"),
        ValueError,
        "average",
    ),
    "laplacian kind unknown": (lambda: hg().laplacian("signless"), ValueError, "kind"),
    "make_tagged_shapes n_images float": (
        lambda: datasets.make_tagged_shapes(20.0),
        TypeError,
        "n_images",
    ),
    # --- wrong values of options
    "from_knn metric unknown": (
        lambda: Hypergraph.from_knn(X, 3, metric="manhattan?"),
        ValueError,
        "metric",
    ),
    "with_weights negative": (
        lambda: hg().with_weights([1.0, -1.0, 1.0, 1.0]),
        ValueError,
        "weights",
    ),
    "laplacian nnz_budget negative": (
        lambda: hg().laplacian(explicit=True, nnz_budget=-1),
        ValueError,
        "nnz_budget",
    ),
    "block_cg method unknown": (
        lambda: block_cg(SPD, RHS_BLOCK, method="fast"),
        ValueError,
        "method",
    ),
    "block_cg precision unknown": (
        lambda: block_cg(SPD, RHS_BLOCK, precision="half"),
        ValueError,
        "precision",
    ),
    "tessellate ordering unknown": (
        lambda: tessellate(BANDED, 2, 2, ordering="amd"),
        ValueError,
        "ordering",
    ),
    "tessellate method unknown": (
        lambda: tessellate(BANDED, 2, 2, method="qr"),
        ValueError,
        "method",
    ),
    "load_digits_tags n_images 0": (lambda: datasets.load_digits_tags(0), ValueError, "n_images"),
    "make_clustered_tags n_samples 0": (
        lambda: datasets.make_clustered_tags(0, n_features=4, n_tags=3),
        ValueError,
        "n_samples",
    ),
    "image_features images 2-D": (
        lambda: datasets.image_features(np.zeros((4, 4))),
        ValueError,
        "images",
    ),
    # --- mismatched shapes
    "cg M wrong shape": (lambda: cg(SPD, RHS, M=np.eye(5)), ValueError, "M"),
    "cg b wrong length": (lambda: cg(SPD, RHS[:5]), ValueError, "b"),
    "cg x0 wrong length": (lambda: cg(SPD, RHS, RHS[:5]), ValueError, "x0"),
    "cg A not square": (lambda: cg(SPD[:, :5], RHS), ValueError, "A"),
    "block_cg B wrong rows": (lambda: block_cg(SPD, RHS_BLOCK[:5]), ValueError, "B"),
    "block_cg X0 wrong shape": (
        lambda: block_cg(SPD, RHS_BLOCK, RHS_BLOCK[:, :2]),
        ValueError,
        "X0",
    ),
    "with_weights wrong length": (lambda: hg().with_weights([1.0, 2.0]), ValueError, "weights"),
    "from_incidence weights wrong length": (
        lambda: Hypergraph.from_incidence(INCIDENCE, weights=np.ones(3)),
        ValueError,
        "weights",
    ),
    "hstack different n_vertices": (
        lambda: Hypergraph.hstack([hg(), Hypergraph.from_edges([[0, 1]])]),
        ValueError,
        "hypergraphs",
    ),
    "operator times wrong length": (
        lambda: hg().normalized_adjacency() @ np.ones(5),
        ValueError,
        "x",
    ),
    "tessellate A not square": (lambda: tessellate(LOW_RANK, 2, 2), ValueError, "A"),
    "randomized_eigh A not square": (lambda: randomized_eigh(LOW_RANK, 2), ValueError, "A"),
    "tagger fit Y rows": (lambda: tagger().fit(X, Y[:10]), ValueError, "Y"),
    "tagger predict X columns": (lambda: fitted_tagger().predict(X[:, :2]), ValueError, "X"),
    "f1_at_k shapes differ": (lambda: metrics.f1_at_k(Y, SCORES[:, :3], k=2), ValueError, "scores"),
    "retrieval_map y_query rows": (
        lambda: metrics.retrieval_map(X, X, Y[:5], Y),
        ValueError,
        "y_query",
    ),
    "retrieval_map feature widths": (
        lambda: metrics.retrieval_map(X, X[:, :2], Y, Y),
        ValueError,
        "database",
    ),
    # --- misbehaving operators
    "randomized_svd operator returns NaN": (
        lambda: randomized_svd(operator(lambda x: np.full(8, np.nan), 8), 2, random_state=0),
        ValueError,
        "M",
    ),
    "randomized_eigh operator returns wrong rows": (
        lambda: randomized_eigh(operator(lambda x: (SPD @ x)[:5], 8), 2, random_state=0),
        ValueError,
        "A",
    ),
    "cg operator returns wrong rows": (
        lambda: cg(operator(lambda x: (SPD @ x)[:5], 8), RHS),
        ValueError,
        "A",
    ),
    "block_cg operator returns wrong rows": (
        lambda: block_cg(operator(lambda x: np.r_[SPD @ x, 0.0], 8), RHS_BLOCK),
        ValueError,
        "A",
    ),
    "tessellate operator returns NaN": (
        lambda: tessellate(operator(lambda x: np.full(8, np.nan), 8), 2, 2, ordering=None),
        ValueError,
        "A",
    ),
}

# library behaviour that does not meet the contract yet (none at present)
KNOWN_FAILURES = {}


def _param_named(message, name):
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message)


def _bad_params():
    for case_id in BAD:
        marks = [xfail(KNOWN_FAILURES[case_id])] if case_id in KNOWN_FAILURES else []
        yield pytest.param(case_id, id=case_id, marks=marks)


@pytest.mark.parametrize("case_id", list(_bad_params()))
def test_bad_input_raises_and_names_the_parameter(case_id):
    call, error, name = BAD[case_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error) as info:
            call()
    message = str(info.value)
    assert _param_named(message, name), f"message does not name {name!r}: {message}"


# ---------------------------------------------------------------------------------------------
# misbehaving operators in the solvers: NaN is reported through info (documented contract)


def test_cg_operator_returning_nan_reports_info_and_warns_naming_a():
    A = operator(lambda x: np.full(8, np.nan), 8)
    with pytest.warns(RuntimeWarning, match="`A`"):
        _, info = cg(A, RHS)
    assert info < 0


# ---------------------------------------------------------------------------------------------
# accepted inputs: the same answer as the clean input


def _read_only(array):
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


def _strided(array):
    """The same values in a non-contiguous view (every other column of a wider array)."""
    wide = np.zeros(
        (array.shape[0], 2 * array.shape[1]) if array.ndim == 2 else 2 * array.size,
        dtype=array.dtype,
    )
    if array.ndim == 2:
        wide[:, ::2] = array
        return wide[:, ::2]
    wide[::2] = array
    return wide[::2]


VARIANTS = {
    "read-only": _read_only,
    "strided": _strided,
    "fortran": np.asfortranarray,
}


def _svd_values(M):
    return randomized_svd(M, 3, n_iter=2, random_state=0)[1]


def _eigh_values(A):
    return randomized_eigh(A, 2, n_iter=2, random_state=0)[0]


def _cg_solution(A, b=RHS):
    x, info = cg(A, b, rtol=1e-10)
    assert info == 0
    return x


def _block_cg_solution(A, B=RHS_BLOCK):
    Xs, info = block_cg(A, B, rtol=1e-10)
    assert info == 0
    return Xs


def _knn_incidence(data):
    return Hypergraph.from_knn(data, 3).incidence.toarray()


def _incidence_degrees(H):
    return Hypergraph.from_incidence(H).vertex_degrees


def _label_incidence(labels):
    return Hypergraph.from_labels(labels).incidence.toarray()


def _f1(scores):
    return metrics.f1_at_k(Y, scores, k=2)


def _map(truth):
    return metrics.mean_average_precision(truth, SCORES)


def _tagger_scores(data):
    return tagger().fit(data, Y).decision_function(data[:5])


DENSE_CALLS = {
    "randomized_svd": (_svd_values, LOW_RANK),
    "randomized_eigh": (_eigh_values, SPD),
    "cg A": (_cg_solution, SPD),
    "cg b": (lambda b: _cg_solution(SPD, b), RHS),
    "block_cg B": (lambda B: _block_cg_solution(SPD, B), RHS_BLOCK),
    "from_knn": (_knn_incidence, X),
    "from_incidence": (_incidence_degrees, INCIDENCE),
    "from_labels": (_label_incidence, Y),
    "f1_at_k": (_f1, SCORES),
    "mean_average_precision": (_map, Y),
    "tagger fit": (_tagger_scores, X),
    "operator product": (lambda x: hg().normalized_adjacency() @ x, RNG.standard_normal((6, 2))),
    "retrieval_map": (lambda q: metrics.retrieval_map(q, X, Y, Y), X),
}


def _close(a, b, rtol):
    np.testing.assert_allclose(
        np.asarray(a, dtype=np.float64),
        np.asarray(b, dtype=np.float64),
        rtol=rtol,
        atol=rtol * max(1.0, float(np.max(np.abs(b)))),
    )


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", sorted(DENSE_CALLS))
def test_read_only_and_non_contiguous_arrays_give_the_same_answer(name, variant):
    call, data = DENSE_CALLS[name]
    expected = call(data)
    # only the memory layout differs: the same values, so the same answer up to the
    # summation order of a BLAS kernel on another layout (a few ulps)
    _close(call(VARIANTS[variant](data)), expected, rtol=1e-10)


FLOAT16_CALLS = {
    "randomized_svd": (_svd_values, LOW_RANK),
    "cg b": (lambda b: _cg_solution(SPD.astype(np.float32), b), RHS),
    "from_knn": (_knn_incidence, X),
    "f1_at_k": (_f1, SCORES),
    "tagger fit": (_tagger_scores, X),
}


@pytest.mark.parametrize("name", sorted(FLOAT16_CALLS))
def test_float16_is_accepted_as_float32(name):
    # the one float16 rule: widened to float32, so float16 data gives the answer of the same
    # values given as float32
    call, data = FLOAT16_CALLS[name]
    half = data.astype(np.float16)
    _close(call(half), call(half.astype(np.float32)), rtol=1e-6)


HALF = np.float16
FLOAT16_DTYPES = {
    "randomized_svd": lambda: randomized_svd(LOW_RANK.astype(HALF), 2, random_state=0)[1],
    "randomized_range_finder": lambda: randomized_range_finder(
        LOW_RANK.astype(HALF), size=3, n_iter=1, random_state=0
    ),
    "randomized_eigh": lambda: randomized_eigh(SPD.astype(HALF), 2, random_state=0)[0],
    "tessellate": lambda: tessellate(BANDED.astype(HALF), 2, 2, random_state=0),
    "from_knn": lambda: Hypergraph.from_knn(X.astype(HALF), 3),
    "from_incidence": lambda: Hypergraph.from_incidence(INCIDENCE.astype(HALF)),
    "from_labels": lambda: Hypergraph.from_labels(Y.astype(HALF)),
    "cg": lambda: cg(SPD.astype(HALF), RHS.astype(HALF))[0],
    "block_cg": lambda: block_cg(SPD.astype(HALF), RHS_BLOCK.astype(HALF))[0],
}
FLOAT16_KNOWN_FAILURES = {}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            n, marks=[xfail(FLOAT16_KNOWN_FAILURES[n])] if n in FLOAT16_KNOWN_FAILURES else []
        )
        for n in sorted(FLOAT16_DTYPES)
    ],
)
def test_float16_results_are_float32(name):
    assert np.dtype(FLOAT16_DTYPES[name]().dtype) == np.float32


SPARSE_FORMATS = ["csr", "csc", "coo", "bsr", "lil", "dok", "dia"]


def _as_format(matrix, fmt, array_api):
    make = sp.csr_array if array_api else sp.csr_matrix
    return make(matrix).asformat(fmt)


SPARSE_CALLS = {
    "randomized_svd": (_svd_values, LOW_RANK),
    "randomized_eigh": (_eigh_values, SPD),
    "cg A": (_cg_solution, SPD),
    "block_cg A": (_block_cg_solution, SPD),
    "from_incidence": (_incidence_degrees, INCIDENCE),
    "from_labels": (_label_incidence, Y),
    "mean_average_precision": (_map, Y),
    "tessellate": (lambda A: tessellate(A, 2, 2, random_state=0).matvec(np.ones(16)), BANDED),
}


@pytest.mark.parametrize("array_api", [False, True], ids=["spmatrix", "sparray"])
@pytest.mark.parametrize("fmt", SPARSE_FORMATS)
@pytest.mark.parametrize("name", sorted(SPARSE_CALLS))
def test_every_sparse_format_gives_the_dense_answer(name, fmt, array_api):
    call, data = SPARSE_CALLS[name]
    expected = call(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sp.SparseEfficiencyWarning)
        _close(call(_as_format(data, fmt, array_api)), expected, rtol=1e-8)


# ---------------------------------------------------------------------------------------------
# n = 1: a one-vertex / one-sample problem is solved, not refused


def test_one_by_one_systems_are_solved():
    A = np.array([[4.0]])
    x, info = cg(A, np.array([2.0]))
    assert info == 0 and x[0] == pytest.approx(0.5)
    Xs, info = block_cg(A, np.array([[2.0, 4.0]]))
    assert info == 0
    np.testing.assert_allclose(Xs, [[0.5, 1.0]])
    U, s, Vt = randomized_svd(np.array([[-3.0]]), 1, random_state=0)
    assert s[0] == pytest.approx(3.0) and (U * s) @ Vt == pytest.approx(-3.0)
    w, V = randomized_eigh(A, 1, random_state=0)
    assert w[0] == pytest.approx(4.0) and abs(V[0, 0]) == pytest.approx(1.0)


def test_one_vertex_hypergraph():
    one = Hypergraph.from_edges([[0]])
    assert one.n_vertices == 1 and one.n_edges == 1
    theta = one.normalized_adjacency()
    np.testing.assert_allclose(theta @ np.ones(1), [1.0])
    np.testing.assert_allclose(one.laplacian(explicit=True).toarray(), [[0.0]], atol=1e-15)


def test_empty_systems_have_the_empty_solution():
    # 0 unknowns or 0 right-hand sides: the unique solution is empty, nothing to iterate
    x, info = cg(np.zeros((0, 0)), np.zeros(0))
    assert info == 0 and x.shape == (0,)
    Xs, info = block_cg(SPD, np.zeros((8, 0)))
    assert info == 0 and Xs.shape == (8, 0)


def test_predict_follows_the_k_rule_of_the_metrics():
    # one rule for k: an integer in [1, number of tags]; k = n_tags returns every tag, and
    # the default (k=None) is min(5, number of tags)
    model = fitted_tagger()
    assert np.all(model.predict(X[:3], k=Y.shape[1]) == 1)
    np.testing.assert_array_equal(model.predict(X[:3]), model.predict(X[:3], k=4))
    with pytest.raises(ValueError, match=r"k=5 exceeds the number of tags \(4\)"):
        model.predict(X[:3], k=5)
    with pytest.raises(ValueError, match="k=5"):
        metrics.f1_at_k(Y, SCORES, k=5)


def test_complex_features_are_a_type_error_without_complex_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning would fail here
        with pytest.raises(TypeError, match="complex128"):
            tagger().fit(X.astype(complex), Y)


def test_one_sample_metrics():
    assert metrics.f1_at_k(np.array([[1.0, 0.0]]), np.array([[0.9, 0.1]]), k=1) == 1.0
    assert metrics.precision_at_k(np.array([[0.0, 1.0]]), np.array([[0.9, 0.1]]), k=1) == 0.0
