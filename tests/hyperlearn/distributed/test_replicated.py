"""Mode A: the replicated solve equals the local block_cg bit for bit."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperlearn.distributed import DaskBackend, edge_statistics_replicated, solve_replicated
from hyperlearn.linalg import block_cg
from hyperlearn.linalg._shifted import ShiftedOperator
from hyperlearn.testing.strategies import hypergraphs

from .conftest import knn_hypergraph, tag_matrix

EPS = np.finfo(np.float64).eps


def local_solve(hg, B, alpha, X0=None, **kw):
    history = []
    X, info = block_cg(
        ShiftedOperator(hg.normalized_adjacency(), alpha), B, X0, residuals=history, **kw
    )
    return X, max(len(history) - 1, 0), info


@pytest.mark.parametrize(
    ("n", "method"),
    [(2500, "auto"), (2500, "batched"), (600, "block"), (600, "auto"), (2500, "block")],
)
def test_solve_is_bitwise_local(client, n, method):
    hg = knn_hypergraph(n)
    B = tag_matrix(n, 37)
    with DaskBackend(client, tasks_per_worker=2) as backend:
        X, iterations, info = backend.solve(hg, B, 0.9, rtol=1e-8, method=method)
    X_l, iterations_l, info_l = local_solve(hg, B, 0.9, rtol=1e-8, method=method)
    assert info == info_l == 0
    assert np.array_equal(X, X_l)
    if method == "block" or (method == "auto" and n <= 1600):
        assert iterations == iterations_l  # the groups are block_cg's own chunks


def test_warm_start_and_new_weights_bitwise(client):
    hg = knn_hypergraph(2000)
    B = tag_matrix(2000, 12)
    rng = np.random.default_rng(3)
    with DaskBackend(client) as backend:
        X1, _, _ = backend.solve(hg, B, 0.8, rtol=1e-4)
        replica = backend._replica
        hg2 = hg.with_weights(rng.random(hg.n_edges) + 0.1)
        X2, it2, info2 = backend.solve(hg2, B, 0.8, X1, rtol=1e-9)
        assert backend._replica is replica  # same incidence: not broadcast again
    X2_l, it2_l, info2_l = local_solve(hg2, B, 0.8, X1, rtol=1e-9)
    assert np.array_equal(X2, X2_l)
    assert (it2, info2) == (it2_l, info2_l)  # 12 columns: one lockstep chunk locally


def test_iterations_budget_and_info_match_local(client):
    hg = knn_hypergraph(2000)
    B = tag_matrix(2000, 8)
    X, iterations, info = DaskBackend(client).solve(hg, B, 0.99, rtol=1e-12, maxiter=3)
    X_l, iterations_l, info_l = local_solve(hg, B, 0.99, rtol=1e-12, maxiter=3)
    assert np.array_equal(X, X_l)
    assert info > 0 and info_l > 0 and iterations == iterations_l == 3


@settings(max_examples=15)
@given(
    hg=hypergraphs(n_vertices=(5, 60), n_edges=(1, 40), edge_size=(1, 6)),
    s=st.integers(1, 9),
    alpha=st.floats(0.05, 0.99),
    seed=st.integers(0, 2**31),
)
def test_property_bitwise(client, hg, s, alpha, seed):
    rng = np.random.default_rng(seed)
    n = hg.n_vertices
    B = rng.standard_normal((n, s))
    B[:, 0] = 0.0  # a zero right-hand side: X = 0
    X, _, info = solve_replicated_with(client, hg, B, alpha)
    X_l, _, info_l = local_solve(hg, B, alpha, rtol=1e-10)
    assert info == info_l
    assert np.array_equal(X, X_l)


def solve_replicated_with(client, hg, B, alpha):
    with DaskBackend(client, tasks_per_worker=3) as backend:
        return backend.solve(hg, B, alpha, rtol=1e-10)


def test_edge_statistics_equal_local_to_rounding(client):
    hg = knn_hypergraph(1500)
    B = tag_matrix(1500, 20)
    w = np.random.default_rng(2).random(hg.n_edges) + 0.1
    hg2 = hg.with_weights(w)
    with DaskBackend(client, tasks_per_worker=2) as backend:
        F, _, _ = backend.solve(hg, B, 0.9, rtol=1e-8)
        c_kept = backend.edge_statistics(hg2, F)  # the workers' own column groups
        c_sent = backend.edge_statistics(hg2, F.copy())  # F split and sent
    c_local = np.asarray(hg2.edge_statistics(F), dtype=np.float64)
    # c_e sums T = 20 non-negative per-column terms; summed in one pass or in groups then
    # added, each order errs by at most (T - 1) u c_e
    bound = 2 * (F.shape[1] - 1) * EPS * c_local
    assert np.all(np.abs(c_kept - c_local) <= bound)
    assert np.all(np.abs(c_sent - c_local) <= bound)
    assert np.isclose(c_kept @ w, np.sum(F * (hg2.normalized_adjacency() @ F)), rtol=1e-12)


def test_one_call_forms_start_and_close_a_cluster():
    hg = knn_hypergraph(300)
    B = tag_matrix(300, 3)
    X, info = solve_replicated(None, hg, B, 0.5, rtol=1e-10)
    X_l, _, info_l = local_solve(hg, B, 0.5, rtol=1e-10)
    assert info == info_l == 0 and np.array_equal(X, X_l)
    c = edge_statistics_replicated(None, hg, X)
    assert np.allclose(c, hg.edge_statistics(X), rtol=1e-13, atol=0)


def test_backend_closes_only_its_own_cluster(client):
    backend = DaskBackend()
    own = backend.client
    backend.close()
    assert own.status == "closed"
    with DaskBackend(client):
        pass
    assert client.status == "running"


def test_bad_inputs(client):
    from distributed import Client, LocalCluster

    hg = knn_hypergraph(100)
    backend = DaskBackend(client)
    with pytest.raises(TypeError, match="hypergraph"):
        backend.solve(np.eye(3), np.ones((3, 1)), 0.5)
    with pytest.raises(ValueError, match="B has 99 rows: expected 100"):
        backend.solve(hg, np.ones((99, 2)), 0.5)
    with pytest.raises(ValueError, match="X0 has shape"):
        backend.solve(hg, np.ones((100, 2)), 0.5, np.ones((100, 3)))
    with pytest.raises(ValueError, match="alpha"):
        backend.solve(hg, np.ones((100, 2)), 1.0)
    with pytest.raises(ValueError, match="method"):
        backend.solve(hg, np.ones((100, 2)), 0.5, method="fast")
    with pytest.raises(ValueError, match="F has 3 rows"):
        backend.edge_statistics(hg, np.ones((3, 2)))
    with pytest.raises(TypeError, match="client"):
        DaskBackend("tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="tasks_per_worker"):
        DaskBackend(client, tasks_per_worker=0)
    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
        closed = Client(cluster)
        closed.close()
    with pytest.raises(ValueError, match="client is not running"):
        DaskBackend(closed)
    live = Client(LocalCluster(n_workers=1, processes=False, dashboard_address=":0"))
    backend = DaskBackend(live)
    live.close()
    with pytest.raises(ValueError, match="client is not running"):
        backend.solve(hg, np.ones((100, 1)), 0.5)


def _solve_while_a_worker_dies(processes):
    """Solve on 2 workers, kill one mid-solve; the answer must be the local one, or an error."""
    import os
    import signal
    import threading
    import time

    from distributed import Client, LocalCluster

    hg = knn_hypergraph(60_000, k=10)
    B = tag_matrix(60_000, 16)
    killed = []
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        backend = DaskBackend(client, timeout=300)
        backend.solve(knn_hypergraph(200), tag_matrix(200, 2), 0.9)  # compile on the workers
        victim = sorted(client.scheduler_info()["workers"])[-1]
        pid = client.run(os.getpid, workers=[victim])[victim]

        errors = []

        def kill():
            # kill only once the victim runs a task of this solve, however loaded the machine
            try:
                deadline = time.perf_counter() + 120
                while not client.processing(workers=[victim]).get(victim):
                    if time.perf_counter() > deadline:
                        raise TimeoutError("the victim never started a task")
                    time.sleep(0.02)
                if processes:
                    os.kill(pid, signal.SIGKILL)
                else:
                    name = next(k for k, w in cluster.workers.items() if w.address == victim)
                    client.sync(cluster.workers[name].close)
                killed.append(time.perf_counter())
            except Exception as exc:  # reported by the assertion below
                errors.append(exc)

        killer = threading.Thread(target=kill, daemon=True)
        killer.start()
        try:
            X, _, info = backend.solve(hg, B, 0.99, rtol=1e-10)
        except (RuntimeError, TimeoutError) as exc:  # reported clearly, never silently wrong
            assert "worker" in str(exc) or "unfinished" in str(exc)
            return
        finished = time.perf_counter()
        killer.join(timeout=30)
        assert not errors, f"the kill failed: {errors!r}"
        assert killed and killed[0] < finished, "the solve ended before the worker was killed"
    X_l, _, info_l = local_solve(hg, B, 0.99, rtol=1e-10)
    assert info == info_l and np.array_equal(X, X_l)


@pytest.mark.slow
def test_worker_thread_closed_mid_solve_is_recovered():
    _solve_while_a_worker_dies(processes=False)


@pytest.mark.slow
def test_worker_process_killed_mid_solve_is_recovered():
    _solve_while_a_worker_dies(processes=True)
