"""Evaluation of students: classification accuracy and representation retrieval.

Retrieval follows the information-flow KD / InDistill protocol: the representation layer of
the database set (usually the training set) is indexed, each test image queries it, and an item
is relevant when it has the query's class. The metrics come from
:func:`hyperlearn.metrics.retrieval_scores` (mAP over the full ranking, non-interpolated, and
precision at the top 100), with cosine or Euclidean similarity.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .features import FeatureExtractor, flatten_features
from .models import representation_layer

__all__ = ["accuracy", "extract_representations", "retrieval_evaluation"]


def _inputs_targets(batch):
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError(
            "the loader must yield (inputs, targets) or (inputs, targets, index) batches, got "
            f"{type(batch).__name__}"
        )
    return batch[0], batch[1]


def accuracy(model: nn.Module, loader, *, device="cpu") -> float:
    """Top-1 accuracy of ``model`` (logits) over ``loader``, in [0, 1].

    The model is evaluated in eval mode under ``torch.no_grad``; its previous train/eval mode
    is restored afterwards.

    Raises
    ------
    ValueError
        If the loader yields no sample.
    """
    was_training = model.training
    model.eval()
    correct = total = 0
    try:
        with torch.no_grad():
            for batch in loader:
                inputs, targets = _inputs_targets(batch)
                logits = model(inputs.to(device))
                correct += int((logits.argmax(dim=1).cpu() == targets.cpu()).sum())
                total += int(targets.shape[0])
    finally:
        model.train(was_training)
    if total == 0:
        raise ValueError("accuracy: the loader yielded no sample")
    return correct / total


def extract_representations(
    model: nn.Module, loader, *, layer=None, device="cpu"
) -> tuple[np.ndarray, np.ndarray]:
    """Representations (flattened) and labels of every sample of ``loader``.

    Parameters
    ----------
    model : torch.nn.Module
    loader : iterable of (inputs, targets[, index])
    layer : str or (str, {"output", "input"}), optional
        Module path to tap; ``None`` uses :func:`kd.models.representation_layer`.
    device : str or torch.device, default="cpu"

    Returns
    -------
    X : ndarray of shape (n_samples, d), float32
    y : ndarray of shape (n_samples,)
    """
    path, capture = (
        representation_layer(model)
        if layer is None
        else ((layer, "output") if isinstance(layer, str) else tuple(layer))
    )
    extractor = FeatureExtractor(model, {"repr": path}, capture={"repr": capture}, detach=True)
    was_training = model.training
    model.eval()
    feats, labels = [], []
    try:
        with torch.no_grad():
            for batch in loader:
                inputs, targets = _inputs_targets(batch)
                _, out = extractor.extract(inputs.to(device))
                feats.append(flatten_features(out["repr"]).float().cpu().numpy())
                labels.append(targets.cpu().numpy())
    finally:
        model.train(was_training)
    if not feats:
        raise ValueError("extract_representations: the loader yielded no sample")
    return np.concatenate(feats), np.concatenate(labels)


def retrieval_evaluation(
    model: nn.Module,
    database_loader,
    query_loader,
    *,
    layer=None,
    metrics=("cosine", "euclidean"),
    k: int = 100,
    device="cpu",
) -> dict[str, float]:
    """Retrieval mAP and precision@k of the model's representation.

    Parameters
    ----------
    model : torch.nn.Module
    database_loader, query_loader : iterables of (inputs, targets[, index])
        Database (e.g. the training set, without augmentation) and queries (the test set).
    layer : optional
        As in :func:`extract_representations`.
    metrics : sequence of {"cosine", "euclidean"}
    k : int, default=100
        Cut-off of the precision; capped at the database size (a smaller database reports its
        precision over all of its items under the same key).

    Returns
    -------
    dict
        ``{"map_cosine": ..., "precision@100_cosine": ..., "map_euclidean": ..., ...}``.
    """
    from hyperlearn.metrics import retrieval_scores

    X_db, y_db = extract_representations(model, database_loader, layer=layer, device=device)
    X_q, y_q = extract_representations(model, query_loader, layer=layer, device=device)
    out = {}
    for metric in metrics:
        scores = retrieval_scores(X_q, X_db, y_q, y_db, metric=metric, k=min(k, len(X_db)))
        out[f"map_{metric}"] = scores["map"]
        out[f"precision@{k}_{metric}"] = scores["precision_at_k"]
    return out
