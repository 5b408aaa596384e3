"""The one validation layer: what each check accepts, what it refuses, and with which exception.

Oracle: the documented rule written out in Python (range tests on plain numbers), checked over
hypothesis draws; exception types follow the rule "TypeError for a wrong type, ValueError for a
wrong value" and every message names the parameter and shows the value.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperlearn.utils._validation import check_choice, check_int, check_real, describe

BOUNDS = st.one_of(st.none(), st.integers(-50, 50))


@settings(deadline=None, max_examples=200)
@given(value=st.integers(-100, 100), low=BOUNDS, high=BOUNDS)
def test_check_int_accepts_exactly_the_closed_range(value, low, high):
    inside = (low is None or value >= low) and (high is None or value <= high)
    if inside:
        out = check_int(np.int64(value), "n", low=low, high=high)
        assert out == value and type(out) is int
    else:
        with pytest.raises(ValueError, match=f"n={value} is out of range: expected an integer"):
            check_int(value, "n", low=low, high=high)


@pytest.mark.parametrize("bad", [3.0, True, np.bool_(False), "3", None, [3], 2.5])
def test_check_int_refuses_other_types(bad):
    with pytest.raises(TypeError, match=r"^n=.* is not valid: expected an integer"):
        check_int(bad, "n", low=0)


def test_check_int_allow_passes_special_values_through():
    assert check_int("auto", "n_iter", low=0, allow=("auto",)) == "auto"
    assert check_int(None, "rank", low=1, allow=(None,)) is None
    with pytest.raises(TypeError, match="expected 'auto' or an integer >= 0"):
        check_int("Auto", "n_iter", low=0, allow=("auto",))
    # a special value is matched by type and value: 1.0 is not the allowed integer 1
    with pytest.raises(TypeError):
        check_int(1.0, "n", allow=(1,))


@settings(deadline=None, max_examples=300)
@given(
    value=st.floats(allow_nan=True, allow_infinity=True, width=64),
    low=st.one_of(st.none(), st.floats(-10, 10)),
    high=st.one_of(st.none(), st.floats(-10, 10)),
    low_open=st.booleans(),
    high_open=st.booleans(),
)
def test_check_real_accepts_exactly_the_documented_interval(value, low, high, low_open, high_open):
    above_low = low is None or (value > low if low_open else value >= low)
    below_high = high is None or (value < high if high_open else value <= high)
    kwargs = {"low": low, "high": high, "low_open": low_open, "high_open": high_open}
    if math.isfinite(value) and above_low and below_high:
        assert check_real(value, "x", **kwargs) == value
    else:
        with pytest.raises(ValueError, match=r"^x=.* is out of range: expected a finite real"):
            check_real(value, "x", **kwargs)


def test_check_real_messages_state_the_interval():
    with pytest.raises(ValueError, match=r"alpha=1\.0 is out of range: expected .* in \(0, 1\)"):
        check_real(1.0, "alpha", low=0, high=1, low_open=True, high_open=True)
    with pytest.raises(ValueError, match=r"expected a finite real number in \[0, 1\)"):
        check_real(1, "rate", low=0, high=1, high_open=True)
    with pytest.raises(TypeError, match="tol='1e-6' is not valid"):
        check_real("1e-6", "tol", low=0)
    with pytest.raises(TypeError, match="tol=True is not valid"):
        check_real(True, "tol")
    assert check_real("auto", "alpha", low=0, allow=("auto",)) == "auto"
    assert type(check_real(2, "x")) is float


def test_check_choice():
    assert check_choice("cg", "solver", ("cg", "block_cg")) == "cg"
    with pytest.raises(
        ValueError, match="solver='lu' is not valid: expected one of 'cg', 'block_cg'"
    ):
        check_choice("lu", "solver", ("cg", "block_cg"))
    with pytest.raises(ValueError, match=r"solver=\['cg'\] is not valid"):
        check_choice(["cg"], "solver", {"cg"})


def test_describe_shows_arrays_by_shape_and_cuts_long_values():
    assert describe(np.zeros((2, 3), dtype=np.float32)) == ("ndarray(shape=(2, 3), dtype=float32)")
    assert describe(np.float64(0.5)) == repr(np.float64(0.5))  # a scalar, not an array
    text = describe("x" * 500, limit=20)
    assert len(text) == 20 and text.endswith("...")
