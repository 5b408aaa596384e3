"""CLI smoke tests: a tiny run end to end, its table, resume, and errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kd.cli import main

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]


def test_tiny_kd_run_prints_table_and_resumes(tmp_path, capsys):
    argv = [
        "run", "--method", "kd", "--dataset", "shapes", "--n-images", "120", "--epochs", "1",
        "--teacher-epochs", "1", "--batch-size", "32", "--out", str(tmp_path / "runs"),
        "--json", str(tmp_path / "table.json"), "--no-progress", "--threads", "1",
    ]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "test acc" in out and "mAP (cos)" in out
    assert "teacher cnn32" in out and "student cnn32_small (kd)" in out
    rows = json.loads((tmp_path / "table.json").read_text())["rows"]
    assert [r["epochs"] for r in rows] == [1, 1]
    assert all(0.0 <= r["test_accuracy"] <= 1.0 for r in rows)
    student_dir = tmp_path / "runs" / "shapes" / "kd-cnn32_small-s0"
    assert (student_dir / "checkpoint.pt").exists() and (student_dir / "log.json").exists()
    # --resume with more epochs continues from the checkpoint (the teacher is reused)
    assert main([*argv[:8], "2", *argv[9:], "--resume"]) == 0
    log = json.loads((student_dir / "log.json").read_text())
    assert [r["epoch"] for r in log["history"]] == [1, 2]


def test_too_few_epochs_for_a_multistage_method_fails_before_training(tmp_path, capsys):
    argv = ["run", "--method", "srm", "--dataset", "digits", "--epochs", "2", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "leaves no epoch for the last stage" in err and "training the teacher" not in err
    assert not any(tmp_path.iterdir())


def test_compare_without_module_or_bad_args(capsys, monkeypatch):
    with pytest.raises(SystemExit):
        main(["run", "--method", "nonsense"])
    with pytest.raises(SystemExit):
        main(["run", "--epochs", "0"])
    # simulate a missing kd/compare.py, also when another test imported it already
    import kd

    monkeypatch.delattr(kd, "compare", raising=False)
    monkeypatch.setitem(sys.modules, "kd.compare", None)
    assert main(["compare", "--seeds", "1"]) == 2
    assert "kd/compare.py is not available" in capsys.readouterr().err


def test_python_dash_m_kd_help():
    result = subprocess.run(
        [sys.executable, "-m", "kd", "run", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert "--method" in result.stdout and "--resume" in result.stdout
