"""Image tagging by adaptive hypergraph learning (Zhou's propagation + Gao's weight updates)."""

from ._baselines import KNN_K_GRID, knn_tag_voting, ml_knn_scores, select_knn_k, user_tag_scores
from ._estimator import HypergraphTagger
from ._frequency import FREQUENCY_GRID
from ._prior import PRIOR_GRID
from ._selection import ALPHA_GRID, MU_GRID, choose_candidate
from ._weights import (
    centred_closed_form,
    centred_weights,
    closed_form_weights,
    degree_term,
    natural_mu,
    objective,
    project_simplex,
    project_weighted_simplex,
    simplex_weights,
)

__all__ = [
    "ALPHA_GRID",
    "FREQUENCY_GRID",
    "KNN_K_GRID",
    "MU_GRID",
    "PRIOR_GRID",
    "HypergraphTagger",
    "centred_closed_form",
    "centred_weights",
    "choose_candidate",
    "closed_form_weights",
    "degree_term",
    "knn_tag_voting",
    "ml_knn_scores",
    "natural_mu",
    "objective",
    "project_simplex",
    "project_weighted_simplex",
    "select_knn_k",
    "simplex_weights",
    "user_tag_scores",
]
