"""Image tagging by adaptive hypergraph learning (Zhou's propagation + Gao's weight updates)."""

from ._baselines import KNN_K_GRID, knn_tag_voting, select_knn_k, user_tag_scores
from ._estimator import HypergraphTagger
from ._selection import ALPHA_GRID, choose_candidate
from ._weights import (
    closed_form_weights,
    degree_term,
    objective,
    project_simplex,
    simplex_weights,
)

__all__ = [
    "ALPHA_GRID",
    "KNN_K_GRID",
    "HypergraphTagger",
    "choose_candidate",
    "closed_form_weights",
    "degree_term",
    "knn_tag_voting",
    "objective",
    "project_simplex",
    "select_knn_k",
    "simplex_weights",
    "user_tag_scores",
]
