"""Hyperedge-weight updates: simplex projection, Gao's closed form, the objective."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hyperlearn.hypergraph import _reference
from hyperlearn.tagging import closed_form_weights, objective, project_simplex, simplex_weights
from hyperlearn.testing import strategies

EPS = np.finfo(np.float64).eps
#: slack on rounding checks: c · m · eps · max|v| for sums of m terms (c named here)
ROUNDING_SLACK = 8

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


def assert_on_simplex(w, total=1.0, scale=1.0):
    """w ≥ 0 and Σw = total up to the rounding of m subtractions of size ``scale``."""
    assert np.all(w >= 0)
    assert abs(w.sum() - total) <= ROUNDING_SLACK * w.size * EPS * max(1.0, total, scale)


@given(arrays(np.float64, st.integers(1, 40), elements=finite), st.floats(0.1, 10))
def test_projection_satisfies_the_kkt_conditions(v, total):
    """w = Π(v) iff w ≥ 0, Σw = total, and v − w = τ on the support, v ≤ τ off it."""
    w = project_simplex(v, total)
    scale = max(1.0, np.abs(v).max())
    assert_on_simplex(w, total, scale)
    support = w > 0
    tau = (v - w)[support]
    tol = ROUNDING_SLACK * v.size * EPS * scale
    assert np.ptp(tau) <= tol
    assert np.all(v[~support] <= tau[0] + tol)


@given(arrays(np.float64, st.integers(1, 20), elements=finite))
def test_projection_is_the_closest_simplex_point(v):
    """No point of a random sample on the simplex is closer to v than Π(v)."""
    w = project_simplex(v)
    rng = np.random.default_rng(0)
    others = rng.dirichlet(np.ones(v.size), size=200)
    best = np.linalg.norm(w - v)
    assert np.all(np.linalg.norm(others - v, axis=1) >= best - 1e-9 * max(1, best))


def test_projection_examples_and_errors():
    np.testing.assert_allclose(project_simplex(np.array([0.5, 0.2, -1.0])), [0.65, 0.35, 0.0])
    np.testing.assert_allclose(project_simplex(np.array([0.2, 0.3, 0.5])), [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        project_simplex(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="finite"):
        project_simplex(np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="total must be > 0"):
        project_simplex(np.ones(3), total=0)


@given(arrays(np.float64, st.integers(2, 30), elements=st.floats(0, 1e2)), st.floats(0.01, 100))
def test_closed_form_is_the_stationary_point(c, mu):
    """∇(μ‖w‖² − cᵀw) = 2μw − c is constant (a multiple of 1) and Σw = 1."""
    w = closed_form_weights(c, mu)
    assert abs(w.sum() - 1) <= ROUNDING_SLACK * c.size * EPS * max(1, c.max() / mu)
    grad = 2 * mu * w - c
    assert np.ptp(grad) <= ROUNDING_SLACK * c.size * EPS * max(1, c.max())


@given(arrays(np.float64, st.integers(2, 30), elements=st.floats(0, 1)))
def test_simplex_update_equals_closed_form_when_interior(c):
    """With μ large enough that every closed-form weight is positive, projection is a no-op."""
    mu = c.size * (1 + c.max())  # |c_e − c̄|/(2μ) < 1/m
    np.testing.assert_allclose(simplex_weights(c, mu), closed_form_weights(c, mu), atol=1e-15)


def test_simplex_update_minimises_the_w_objective():
    rng = np.random.default_rng(1)
    c = rng.gamma(2.0, size=12)
    mu = 0.3
    w = simplex_weights(c, mu)
    assert_on_simplex(w)

    def f(x):
        return mu * x @ x - c @ x

    others = rng.dirichlet(np.ones(c.size) * 0.5, size=2000)
    assert f(w) <= min(f(x) for x in others) + 1e-12


@given(
    hg=strategies.hypergraphs(n_vertices=(1, 15), dtype=st.sampled_from([np.float32, np.float64])),
    T=st.integers(1, 4),
    alpha=st.floats(0.05, 0.99),
    mu=st.floats(0.0, 10.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_objective_matches_the_dense_definition(hg, T, alpha, mu, seed):
    """J = tr(Fᵀ(I − Θ)F) + λ‖F − Y‖² + μ‖w‖² with the dense reference Θ."""
    rng = np.random.default_rng(seed)
    n = hg.n_vertices
    F = rng.standard_normal((n, T))
    Y = (rng.random((n, T)) < 0.3).astype(float)
    w = hg.weights.astype(np.float64)
    theta = _reference.normalized_adjacency(hg.incidence.toarray().astype(np.float64), w)
    lam = (1 - alpha) / alpha
    expected = np.trace(F.T @ (np.eye(n) - theta) @ F) + lam * np.sum((F - Y) ** 2) + mu * w @ w
    got = objective(F, Y, hg.edge_statistics(F), hg.weights, alpha=alpha, mu=mu)
    # c_e is a sum of K <= n + m + T + 8 products in the hypergraph's dtype (see the hypergraph
    # property tests); every other term is float64.  Bound: c·K·eps·(sum of the terms' sizes).
    K = n + hg.n_edges + T + 8
    size = (
        np.sum(F**2)
        + np.sum(np.abs(F) * (theta @ np.abs(F)))
        + lam * np.sum((F - Y) ** 2)
        + mu * w @ w
    )
    assert abs(got - expected) <= ROUNDING_SLACK * K * np.finfo(hg.dtype).eps * size


def _complex_step_gradient(H, w, F, h=1e-30):
    """∂ tr(Fᵀ Θ(w) F)/∂w by the complex step (exact to rounding: no subtraction)."""
    delta = H.sum(axis=0)
    grad = np.empty(w.size)
    for e in range(w.size):
        wc = w.astype(complex)
        wc[e] += 1j * h
        s = (H @ wc) ** -0.5  # analytic: d > 0 here
        theta = (s[:, None] * H) @ np.diag(wc / delta) @ (H.T * s[None, :])
        grad[e] = np.sum(F * (theta @ F)).imag / h
    return grad


@given(
    hg=strategies.hypergraphs(
        n_vertices=(2, 12), n_edges=(1, 8), allow_isolated=False, probabilistic=True
    ),
    T=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_degree_term_gives_the_exact_gradient(hg, T, seed):
    """c − b is ∂ tr(Fᵀ Θ(w) F)/∂w with the degrees recomputed, and wᵀ(c − b) = 0."""
    from hyperlearn.tagging import degree_term

    w = hg.weights.astype(np.float64)
    if np.any(hg.vertex_degrees <= 0):
        return  # zero weights can isolate a vertex: d^{-1/2} is not differentiable there
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((hg.n_vertices, T))
    H = hg.incidence.toarray().astype(np.float64)
    c = np.asarray(hg.edge_statistics(F), dtype=np.float64)
    b = degree_term(hg, F)
    expected = _complex_step_gradient(H, w, F)
    # each entry is a sum of K = n·(m + T + 8) products; scale = the same sums in |.|
    Habs_F = np.abs(F)
    theta = _reference.normalized_adjacency(H, w)
    scale = np.asarray(hg.edge_statistics(Habs_F), dtype=np.float64) + degree_term(hg, Habs_F)
    K = hg.n_vertices * (hg.n_edges + T + 8)
    tol = ROUNDING_SLACK * K * EPS * (scale + np.abs(expected))
    assert np.all(np.abs((c - b) - expected) <= tol)
    euler = ROUNDING_SLACK * K * EPS * (w @ scale + np.sum(np.abs(F) * (theta @ np.abs(F))))
    assert abs(w @ (c - b)) <= euler


# --- the centred, size-weighted model --------------------------------------------------------

positive = st.floats(0.01, 100, allow_nan=False, allow_infinity=False)


@given(
    st.integers(1, 30).flatmap(
        lambda m: st.tuples(
            arrays(np.float64, m, elements=finite), arrays(np.float64, m, elements=positive)
        )
    ),
    st.floats(0.1, 10),
)
def test_weighted_projection_satisfies_the_kkt_conditions(va, total):
    """w = argmin Σ a (w − v)² on the simplex iff 2a(v − w) = τ on the support, ≤ τ off it."""
    from hyperlearn.tagging import project_weighted_simplex

    v, a = va
    w = project_weighted_simplex(v, a, total)
    scale = max(1.0, np.abs(v).max()) * a.max() / a.min()
    assert_on_simplex(w, total, scale)
    support = w > 0
    g = 2 * a * (v - w)  # the multiplier τ on the support
    tol = ROUNDING_SLACK * v.size * EPS * scale * 2 * a.max()
    assert np.ptp(g[support]) <= tol
    assert np.all(g[~support] <= g[support][0] + tol)


@given(arrays(np.float64, st.integers(1, 30), elements=finite), st.floats(0.01, 10))
def test_weighted_projection_with_equal_weights_is_the_plain_projection(v, a):
    from hyperlearn.tagging import project_weighted_simplex

    scale = max(1.0, np.abs(v).max())
    np.testing.assert_allclose(
        project_weighted_simplex(v, np.full(v.size, a)),
        project_simplex(v),
        atol=ROUNDING_SLACK * v.size * EPS * scale,
    )


def test_weighted_projection_errors():
    from hyperlearn.tagging import project_weighted_simplex

    with pytest.raises(ValueError, match="shape of v"):
        project_weighted_simplex(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="> 0"):
        project_weighted_simplex(np.ones(2), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="finite"):
        project_weighted_simplex(np.ones(2), np.array([1.0, np.inf]))


@given(
    arrays(np.float64, 12, elements=st.floats(0, 1e2)),
    arrays(np.float64, 12, elements=st.floats(0.01, 1)),
    arrays(np.float64, 12, elements=st.floats(1, 50)),
    st.floats(0.01, 100),
)
def test_centred_update_minimises_its_quadratic_programme(c, w0, s, mu):
    """No simplex point does better on μ Σ s (w − w0)² − cᵀw than the centred update."""
    from hyperlearn.tagging import centred_weights

    w0 = w0 / w0.sum()
    w = centred_weights(c, w0, s, mu)
    assert_on_simplex(w, 1.0, 1.0 + c.max() / mu)

    def q(x):
        return mu * np.sum(s * (x - w0) ** 2, axis=-1) - x @ c

    others = np.random.default_rng(1).dirichlet(np.ones(12), size=300)
    assert np.all(q(others) >= q(w) - 1e-9 * (1 + abs(q(w))))


def test_centred_update_at_infinite_mu_is_the_start():
    from hyperlearn.tagging import centred_closed_form, centred_weights

    w0 = np.array([0.5, 0.3, 0.2])
    c = np.array([5.0, 0.0, 1.0])
    np.testing.assert_array_equal(centred_weights(c, w0, np.ones(3), np.inf), w0)
    np.testing.assert_array_equal(centred_closed_form(c, w0, np.ones(3), np.inf), w0)
    # finite μ: the closed form is the stationary point on Σ w = Σ w0
    mu, s = 2.0, np.array([1.0, 2.0, 3.0])
    w = centred_closed_form(c, w0, s, mu)
    assert w.sum() == pytest.approx(1.0)
    g = 2 * mu * s * (w - w0) - c
    np.testing.assert_allclose(g, g[0])


def test_natural_mu_is_scale_free():
    """Scaling F (so c by t²) or w0 leaves the relative step (c − τ)/(2 μ_abs s w0) unchanged."""
    from hyperlearn.tagging import natural_mu

    rng = np.random.default_rng(0)
    c, w0, s = rng.random(20), rng.dirichlet(np.ones(20)), 1 + rng.random(20)
    base = natural_mu(1.5, c, w0, s)
    assert natural_mu(1.5, 9.0 * c, w0, s) == pytest.approx(9.0 * base)
    assert natural_mu(1.5, c, 3.0 * w0, s) == pytest.approx(base / 3.0)
    # one family of equal hyperedges: relative step = (c_e − c̄) / (mu · c̄)
    c = np.array([1.0, 2.0, 3.0])
    w0, s = np.full(3, 1 / 3), np.full(3, 4.0)
    mu_abs = natural_mu(2.0, c, w0, s)
    step = (c - c.mean()) / (2 * mu_abs * s)
    np.testing.assert_allclose(step / w0, (c - c.mean()) / (2.0 * c.mean()))


def test_centred_objective_adds_the_weighted_penalty():
    F, Y = np.array([[1.0], [0.5]]), np.array([[1.0], [0.0]])
    c, w, w0, s = (
        np.array([0.3, 0.2]),
        np.array([0.6, 0.4]),
        np.array([0.5, 0.5]),
        np.array([2.0, 3.0]),
    )
    base = objective(F, Y, c, w, alpha=0.5, mu=0.0)
    J = objective(F, Y, c, w, alpha=0.5, mu=1.5, w0=w0, scales=s)
    assert J == pytest.approx(base + 1.5 * (2.0 * 0.01 + 3.0 * 0.01))
    assert objective(F, Y, c, w0, alpha=0.5, mu=np.inf, w0=w0, scales=s) == pytest.approx(
        objective(F, Y, c, w0, alpha=0.5, mu=0.0)
    )
