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


def _tiny(tmp_path, *extra):
    return [
        "run", "--dataset", "shapes", "--n-images", "120", "--teacher-epochs", "1",
        "--batch-size", "32", "--out", str(tmp_path / "runs"), "--json",
        str(tmp_path / "table.json"), "--no-progress", "--threads", "1", *extra,
    ]  # fmt: skip


def test_srm_runs_with_one_student_epoch_and_stage_lengths_on_top(tmp_path, capsys):
    layers = ["--teacher-layers", "block1", "block2", "--student-layers", "block1", "block2"]
    argv = _tiny(tmp_path, "--method", "srm", "--epochs", "1", "--stage-epochs", "dictionary=2",
                 "srm_init=1", *layers)  # fmt: skip
    assert main(argv) == 0
    payload = json.loads((tmp_path / "table.json").read_text())
    # --epochs counts the student's (KD) epochs; the preparation stages come on top
    assert payload["stages"] == [["dictionary", 2], ["srm_init", 1], ["kd", 1]]
    assert payload["rows"][-1]["epochs"] == 1
    log = json.loads((tmp_path / "runs" / "shapes" / "srm-cnn32_small-s0" / "log.json").read_text())
    assert [r["stage"] for r in log["history"]] == ["dictionary", "dictionary", "srm_init", "kd"]
    # the validation accuracy of the last epoch is measured on the validation split, not test
    assert log["history"][-1]["val_accuracy"] is not None
    assert "86 train / 10 validation / 24 test" in capsys.readouterr().err


def test_label_free_method_prints_a_dash_for_head_accuracy_and_trains_the_aux(tmp_path, capsys):
    assert main(_tiny(tmp_path, "--method", "infoflow", "--epochs", "1")) == 0
    out, err = capsys.readouterr()
    student_line = next(line for line in out.splitlines() if "(infoflow)" in line)
    assert "–" in student_line
    assert "training the auxiliary teacher cnn32" in err
    rows = json.loads((tmp_path / "table.json").read_text())["rows"]
    assert rows[-1]["test_accuracy"] is None
    assert rows[1]["model"] == "auxiliary teacher cnn32" and rows[1]["test_accuracy"] is not None


@pytest.mark.parametrize("method", ["indistill_kd", "indistill"])
def test_too_few_epochs_for_a_curriculum_fails_before_training(tmp_path, capsys, method):
    # the curriculum takes 3 + 4 + 5 epochs before KD (warm-up) or before the final PKT phase
    argv = ["run", "--method", method, "--dataset", "digits", "--epochs", "5",
            "--no-progress", "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "expected epochs >= 13" in err and "training the teacher" not in err
    assert not any(tmp_path.iterdir())


def test_refused_settings_fail_cleanly(tmp_path, capsys, monkeypatch):
    base = ["run", "--method", "kd", "--out", str(tmp_path), "--no-progress"]
    assert main([*base, "--cache-teacher", "--augment", "crop"]) == 2
    assert "stale targets" in capsys.readouterr().err
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main([*base, "--device", "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err
    assert main([*base, "--teacher-layers", "block1"]) == 2
    assert "options of --method srm" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_bad_command_line_values():
    with pytest.raises(SystemExit):
        main(["run", "--method", "nonsense"])
    with pytest.raises(SystemExit):
        main(["run", "--epochs", "0"])
    with pytest.raises(SystemExit):
        main(["run", "--stage-epochs", "kd=3"])
    with pytest.raises(SystemExit):
        main(["run", "--lr-drop", "1"])


def test_run_and_compare_share_one_registry():
    from kd import cli, compare
    from kd.methods import METHODS

    run_choices = next(a for a in cli._build_parser()._subparsers._group_actions[0]
                       .choices["run"]._actions if a.dest == "method").choices  # fmt: skip
    compare_choices = next(a for a in compare._parser()._actions if a.dest == "methods").choices
    assert list(run_choices) == list(compare_choices) == list(METHODS)


def test_no_reference_to_a_file_the_project_does_not_ship():
    for path in (ROOT / "kd").rglob("*.py"):
        assert "distillation.md" not in path.read_text(), path


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


def test_stage_plans_give_every_student_the_same_epochs():
    from kd.methods import build_method, stage_plan
    from kd.models import paper_student, paper_teacher

    def plan(name):
        d = build_method(name, paper_student(), paper_teacher(), paper_teacher(), epochs=30)
        return stage_plan(d, 30)

    assert plan("kd") == [("train", 30)]
    assert plan("infoflow") == [("aux", 30), ("transfer", 30)]
    assert plan("indistill") == [("aux", 30), ("curriculum", 30)]
    assert plan("indistill_kd") == [("aux", 30), ("curriculum", 12), ("then.train", 18)]
    assert plan("srm") == [("dictionary", 15), ("srm_init", 15), ("kd", 30)]
    with_warmup = build_method("infoflow", paper_student(), paper_teacher(), paper_teacher(),
                               epochs=4, aux_warmup_epochs=2)  # fmt: skip
    assert stage_plan(with_warmup, 4) == [("aux_warmup", 2), ("aux", 4), ("transfer", 4)]
