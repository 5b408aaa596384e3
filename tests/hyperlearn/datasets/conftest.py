"""Shared small datasets for the dataset tests (built once per session)."""

import pytest

from hyperlearn.datasets import make_tagged_shapes

# 2000 images: about 14 000 true and 44 000 absent tag cells, enough for tight binomial checks,
# and about 1 s to generate without features.
N_LARGE = 2000
NOISE = (0.3, 0.05)


@pytest.fixture(scope="session")
def shapes_large():
    return make_tagged_shapes(N_LARGE, tag_noise=NOISE, random_state=7, features=False)
