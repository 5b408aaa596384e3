"""Image tagging by adaptive hypergraph learning (Zhou's propagation + Gao's weight updates)."""

from ._baselines import knn_tag_voting, user_tag_scores
from ._estimator import HypergraphTagger
from ._weights import (
    closed_form_weights,
    degree_term,
    objective,
    project_simplex,
    simplex_weights,
)

__all__ = [
    "HypergraphTagger",
    "closed_form_weights",
    "degree_term",
    "knn_tag_voting",
    "objective",
    "project_simplex",
    "simplex_weights",
    "user_tag_scores",
]
