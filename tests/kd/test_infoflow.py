"""Information-flow KD: weights per epoch, stage structure, sources, end-to-end training."""

import pytest
import torch

from kd.features import FeatureExtractor, flatten_features
from kd.methods.infoflow import InformationFlowKD
from kd.models import paper_student, paper_teacher

from ._method_helpers import fit_recording_stage_losses, tiny_data

torch.set_num_threads(1)


def _models(seed=0, n_classes=4):
    torch.manual_seed(seed)
    return paper_student(n_classes), paper_teacher(n_classes), paper_teacher(n_classes)


def test_weights_per_epoch_follow_init_gamma_power():
    student, teacher, aux = _models()
    d = InformationFlowKD(student, teacher, aux, init=100.0, gamma=0.7)
    for k in range(40):
        w = d.transfer_weights(k)
        assert set(w) == {"pkt_0", "pkt_1", "pkt_2", "pkt_final"}
        assert w["pkt_final"] == 1.0
        for name in ("pkt_0", "pkt_1", "pkt_2"):
            assert w[name] == pytest.approx(100.0 * 0.7**k, rel=1e-12)
    # the phases of the paper's Fig. 1: >= 2 during the critical period, < 0.01 from epoch 26
    assert d.transfer_weights(10)["pkt_0"] >= 2.0
    assert d.transfer_weights(25)["pkt_0"] > 0.01 > d.transfer_weights(26)["pkt_0"]
    d2 = InformationFlowKD(student, teacher, aux, init=5.0, gamma=0.5, ce_weight=0.3)
    assert d2.transfer_weights(3) == {
        "pkt_final": 1.0,
        "pkt_0": 5.0 / 8,
        "pkt_1": 5.0 / 8,
        "pkt_2": 5.0 / 8,
        "ce": 0.3,
    }


def test_stages_and_sources():
    student, teacher, aux = _models()
    d = InformationFlowKD(student, teacher, aux, aux_epochs=3, aux_warmup_epochs=0)
    stages = d.stages()
    assert [s.name for s in stages] == ["aux", "transfer"]
    assert stages[0].epochs == 3 and stages[1].epochs is None
    # the authors rebuild Adam every epoch of the transfer, not while adapting the aux
    assert stages[1].reset_optimizer_each_epoch and not stages[0].reset_optimizer_each_epoch
    off = InformationFlowKD(student, teacher, aux, aux_warmup_epochs=0, reset_optimizer=False)
    assert not off.stages()[1].reset_optimizer_each_epoch
    assert {id(p) for p in stages[0].parameters()} == {id(p) for p in aux.parameters()}
    assert {id(p) for p in stages[1].parameters()} == {id(p) for p in student.parameters()}
    assert stages[1].eval_modules == (aux,)
    # the transfer stage reads the AUXILIARY teacher's features, flattened
    x = torch.randn(5, 3, 32, 32)
    aux.eval()
    with torch.no_grad():
        out = stages[1].teacher_outputs(x)
        _, ref = FeatureExtractor(aux, {"b2": "block2", "fc1": "fc1"}).extract(x)
    torch.testing.assert_close(out["pkt_1"], flatten_features(ref["b2"]))
    torch.testing.assert_close(out["pkt_final"], ref["fc1"])
    # and the auxiliary stage reads the teacher's representation
    with torch.no_grad():
        t_out = stages[0].teacher_outputs(x)
        _, t_ref = FeatureExtractor(teacher, {"fc1": "fc1"}).extract(x)
    torch.testing.assert_close(t_out["repr"], t_ref["fc1"])
    # without aux: one stage from the teacher itself
    d_noaux = InformationFlowKD(student, teacher)
    assert [s.name for s in d_noaux.stages()] == ["transfer"]


def test_auxiliary_teacher_is_trained_on_labels_before_the_transfer():
    X, y, loader = tiny_data()
    student, teacher, aux = _models()
    d = InformationFlowKD(student, teacher, aux, aux_warmup_epochs=2, aux_epochs=1)
    warm = d.stages()[0]
    assert warm.name == "aux_warmup" and warm.epochs == 2 and not warm.evaluate
    assert {id(p) for p in warm.parameters()} == {id(p) for p in aux.parameters()}
    # the warm-up loss is the cross-entropy of the aux's own logits on the labels
    from kd.methods import Batch

    with torch.no_grad():
        ce = warm.losses(Batch(X, y), 0)["ce_aux"]
        torch.testing.assert_close(ce, torch.nn.functional.cross_entropy(aux(X), y))
    record, history = fit_recording_stage_losses(d, loader, X, y)
    assert [r["stage"] for r in history] == ["aux_warmup", "aux_warmup", "aux", "transfer"]
    # the warm-up lowered the aux's cross-entropy on the labels before the PKT adaptation began
    assert record["aux_warmup"][1] < 0.9 * record["aux_warmup"][0]
    # without labels the warm-up refuses to run rather than silently skipping
    with pytest.raises(ValueError, match="needs class targets"):
        warm.losses(Batch(X, None), 0)


def test_end_to_end_each_stage_improves_its_loss():
    X, y, loader = tiny_data()
    student, teacher, aux = _models()
    d = InformationFlowKD(student, teacher, aux, aux_epochs=1, aux_warmup_epochs=0, ce_weight=1.0)
    aux_before = [p.detach().clone() for p in aux.parameters()]
    record, history = fit_recording_stage_losses(d, loader, X, y)
    assert [r["stage"] for r in history] == ["aux", "transfer"]
    for stage, (before, after) in record.items():
        assert after < before, (stage, before, after)
    # the transfer stage must not have touched the auxiliary teacher trained in stage 1
    assert any(not torch.equal(a, b) for a, b in zip(aux_before, aux.parameters(), strict=True))


def test_bad_arguments():
    student, teacher, aux = _models()
    with pytest.raises(ValueError, match="kernel must be one of"):
        InformationFlowKD(student, teacher, aux, kernel="gauss")
    with pytest.raises(ValueError, match="divergence must be one of"):
        InformationFlowKD(student, teacher, aux, divergence="js")
    with pytest.raises(TypeError, match="aux must be"):
        InformationFlowKD(student, teacher, aux="cnn")
    with pytest.raises(ValueError, match=r"aux_epochs=0 is out of range: expected an integer >= 1"):
        InformationFlowKD(student, teacher, aux, aux_epochs=0)
    with pytest.raises(TypeError, match=r"aux_warmup_epochs=2.0 is not valid"):
        InformationFlowKD(student, teacher, aux, aux_warmup_epochs=2.0)
    with pytest.raises(ValueError, match=r"ce_weight=-1.0 is out of range"):
        InformationFlowKD(student, teacher, aux, ce_weight=-1)
    with pytest.raises(ValueError, match="needs a teacher"):
        InformationFlowKD(student, None)
    with pytest.raises(ValueError, match="gamma must be in"):
        InformationFlowKD(student, teacher, aux, gamma=1.5)
    with pytest.raises(ValueError, match="feature_layers attribute"):
        InformationFlowKD(student, torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3, 4)))
    with pytest.raises(ValueError, match=r"sequence of \(source_path, student_path\)"):
        InformationFlowKD(student, teacher, aux, layers=["block1"])
    with pytest.raises(ValueError, match="not a module path"):
        InformationFlowKD(student, teacher, aux, layers=[("block9", "block1")])
