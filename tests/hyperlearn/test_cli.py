"""Smoke and contract tests of the command line (``hyperlearn tag | info | bench``).

Sizes are tiny: the point is that every option works end to end and that user errors give a
one-line message and exit code 2, not the quality of the tagging (tested with the estimator).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hyperlearn
from hyperlearn.cli import SOURCE_ENV, find_checkout, main
from hyperlearn.datasets import make_tagged_shapes
from hyperlearn.metrics import f1_at_k, precision_at_k

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PRINT_ROUNDING = 5e-7  # values printed with 6 decimals
# Small but large enough for a 10-NN hypergraph with several tags per hyperedge.
N_SMALL = 200
FAST = ["--max-iter", "2", "--n-jobs", "1"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_commands(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("tag", "info", "bench"):
        assert command in out


def test_import_is_light():
    # `hyperlearn --help` must not pay for NumPy/SciPy/Numba: the CLI imports them per command.
    code = (
        "import sys, hyperlearn.cli; "
        "heavy = [m for m in ('numpy', 'scipy', 'numba', 'sklearn') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_tag_compare_shapes_json(capsys, tmp_path):
    path = tmp_path / "out.json"
    code, out, _ = run(
        capsys, "tag", "--dataset", "shapes", "--n-images", str(N_SMALL), "--compare",
        "--json", str(path), "--random-state", "3", *FAST,
    )  # fmt: skip
    assert code == 0
    for method in ("block_cg", "cg", "tessellated", "exact", "knn_voting", "user_tags"):
        assert method in out
    assert "F1@5 untagged" in out and "T = 29 tags" in out
    payload = json.loads(path.read_text())
    assert payload["n_images"] == N_SMALL and payload["n_tags"] == 29 and payload["k"] == 5
    by_method = {r["method"]: r for r in payload["results"]}
    assert set(by_method) == {"block_cg", "cg", "tessellated", "exact", "knn_voting", "user_tags"}
    # Oracle: the user-tags baseline scores ARE the observed tags, so its metrics can be recomputed
    # from the same generated data (same seed and noise settings as the CLI defaults).
    data = make_tagged_shapes(N_SMALL, random_state=3, untagged_fraction=0.2)
    expected_f1 = f1_at_k(data.tags_true, data.tags_observed.astype(float), 5)
    expected_p = precision_at_k(data.tags_true, data.tags_observed.astype(float), 5)
    metrics = by_method["user_tags"]["metrics"]
    assert metrics["f1@5_all"] == pytest.approx(expected_f1, rel=1e-12)
    assert metrics["p@5"] == pytest.approx(expected_p, rel=1e-12)
    assert payload["n_untagged"] == int(data.untagged.sum())
    for r in payload["results"]:
        for value in r["metrics"].values():
            assert 0.0 <= value <= 1.0
        if r["kind"] == "solver":
            assert 1 <= r["alternations"] <= 2
            # one entry per f-step: at least one per alternation
            assert len(r["solver_iterations"]) >= r["alternations"]
    # every untagged image gets exactly k tag names
    assert len(payload["untagged_tags"]) == payload["n_untagged"]
    assert all(len(t) == 5 for t in payload["untagged_tags"].values())


def test_tag_digits_single_solver_plot(capsys, tmp_path):
    plot = tmp_path / "f1.png"
    code, out, _ = run(
        capsys, "tag", "--dataset", "digits", "--n-images", "150", "--solver", "exact",
        "--k", "3", "--plot", str(plot), "--quiet", *FAST,
    )  # fmt: skip
    assert code == 0
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert lines[0].split()[:3] == ["method", "F1@3", "all"]
    assert lines[2].startswith("exact")
    assert len(lines) == 3  # --quiet: the table only
    assert plot.read_bytes()[:8] == PNG_MAGIC


def _write_npz(path, *, with_truth, seed=0):
    data = make_tagged_shapes(120, random_state=seed, untagged_fraction=0.25)
    arrays = {"X": data.features, "Y": data.tags_observed}
    if with_truth:
        arrays["Y_true"] = data.tags_true
        arrays["tag_names"] = np.array(data.tag_names)
    np.savez(path, **arrays)
    return data


def test_tag_npz_with_truth(capsys, tmp_path):
    path = tmp_path / "mine.npz"
    data = _write_npz(path, with_truth=True)
    js = tmp_path / "r.json"
    code, out, _ = run(capsys, "tag", "--dataset", str(path), "--json", str(js), *FAST)
    assert code == 0
    assert "mine.npz: 120 images" in out and "F1@5 all" in out
    payload = json.loads(js.read_text())
    assert payload["n_untagged"] == int(data.untagged.sum())
    assert payload["tag_names"] == data.tag_names
    assert payload["results"][0]["method"] == "block_cg"
    assert set(payload["results"][0]["metrics"]) == {"f1@5_all", "f1@5_untagged", "p@5", "map"}


def test_tag_npz_without_truth_lists_tags(capsys, tmp_path):
    path = tmp_path / "mine.npz"
    data = _write_npz(path, with_truth=False)
    js = tmp_path / "r.json"
    code, out, _ = run(capsys, "tag", "--dataset", str(path), "--json", str(js), *FAST)
    assert code == 0
    assert "no ground truth" in out and "F1@5 all" not in out  # no metric columns
    first = int(np.flatnonzero(data.untagged)[0])
    assert f"image {first}: tag_" in out
    payload = json.loads(js.read_text())
    assert payload["results"][0]["metrics"] == {}
    assert sorted(map(int, payload["untagged_tags"])) == np.flatnonzero(data.untagged).tolist()
    # without ground truth there is no F1 to plot
    code, _, err = run(
        capsys, "tag", "--dataset", str(path), "--plot", str(tmp_path / "p.png"), *FAST
    )
    assert code == 2 and "Y_true" in err


def test_k_defaults_to_the_number_of_tags_when_there_are_fewer_than_five(capsys, tmp_path):
    data = make_tagged_shapes(120, random_state=0, untagged_fraction=0.25)
    Y_true = data.tags_true[:, :4]
    keep = Y_true.any(axis=1)  # images with at least one of the four tags
    Y = data.tags_observed[keep, :4]
    Y[~Y.any(axis=1) & ~data.untagged[keep]] = Y_true[keep][~Y.any(axis=1) & ~data.untagged[keep]]
    path = tmp_path / "four.npz"
    np.savez(path, X=data.features[keep], Y=Y, Y_true=Y_true[keep])
    js = tmp_path / "r.json"
    code, out, err = run(capsys, "tag", "--dataset", str(path), "--json", str(js), *FAST)
    assert code == 0, err
    assert "k = 4 tags predicted per image: the default 5 lowered" in out
    assert "F1@4 all" in out
    assert json.loads(js.read_text())["k"] == 4
    # an explicit --k beyond the number of tags stays an error
    code, _, err = run(capsys, "tag", "--dataset", str(path), "--k", "5", *FAST)
    assert code == 2 and "--k must be <= the number of tags 4; got 5" in err


def test_parser_choices_and_defaults_are_the_taggers():
    from hyperlearn import HypergraphTagger
    from hyperlearn.cli import SOLVERS, VALIDATION_FRACTION, build_parser
    from hyperlearn.tagging._compare import COMPARE_SOLVERS, CompareSettings

    assert SOLVERS == (*COMPARE_SOLVERS, "auto")
    assert VALIDATION_FRACTION == HypergraphTagger().validation_fraction
    assert VALIDATION_FRACTION == CompareSettings().validation_fraction
    args = build_parser().parse_args(["tag"])
    settings = CompareSettings()
    for name in ("n_neighbors", "alpha", "max_iter", "random_state", "n_jobs"):
        assert getattr(args, name) == getattr(settings, name), name
    assert args.solver == HypergraphTagger().solver


def test_info(capsys):
    code, out, _ = run(capsys, "info")
    assert code == 0
    assert "numpy" in out and "numba" in out and "Threads:" in out
    assert "1797 vertices, 1797 hyperedges" in out
    lines = out.splitlines()
    header = next(i for i, ln in enumerate(lines) if "top 6 eigenvalues" in ln)
    eig_line = lines[header + 1]
    eigenvalues = np.array([float(v) for v in eig_line.split()])
    # Oracle: dense symmetric eigendecomposition of the explicit Θ of the same hypergraph.
    from scipy.linalg import eigh
    from sklearn.datasets import load_digits

    from hyperlearn.hypergraph import Hypergraph

    hg = Hypergraph.from_knn(load_digits().data / 16.0, n_neighbors=10)
    theta = hg.normalized_adjacency(explicit=True).toarray()
    n = theta.shape[0]
    reference = eigh(theta, eigvals_only=True, subset_by_index=(n - 6, n - 1))[::-1]
    # printed with 6 decimals (rounding <= 5e-7); ARPACK converges to ~1e-12 here
    np.testing.assert_allclose(eigenvalues, reference, rtol=0, atol=PRINT_ROUNDING + 1e-9)
    assert eigenvalues[0] == pytest.approx(1.0, abs=PRINT_ROUNDING)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tag", "--dataset", "does_not_exist.npz"], "no such file"),
        (["tag", "--dataset", "imagenet"], "must be 'shapes', 'digits'"),
        (["tag", "--k", "0"], "positive integer"),
        (["tag", "--k", "30", "--n-images", "50"], "--k must be <= the number of tags 29"),
        (["tag", "--solver", "magic"], "invalid choice"),
        (["tag", "--alpha", "1.5"], "(0, 1)"),
        (["tag", "--dataset", "digits", "--n-images", "5000"], "n_images=5000 is out of range"),
        (["tag", "--n-images", "abc"], "positive integer"),
        (["tag", "--n-jobs", "0"], "-1 (all CPUs)"),
        (["tag", "--json", "/nonexistent_dir_xyz/out.json"], "does not exist"),
        (["frobnicate"], "invalid choice"),
        ([], "usage"),
    ],
)
def test_bad_arguments_exit_2(capsys, argv, message):
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    assert message in err + out
    assert "Traceback" not in err


def test_not_an_npz_exit_2(capsys, tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    plain = tmp_path / "array.npy"
    np.save(plain, np.ones(3))
    for path in (text, plain, tmp_path):
        code = main(["tag", "--dataset", str(path)])
        _, err = capsys.readouterr()
        assert code == 2 and err.startswith("hyperlearn tag: error:") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"X": np.ones((5, 2))}, "missing ['Y']"),
        ({"X": np.ones((5, 2)), "Y": np.full((5, 3), 2)}, "only 0 and 1"),
        ({"X": np.ones((5, 2)), "Y": np.ones((4, 3))}, "same n"),
        ({"X": np.ones((5, 2)), "Y": np.zeros((5, 3))}, "no tag at all"),
    ],
)
def test_bad_npz_exit_2(capsys, tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    code = main(["tag", "--dataset", str(path)])
    _, err = capsys.readouterr()
    assert code == 2
    assert message in err and err.count("\n") == 1


# --- hyperlearn bench -------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


def _fake_checkout(root, body):
    (root / "benchmarks").mkdir(parents=True)
    (root / "benchmarks" / "__init__.py").write_text("")
    (root / "benchmarks" / "__main__.py").write_text(body)
    return root


def test_find_checkout_env_then_cwd_and_parents(tmp_path):
    checkout = _fake_checkout(tmp_path / "repo", "")
    deep = checkout / "a" / "b"
    deep.mkdir(parents=True)
    assert find_checkout(deep, environ={}) == checkout.resolve()
    assert find_checkout(tmp_path, environ={}) is None
    assert find_checkout(tmp_path, environ={SOURCE_ENV: str(checkout)}) == checkout.resolve()
    # a variable that names no checkout is not silently replaced by the search
    assert find_checkout(deep, environ={SOURCE_ENV: str(tmp_path)}) is None


def test_bench_help_needs_no_checkout(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SOURCE_ENV, raising=False)
    code, out, _ = run(capsys, "bench", "--help")
    assert code == 0
    assert "usage: hyperlearn bench SUITE|all" in out and SOURCE_ENV in out
    assert "Suites: none found" in out
    code, _, err = run(capsys, "bench", "tagging", "--quick")
    assert code == 2
    assert err.startswith("hyperlearn bench: error: no checkout") and err.count("\n") == 1
    monkeypatch.setenv(SOURCE_ENV, str(tmp_path))
    code, _, err = run(capsys, "bench", "tagging")
    assert code == 2 and f"{SOURCE_ENV}=" in err and "holds no benchmarks" in err


def test_bench_runs_the_suites_in_a_subprocess_against_the_installed_package(
    capfd, tmp_path, monkeypatch
):
    body = (
        "import sys, hyperlearn\n"
        "print('argv', sys.argv[1:])\n"
        "print('hyperlearn', hyperlearn.__file__)\n"
        "raise SystemExit(3)\n"
    )
    checkout = _fake_checkout(tmp_path / "repo", body)
    # a decoy package in the checkout: the installed hyperlearn must be the one measured
    (checkout / "hyperlearn").mkdir()
    (checkout / "hyperlearn" / "__init__.py").write_text("raise ImportError('decoy')")
    monkeypatch.chdir(checkout)
    monkeypatch.delenv(SOURCE_ENV, raising=False)
    code = main(["bench", "tagging", "--quick", "--json", "out.json"])
    out = capfd.readouterr().out
    assert code == 3
    assert "argv ['tagging', '--quick', '--json', 'out.json']" in out
    assert f"hyperlearn {hyperlearn.__file__}" in out


def test_bench_passes_the_suites_errors_through(capfd, monkeypatch):
    monkeypatch.setenv(SOURCE_ENV, str(REPO))
    assert main(["bench", "no_such_suite"]) == 2
    assert "unknown suite 'no_such_suite'" in capfd.readouterr().err
    assert main(["bench", "--help"]) == 0
    out = capfd.readouterr().out
    assert f"Suites from {REPO}" in out and "tagging" in out and "--quick" in out


def test_bench_help_from_a_non_editable_install(tmp_path):
    """``pip install --target`` (no checkout on the path), then ``hyperlearn bench --help``."""
    pytest.importorskip("setuptools")
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "*.nbi", "*.nbc")
    for name in ("hyperlearn", "kd"):
        shutil.copytree(REPO / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "--target", str(target), str(source)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if install.returncode != 0:
        pytest.skip(f"pip cannot build the package here: {install.stderr[-500:]}")
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != SOURCE_ENV} | {"PYTHONPATH": str(target)}

    def python(*args, **extra):
        return subprocess.run(
            [sys.executable, *args], cwd=cwd, env=env | extra, capture_output=True, text=True
        )

    where = python("-c", "import hyperlearn; print(hyperlearn.__file__)")
    assert where.stdout.strip().startswith(str(target))
    result = python("-m", "hyperlearn", "bench", "--help")
    assert result.returncode == 0, result.stderr
    assert (
        "usage: hyperlearn bench SUITE|all" in result.stdout
        and "Suites: none found" in result.stdout
    )
    result = python("-m", "hyperlearn", "bench", "--help", **{SOURCE_ENV: str(REPO)})
    assert result.returncode == 0, result.stderr
    assert "found: " in result.stdout and "tagging" in result.stdout
