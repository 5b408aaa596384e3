"""kd.compare: a tiny end-to-end comparison, the teacher cache, and the summary statistics."""

import json

import numpy as np
import pytest
import torch

from kd.compare import main, summarise

torch.set_num_threads(1)


def test_summarise_mean_and_sample_std():
    results = {
        "a": [
            {"map_cosine": 0.2, "head_accuracy": None},
            {"map_cosine": 0.4, "head_accuracy": None},
        ],
        "b": [{"map_cosine": 0.5, "head_accuracy": 0.9}],
    }
    s = summarise(results)
    assert s["a"]["map_cosine"]["mean"] == pytest.approx(0.3)
    assert s["a"]["map_cosine"]["std"] == pytest.approx(np.std([0.2, 0.4], ddof=1))
    assert s["a"]["head_accuracy"] is None
    assert s["b"]["map_cosine"] == {"mean": 0.5, "std": 0.0, "n": 1}


def test_tiny_comparison_writes_json_plot_and_caches_teacher(tmp_path, capsys):
    argv = [
        "--dataset", "shapes", "--n-images", "120", "--seeds", "1", "--epochs", "13",
        "--teacher-epochs", "1",
        "--teacher", "cnn32", "--methods", "baseline", "infoflow", "indistill", "srm",
        "--batch-size", "32", "--cache-dir", str(tmp_path / "cache"),
        "--json", str(tmp_path / "out.json"), "--plot", str(tmp_path / "curves.png"),
        "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr()
    assert "training the teacher" in out.err
    for title in ("student alone", "information-flow KD (label-free)", "InDistill (label-free)"):
        assert title in out.out
    payload = json.loads((tmp_path / "out.json").read_text())
    assert set(payload["results"]) == {"baseline", "infoflow", "indistill", "srm"}
    row = payload["results"]["srm"][0]
    for key in ("head_accuracy", "probe_accuracy", "map_cosine", "precision@100_cosine"):
        assert 0.0 <= row[key] <= 1.0
    # the label-free methods train no classifier: no head accuracy is claimed for them
    assert payload["results"]["indistill"][0]["head_accuracy"] is None
    # the auxiliary teacher is trained on the labels once (cached like the teacher), then
    # adapted by PKT inside each method
    assert "training the aux aux" in out.err
    assert payload["aux"]["head_accuracy"] is not None
    # (the label-free curriculum needs 3 + 4 + 5 epochs before its final phase: --epochs 13)
    stages = [r["stage"] for r in payload["histories"]["indistill"][0]]
    assert stages == ["aux"] * 13 + ["curriculum"] * 13
    assert (tmp_path / "curves.png").stat().st_size > 0
    # second run: the teacher comes from the cache, with identical teacher metrics
    assert main([*argv[:-5], "--methods", "baseline", "--no-progress", "--srm-init-check", "1",
                 "--json", str(tmp_path / "out2.json")]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert "loaded from the cache" in captured.err
    again = json.loads((tmp_path / "out2.json").read_text())
    assert again["teacher"]["map_cosine"] == payload["teacher"]["map_cosine"]
    # the dictionary-initialisation measurement: one run per init and seed, label entropy in
    # [0, log2 K] bits, errors in [0, ∞)
    check = again["srm_init_check"]
    assert set(check) == {"kmeans", "centred_svd", "svd", "random"}
    for runs in check.values():
        assert len(runs) == 1
        assert set(runs[0]["val_rel_error"]) == {"0", "1", "2"}
        assert all(v >= 0 for v in runs[0]["val_rel_error"].values())
        for layer in runs[0]["labels"]:
            assert 0.0 <= layer["bits"] <= np.log2(layer["atoms"]) + 1e-12
            assert 1 <= layer["labels"] <= layer["atoms"]
    assert "SRM dictionary after 1 epochs" in captured.out


def test_bad_arguments():
    with pytest.raises(SystemExit):
        main(["--val-fraction", "0.7"])
    with pytest.raises(SystemExit):
        main(["--seeds", "0"])
    with pytest.raises(SystemExit):
        main(["--methods", "fitnet"])
