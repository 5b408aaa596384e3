"""Loss-weight schedules."""

import pytest

from kd.schedules import Combined, Constant, Curriculum, ExponentialDecay, as_schedule


def test_constant_returns_fresh_copies():
    s = Constant({"ce": 1.0, "kd": 0.5})
    w = s(0)
    w["ce"] = 99.0
    assert s(3) == {"ce": 1.0, "kd": 0.5}


def test_information_flow_decay():
    s = Constant({"final": 1.0}) | ExponentialDecay(100.0, 0.7, names=["l0", "l1", "l2"])
    for k in (0, 1, 5, 11, 26, 40):
        w = s(k)
        assert w["final"] == 1.0
        assert w["l0"] == w["l1"] == w["l2"] == pytest.approx(100 * 0.7**k, rel=1e-15)
    # the paper's phases: ≥ 2 up to epoch 10, about 1.98 at 11, below 0.01 from 26 on
    assert s(10)["l0"] > 2 > s(11)["l0"] > 1.9
    assert s(25)["l0"] > 0.01 > s(26)["l0"]
    assert ExponentialDecay(1.0, 0.5, names="x", minimum=0.1)(10) == {"x": 0.1}


def test_indistill_curriculum():
    a = 2
    phases = [(a + 1 + layer, {f"layer{layer}": 1.0}) for layer in range(3)]
    c = Curriculum([*phases, (None, {"final": 1.0})])
    assert c.boundaries == (0, 3, 7, 12)
    active = [next(iter(c(e))) for e in range(14)]
    assert active == ["layer0"] * 3 + ["layer1"] * 4 + ["layer2"] * 5 + ["final"] * 2
    assert c.phase(100) == 3
    # a schedule inside a phase sees the epoch counted from the phase start
    d = Curriculum([(2, {"a": 1.0}), (3, ExponentialDecay(8.0, 0.5, names=["b"]))])
    assert [d(e) for e in (2, 3, 4, 6)] == [{"b": 8.0}, {"b": 4.0}, {"b": 2.0}, {"b": 0.5}]


def test_errors():
    with pytest.raises(ValueError, match="weight >= 0"):
        Constant({"a": -1.0})
    with pytest.raises(TypeError, match="mapping"):
        Constant([1.0])
    with pytest.raises(ValueError, match="gamma"):
        ExponentialDecay(1.0, 1.5, names=["a"])
    with pytest.raises(ValueError, match="names"):
        ExponentialDecay(1.0, 0.5, names=[])
    with pytest.raises(ValueError, match="not the last"):
        Curriculum([(None, {"a": 1.0}), (2, {"b": 1.0})])
    with pytest.raises(ValueError, match=r"stages\[0\] n_epochs=0 is out of range"):
        Curriculum([(0, {"a": 1.0})])
    with pytest.raises(TypeError, match=r"epoch=1.0 is not valid"):
        Constant({"a": 1.0})(1.0)
    with pytest.raises(ValueError, match="epoch"):
        Constant({"a": 1.0})(-1)
    with pytest.raises(ValueError, match="both weight"):
        Combined({"a": 1.0}, {"a": 2.0})(0)
    with pytest.raises(TypeError):
        as_schedule(3)
    with pytest.raises(ValueError, match="weight >= 0"):
        as_schedule(lambda e: {"a": float("nan")})(0)
