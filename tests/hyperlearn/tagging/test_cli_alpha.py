"""``hyperlearn tag --alpha auto|FLOAT``: parsing, and the choices reported by ``--compare``.

The oracle is the library itself called directly on the same data (the CLI only wires it up):
the alpha every solver reports is ``HypergraphTagger(alpha="auto")``'s, the k of kNN voting is
``select_knn_k``'s, and the kNN row's F1 is that of ``knn_tag_voting`` with that k.
"""

import json

import pytest

from hyperlearn import HypergraphTagger
from hyperlearn.cli import VALIDATION_FRACTION, build_parser, main
from hyperlearn.datasets import load_digits_tags
from hyperlearn.metrics import f1_at_k
from hyperlearn.tagging import ALPHA_GRID, KNN_K_GRID, knn_tag_voting, select_knn_k

N_IMAGES = 200
SEED = 2
FAST = ["--max-iter", "2", "--n-jobs", "1", "--random-state", str(SEED)]


@pytest.mark.parametrize(("text", "expected"), [("auto", "auto"), ("0.35", 0.35), ("0.9", 0.9)])
def test_alpha_option_parses(text, expected):
    assert build_parser().parse_args(["tag", "--alpha", text]).alpha == expected


def test_alpha_default_is_the_estimator_default():
    args = build_parser().parse_args(["tag"])
    assert args.alpha == HypergraphTagger().alpha == "auto"
    assert args.n_neighbors == HypergraphTagger().n_neighbors


@pytest.mark.parametrize("text", ["1", "0", "1.5", "-0.2", "Auto", "best", "nan"])
def test_bad_alpha_is_a_usage_error(capsys, text):
    assert main(["tag", "--alpha", text]) == 2
    err = capsys.readouterr().err
    assert "--alpha" in err and "'auto' or a number in (0, 1)" in err


def test_compare_with_auto_reports_the_chosen_alpha_and_k(capsys, tmp_path):
    path = tmp_path / "out.json"
    code = main(
        ["tag", "--dataset", "digits", "--n-images", str(N_IMAGES), "--compare", "--alpha",
         "auto", "--json", str(path), *FAST]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    data = load_digits_tags(N_IMAGES, random_state=SEED, untagged_fraction=0.2)
    X, Y = data.features, data.tags_observed
    model = HypergraphTagger(
        alpha="auto", validation_fraction=VALIDATION_FRACTION, random_state=SEED, max_iter=2
    ).fit(X, Y)
    k, k_scores = select_knn_k(X, Y, validation_fraction=VALIDATION_FRACTION, random_state=SEED)
    assert model.alpha_ in ALPHA_GRID and k in KNN_K_GRID
    assert f"alpha = auto -> {model.alpha_:g}," in out
    assert f"kNN voting k chosen the same way (same hidden images, default 10): k = {k} (" in out
    payload = json.loads(path.read_text())
    assert payload["params"]["alpha"] == "auto"
    assert payload["params"]["alpha_chosen"] == [model.alpha_]
    by_method = {r["method"]: r for r in payload["results"]}
    for solver in ("block_cg", "cg", "tessellated", "exact"):
        assert by_method[solver]["alpha"] == model.alpha_
        assert by_method[solver]["alpha_scores"] == pytest.approx(
            {str(a): v for a, v in model.alpha_scores_.items()}, abs=1e-12
        )
    knn = by_method["knn_voting"]
    assert knn["n_neighbors"] == k
    assert knn["k_scores"] == {str(kk): v for kk, v in k_scores.items()}
    expected = f1_at_k(data.tags_true, knn_tag_voting(X, Y, n_neighbors=k), 5)
    assert knn["metrics"]["f1@5_all"] == pytest.approx(expected, rel=1e-12)


def test_fixed_alpha_keeps_the_header_and_knn_default(capsys, tmp_path):
    path = tmp_path / "out.json"
    code = main(
        ["tag", "--dataset", "digits", "--n-images", str(N_IMAGES), "--compare",
         "--alpha", "0.9", "--n-neighbors", "10", "--json", str(path), *FAST]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "alpha = 0.9, at most 2 alternations" in out and "chosen" not in out
    by_method = {r["method"]: r for r in json.loads(path.read_text())["results"]}
    knn = by_method["knn_voting"]
    assert knn["n_neighbors"] == 10 and "k_scores" not in knn
    assert by_method["exact"]["alpha"] == 0.9 and "alpha_scores" not in by_method["exact"]
