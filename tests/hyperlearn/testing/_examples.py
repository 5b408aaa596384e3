"""Concrete, reproducible values drawn from hypothesis strategies (for example-based tests)."""

from hypothesis import given, settings


def examples(strategy, max_examples):
    """The values a derandomized hypothesis run of ``max_examples`` examples draws."""
    seen = []

    @settings(max_examples=max_examples, derandomize=True, database=None)
    @given(strategy)
    def record(value):
        seen.append(value)

    record()
    return seen


def one_example(strategy):
    """One deterministic example of ``strategy``."""
    return examples(strategy, 1)[0]
