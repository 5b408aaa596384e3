"""The comparison behind ``hyperlearn tag``: each result against the library called directly.

Oracles: a result's scores are those of ``HypergraphTagger`` / ``knn_tag_voting`` /
``user_tag_scores`` fitted with the same settings, its metrics those of ``hyperlearn.metrics``
on them, and the table's numbers the metrics rounded to four decimals.
"""

import numpy as np
import pytest

from hyperlearn import HypergraphTagger
from hyperlearn.datasets import load_digits_tags
from hyperlearn.metrics import f1_at_k, mean_average_precision, precision_at_k
from hyperlearn.tagging import knn_tag_voting, select_knn_k, user_tag_scores
from hyperlearn.tagging._compare import (
    COMPARE_SOLVERS,
    EXACT_MAX_N,
    CompareSettings,
    evaluate,
    fit_baselines,
    fit_solver,
    methods_to_run,
    table_rows,
    top_tags,
    warm_up_fits,
)
from hyperlearn.tagging._solvers import SOLVERS

SETTINGS = CompareSettings(n_neighbors=5, alpha=0.9, max_iter=2, random_state=1, n_jobs=1)
PRINT_ROUNDING = 5e-5  # table values printed with 4 decimals


@pytest.fixture(scope="module")
def data():
    return load_digits_tags(200, random_state=0, untagged_fraction=0.2)


def test_compared_solvers_are_the_taggers():
    assert set(COMPARE_SOLVERS) == set(SOLVERS)


def test_default_settings_are_the_estimators():
    params = HypergraphTagger().get_params()
    for field in ("n_neighbors", "alpha", "max_iter", "random_state", "n_jobs"):
        if field != "random_state":  # the comparison is seeded (0) so that runs repeat
            assert getattr(CompareSettings(), field) == params[field], field
    assert CompareSettings().validation_fraction == params["validation_fraction"]
    assert CompareSettings().random_state == 0


def test_methods_to_run_skips_exact_beyond_its_size():
    assert methods_to_run(EXACT_MAX_N, compare=True, solver="cg") == (list(COMPARE_SOLVERS), [])
    solvers, notes = methods_to_run(EXACT_MAX_N + 1, compare=True, solver="cg")
    assert "exact" not in solvers and len(solvers) == len(COMPARE_SOLVERS) - 1
    assert len(notes) == 1 and "exact skipped" in notes[0]
    assert methods_to_run(10**6, compare=False, solver="exact") == (["exact"], [])


def test_fit_solver_is_the_estimator(data):
    X, Y = data.features, data.tags_observed
    result = fit_solver(X, Y, "block_cg", SETTINGS)
    model = HypergraphTagger(
        n_neighbors=5, alpha=0.9, max_iter=2, random_state=1, n_jobs=1, solver="block_cg"
    ).fit(X, Y)
    np.testing.assert_array_equal(result["scores"], model.scores_)
    assert result["alternations"] == model.n_iter_
    assert result["solver_iterations"] == model.solver_iterations_
    assert result["alpha"] == model.alpha_ == 0.9 and result["alpha_scores"] is None
    assert result["kind"] == "solver" and result["time_s"] > 0


def test_baselines_are_the_library_baselines(data):
    X, Y = data.features, data.tags_observed
    knn, user = fit_baselines(X, Y, SETTINGS)
    np.testing.assert_array_equal(knn["scores"], knn_tag_voting(X, Y, n_neighbors=5))
    assert knn["n_neighbors"] == 5 and knn["k_scores"] is None
    np.testing.assert_array_equal(user["scores"], user_tag_scores(Y))
    assert knn["alternations"] is None and user["solver_iterations"] is None


def test_auto_alpha_chooses_knn_k_the_same_way(data):
    X, Y = data.features, data.tags_observed
    settings = CompareSettings(n_neighbors=5, alpha="auto", max_iter=1, random_state=4)
    knn, _ = fit_baselines(X, Y, settings)
    k, scores = select_knn_k(X, Y, default=10, validation_fraction=0.2, random_state=4)
    assert knn["n_neighbors"] == k and knn["k_scores"] == scores
    np.testing.assert_array_equal(knn["scores"], knn_tag_voting(X, Y, n_neighbors=k))


def test_evaluate_and_table_match_the_metrics(data):
    X, Y, truth, untagged = data.features, data.tags_observed, data.tags_true, data.untagged
    results = [fit_solver(X, Y, "cg", SETTINGS), *fit_baselines(X, Y, SETTINGS)]
    evaluate(results, truth, untagged, 3)
    rows = table_rows(results, 3, True, True)
    assert rows[0].split() == ["method", "F1@3", "all", "F1@3", "untagged", "P@3", "MAP",
                               "time", "(s)", "alt", "solver", "its"]  # fmt: skip
    assert set(rows[1]) == {"-", " "}
    for r, row in zip(results, rows[2:], strict=True):
        S = r["scores"]
        expected = [
            f1_at_k(truth, S, 3),
            f1_at_k(truth[untagged], S[untagged], 3),
            precision_at_k(truth, S, 3),
            mean_average_precision(truth, S),
        ]
        assert list(r["metrics"].values()) == expected
        cells = row.split()
        assert cells[0] == r["method"]
        np.testing.assert_allclose([float(c) for c in cells[1:5]], expected, atol=PRINT_ROUNDING)
        its = r["solver_iterations"]
        assert cells[-1] == ("-" if its is None else str(sum(its)))


def test_without_truth_there_are_no_metric_columns(data):
    results = fit_baselines(data.features, data.tags_observed, SETTINGS)
    evaluate(results, None, data.untagged, 5)
    assert all(r["metrics"] == {} for r in results)
    rows = table_rows(results, 5, False, True)
    assert rows[0].split() == ["method", "time", "(s)", "alt", "solver", "its"]


def test_top_tags_names_the_highest_scores_first():
    scores = np.array([[0.1, 0.9, 0.5], [0.3, 0.3, 0.3]])
    assert top_tags(scores, ["a", "b", "c"], 2) == [["b", "c"], ["a", "b"]]


def test_warm_up_fits_runs_on_few_images(data, monkeypatch):
    seen = []
    real_fit = HypergraphTagger.fit
    monkeypatch.setattr(
        HypergraphTagger,
        "fit",
        lambda self, X, Y, **kw: seen.append(X.shape) or real_fit(self, X, Y),
    )
    warm_up_fits(
        data.features, data.tags_observed, data.untagged, ["block_cg", "cg"], SETTINGS,
        baselines=False,
    )  # fmt: skip
    n_tagged = int((~data.untagged).sum())
    assert seen == [(min(120, n_tagged), data.features.shape[1])] * 2
