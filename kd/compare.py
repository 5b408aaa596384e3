"""``python -m kd compare``: every distillation method on the same data, teacher and seeds.

The teacher is trained once (cached on disk, keyed by its recipe); then, for each seed, the
student is trained alone and with KD, PKT, information-flow KD, InDistill (and InDistill as a
warm-up before KD) and SRM. The table gives, as mean ± standard deviation over the seeds:

- ``head acc``: test accuracy of the student's own classifier ("-" for the label-free methods,
  information-flow KD and InDistill, which as in the papers never train a classifier);
- ``probe acc``: test accuracy of a logistic regression fitted on the student's representation
  (``fc1``) of the training split, the same read-out for every method;
- ``mAP`` and ``P@100``: cosine retrieval of the test images among the training images with the
  representation (the protocol of the information-flow KD and InDistill papers);
- ``train s``: training time (all stages, e.g. the auxiliary teacher and the dictionary).

Every method uses its papers' defaults (Adam, lr 1e-3). One choice was made, on the validation
split and for all methods alike: the student batch size is 32, not the papers' 128. The papers
train on 50 000 CIFAR images (≈ 390 steps per epoch); on 1 440 training images a batch of 128
gives 12 steps per epoch, and the label-free PKT stage that trains the auxiliary teacher reached
only 0.21 validation mAP after 10 epochs (0.52 with batch 32). A validation split carved from
the training images gives the per-epoch learning curves; the test split is only used at the end.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["METHODS", "main", "summarise"]

METHODS = ("baseline", "kd", "pkt", "infoflow", "indistill", "indistill_kd", "srm")
LABEL_FREE = ("infoflow", "indistill")
TEACHERS = ("resnet18_w16", "resnet18_w8", "cnn32")


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m kd compare", description=__doc__.splitlines()[0].strip("`: ")
    )
    p.add_argument("--dataset", choices=("shapes", "digits"), default="shapes")
    p.add_argument("--seeds", type=_positive_int, default=3, help="number of seeds (0..n-1)")
    p.add_argument("--epochs", type=_positive_int, default=30, help="student epochs per method")
    p.add_argument("--teacher-epochs", type=_positive_int, default=None, help="default: --epochs")
    p.add_argument("--teacher", choices=TEACHERS, default="resnet18_w16")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--n-images", type=_positive_int, default=2000, help="size of 'shapes'")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="student batch size")
    p.add_argument("--teacher-batch-size", type=_positive_int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--cache-dir", default="kd_runs/compare-cache", help="teacher cache folder")
    p.add_argument("--threads", type=_positive_int, default=1, help="torch CPU threads")
    p.add_argument("--json", default=None, help="write all results here")
    p.add_argument("--plot", default=None, help="PNG of the validation learning curves")
    p.add_argument(
        "--srm-init-check",
        type=_positive_int,
        default=None,
        metavar="EPOCHS",
        help="also train SRM dictionaries for EPOCHS epochs from SVD and from random atoms and "
        "report the relative reconstruction error on the validation split",
    )
    p.add_argument("--no-progress", action="store_true")
    return p


# ------------------------------------------------------------------------------------------
# data and models
# ------------------------------------------------------------------------------------------
def _data(args):
    import torch
    from torch.utils.data import DataLoader, Subset

    from .data import WithIndex, load_dataset

    data = load_dataset(args.dataset, n_images=args.n_images, random_state=0)
    base = data.train.dataset  # the training split without the index wrapper
    targets = np.asarray([int(base[i][1]) for i in range(len(base))])
    from sklearn.model_selection import train_test_split

    train_idx, val_idx = train_test_split(
        np.arange(len(base)), test_size=args.val_fraction, stratify=targets, random_state=0
    )
    train = WithIndex(Subset(base, train_idx.tolist()))
    val = Subset(data.database, val_idx.tolist())
    fit_db = Subset(data.database, train_idx.tolist())

    def loaders(seed: int, batch_size: int | None = None):
        gen = torch.Generator().manual_seed(seed)
        size = batch_size or args.batch_size
        return DataLoader(train, batch_size=size, shuffle=True, generator=gen)

    # Fingerprint of the exact training images and labels: a cached teacher is only reused for
    # the same data (a changed generator or split retrains it).
    digest = hashlib.sha256()
    for i in train_idx.tolist():
        x, y = base[i][:2]
        digest.update(x.numpy().tobytes())
        digest.update(int(y).to_bytes(4, "little"))
    eval_kw = {"batch_size": 512}
    return {
        "data": data,
        "train_loader": loaders,
        "val": DataLoader(val, **eval_kw),
        "test": DataLoader(data.test, **eval_kw),
        "database": DataLoader(data.database, **eval_kw),
        "fit_db": DataLoader(fit_db, **eval_kw),
        "sizes": {"train": len(train), "val": len(val), "test": len(data.test)},
        "fingerprint": digest.hexdigest()[:16],
    }


def _build(kind: str, data, seed: int, offset: int):
    import torch

    from .models import PreActResNet18, paper_student, paper_teacher

    kw = {"in_channels": data.in_channels, "image_size": data.image_size}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed * 1000 + offset)
        if kind == "student":
            return paper_student(data.num_classes, **kw)
        if kind in ("aux", "cnn32"):
            return paper_teacher(data.num_classes, **kw)
        width = {"resnet18_w16": 16, "resnet18_w8": 8}[kind]
        return PreActResNet18(data.num_classes, in_channels=data.in_channels, width=width)


def _trainer(distiller, loader, args, epochs, seed, val_loader, checkpoint_dir=None):
    import torch

    from .trainer import Trainer

    return Trainer(
        distiller,
        loader,
        epochs=epochs,
        optimizer=functools.partial(torch.optim.Adam, lr=args.lr),
        val_loader=val_loader,
        checkpoint_dir=checkpoint_dir,
        seed=seed,
        progress=not args.no_progress,
        cache_teacher=True,  # no augmentation: teacher outputs are exact per sample
    )


def _teacher(args, d) -> tuple:
    """Train the teacher once, or load it from the cache (keyed by everything that matters)."""
    import torch

    from .methods import Baseline

    epochs = args.teacher_epochs or args.epochs
    recipe = {
        "dataset": args.dataset,
        "n_images": args.n_images if args.dataset == "shapes" else None,
        "teacher": args.teacher,
        "epochs": epochs,
        "batch_size": args.teacher_batch_size,
        "lr": args.lr,
        "val_fraction": args.val_fraction,
        "data": d["fingerprint"],
        "format": 1,
    }
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(args.cache_dir) / f"teacher-{args.dataset}-{args.teacher}-{key}"
    weights = folder / "teacher.pt"
    teacher = _build(args.teacher, d["data"], 0, 1)
    if weights.exists():
        teacher.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        meta = json.loads((folder / "meta.json").read_text())
        print(f"teacher loaded from the cache {folder}", file=sys.stderr)
        return teacher, meta
    print(f"training the teacher {args.teacher} for {epochs} epochs ({folder})", file=sys.stderr)
    folder.mkdir(parents=True, exist_ok=True)
    loader = d["train_loader"](0, args.teacher_batch_size)
    trainer = _trainer(Baseline(teacher), loader, args, epochs, 0, d["val"], folder)
    history = trainer.fit(resume=True)
    meta = {
        "recipe": recipe,
        "train_time_s": sum(r["time_s"] for r in history),
        "history": history,
    }
    tmp = folder / "teacher.pt.tmp"
    torch.save(teacher.state_dict(), tmp)
    os.replace(tmp, weights)
    (folder / "meta.json").write_text(json.dumps(meta))
    return teacher, meta


def _method(name: str, student, teacher, aux, epochs: int):
    from .methods import KD, PKT, SRM, Baseline, InDistill, InformationFlowKD

    if name == "baseline":
        return Baseline(student)
    if name == "kd":
        return KD(student, teacher)
    if name == "pkt":
        return PKT(student, teacher)
    if name == "infoflow":
        return InformationFlowKD(student, teacher, aux, aux_epochs=epochs)
    if name == "indistill":
        return InDistill(student, teacher, aux, aux_epochs=epochs)
    if name == "indistill_kd":
        return InDistill(student, teacher, aux, aux_epochs=epochs, then=KD(student, teacher))
    if name == "srm":
        init = max(1, epochs // 3)
        return SRM(student, teacher, dict_epochs=max(1, epochs // 2), init_epochs=init)
    raise ValueError(f"unknown method {name!r}")


def _student_epochs(distiller, epochs: int) -> int:
    """Total trainer epochs so that the student itself trains about ``epochs`` epochs.

    Stages that do not train the student (auxiliary teacher, dictionary) come on top; the last
    (open-ended) stage gets at least one epoch.
    """
    stages = distiller.stages()
    extra = sum(s.epochs for s in stages if s.name in ("aux", "dictionary"))
    fixed = sum(s.epochs for s in stages if s.epochs is not None)
    return max(epochs + extra, fixed + 1)


# ------------------------------------------------------------------------------------------
# evaluation
# ------------------------------------------------------------------------------------------
def _probe_accuracy(model, d) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .evaluate import extract_representations

    X_fit, y_fit = extract_representations(model, d["fit_db"])
    X_test, y_test = extract_representations(model, d["test"])
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    clf.fit(X_fit, y_fit)
    return float(clf.score(X_test, y_test))


def _evaluate(model, d, *, head: bool) -> dict:
    from .evaluate import accuracy, retrieval_evaluation

    scores = retrieval_evaluation(model, d["database"], d["test"], metrics=("cosine",))
    return {
        "head_accuracy": accuracy(model, d["test"]) if head else None,
        "probe_accuracy": _probe_accuracy(model, d),
        "map_cosine": scores["map_cosine"],
        "precision@100_cosine": scores["precision@100_cosine"],
    }


def summarise(results: dict) -> dict:
    """Mean and standard deviation (ddof=1 when >= 2 seeds) of every metric per method."""
    out = {}
    for method, runs in results.items():
        summary = {}
        for key in (
            "head_accuracy",
            "probe_accuracy",
            "map_cosine",
            "precision@100_cosine",
            "train_time_s",
        ):
            values = [r[key] for r in runs if r.get(key) is not None]
            if not values:
                summary[key] = None
                continue
            arr = np.asarray(values, dtype=float)
            std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
            summary[key] = {"mean": float(arr.mean()), "std": std, "n": int(arr.size)}
        out[method] = summary
    return out


def _format(summary: dict, teacher_row: dict | None) -> str:
    cols = [
        ("head_accuracy", "head acc", 100.0),
        ("probe_accuracy", "probe acc", 100.0),
        ("map_cosine", "mAP (cos)", 100.0),
        ("precision@100_cosine", "P@100 (cos)", 100.0),
        ("train_time_s", "train s", 1.0),
    ]
    rows = [["method", *[c[1] for c in cols]]]
    if teacher_row is not None:
        rows.append(
            [
                "teacher",
                *[
                    "-" if teacher_row.get(k) is None else f"{teacher_row[k] * s:.2f}"
                    for k, _, s in cols
                ],
            ]
        )
    for method, stats in summary.items():
        cells = [method]
        for key, _, scale in cols:
            v = stats.get(key)
            cells.append("-" if v is None else f"{v['mean'] * scale:.2f} ± {v['std'] * scale:.2f}")
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _stage_normalised(history) -> np.ndarray:
    values, first, stage = [], None, None
    for r in history:
        if r["stage"] != stage:
            if stage is not None:
                values.append(np.nan)
            stage, first = r["stage"], r["loss"]
        values.append(r["loss"] / first if first else np.nan)
    return np.asarray(values)


def _plot(path, histories: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for method, runs in histories.items():
        curves = []
        for history in runs:
            curves.append([r["val_accuracy"] for r in history if r["val_accuracy"] is not None])
        n = min(len(c) for c in curves)
        if n and method not in LABEL_FREE:
            acc = np.mean([c[:n] for c in curves], axis=0)
            axes[0].plot(np.arange(1, n + 1), acc, label=method)
        # each stage optimises a different loss: normalise it by its own first epoch and break
        # the line at stage boundaries
        curves = [_stage_normalised(h) for h in runs]
        m = min(len(c) for c in curves)
        mean = np.mean([c[:m] for c in curves], axis=0)
        axes[1].plot(np.arange(1, m + 1), mean, label=method)
    axes[0].set(
        xlabel="student epoch",
        ylabel="validation accuracy (head)",
        title="validation accuracy (mean over seeds)",
    )
    axes[1].set(
        xlabel="epoch (all stages)",
        ylabel="weighted training loss / first epoch",
        yscale="log",
        title="training loss (mean over seeds)",
    )
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def srm_init_check(teacher, d, args) -> dict:
    """Dictionary learning from SVD atoms vs random atoms, same epochs, per seed.

    Returns ``{init: [per-seed {"train_loss": [...], "val_rel_error": {layer: value}}]}`` with the
    relative reconstruction error ``Σ‖C ŝ − t‖² / Σ‖t‖²`` of the validation pixels per layer.
    """
    import torch

    from .features import pixel_vectors
    from .methods import SRM, Distiller

    class _DictionaryOnly(Distiller):
        def __init__(self, srm):
            super().__init__(srm.student, srm.teacher)
            self.srm = srm

        def stages(self):
            return self.srm.stages()[:1]

    out = {"svd": [], "random": []}
    for seed in range(args.seeds):
        for init in ("svd", "random"):
            srm = SRM(
                _build("student", d["data"], seed, 2),
                teacher,
                dict_epochs=args.srm_init_check,
                init=init,
                random_state=seed,
            )
            history = _trainer(
                _DictionaryOnly(srm), d["train_loader"](seed), args, None, seed, None
            ).fit()
            err, energy = {}, {}
            srm.eval()
            with torch.no_grad():
                for x, _ in d["val"]:
                    maps, _ = srm._teacher_maps(x)
                    for name, coder in zip(srm.names, srm.coders, strict=True):
                        t = pixel_vectors(maps[name])
                        _, recon = coder(t)
                        err[name] = err.get(name, 0.0) + float(((recon - t) ** 2).sum())
                        energy[name] = energy.get(name, 0.0) + float((t**2).sum())
            out[init].append(
                {
                    "seed": seed,
                    "train_loss": [r["loss"] for r in history],
                    "val_rel_error": {n: err[n] / energy[n] for n in err},
                }
            )
            print(f"srm init check seed {seed} {init}: {out[init][-1]}", file=sys.stderr)
    return out


# ------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run the comparison; print the table; return 0."""
    args = _parser().parse_args(argv)
    if not 0.0 < args.val_fraction < 0.5:
        raise SystemExit(f"--val-fraction must be in (0, 0.5), got {args.val_fraction}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise SystemExit(f"--lr must be a positive number, got {args.lr}")
    import torch

    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    d = _data(args)
    print(f"{args.dataset}: {d['sizes']}", file=sys.stderr)
    teacher, teacher_meta = _teacher(args, d)
    teacher.eval()
    teacher_row = {**_evaluate(teacher, d, head=True), "train_time_s": teacher_meta["train_time_s"]}
    print(f"teacher: {teacher_row}", file=sys.stderr)
    init_check = srm_init_check(teacher, d, args) if args.srm_init_check else None
    results = {m: [] for m in args.methods}
    histories = {m: [] for m in args.methods}
    for seed in range(args.seeds):
        for name in args.methods:
            student = _build("student", d["data"], seed, 2)
            aux = _build("aux", d["data"], seed, 3)
            distiller = _method(name, student, teacher, aux, args.epochs)
            total = _student_epochs(distiller, args.epochs)
            print(f"seed {seed}: {name} ({total} epochs)", file=sys.stderr)
            trainer = _trainer(distiller, d["train_loader"](seed), args, total, seed, d["val"])
            history = trainer.fit()
            row = _evaluate(student, d, head=name not in LABEL_FREE)
            row["train_time_s"] = sum(r["time_s"] for r in history)
            row["seed"] = seed
            if name == "srm":
                row["dictionary_loss"] = [r["loss"] for r in history if r["stage"] == "dictionary"]
            results[name].append(row)
            histories[name].append(history)
            print(f"  {row}", file=sys.stderr)
    summary = summarise(results)
    table = _format(summary, teacher_row)
    if init_check is not None:
        lines = [
            f"SRM dictionary, {args.srm_init_check} epochs: validation relative "
            "reconstruction error per tapped layer (mean ± std over seeds)"
        ]
        for init, runs in init_check.items():
            layers = sorted(runs[0]["val_rel_error"])
            cells = []
            for layer in layers:
                v = np.asarray([r["val_rel_error"][layer] for r in runs])
                std = v.std(ddof=1) if v.size > 1 else 0.0
                cells.append(f"{v.mean():.4f} ± {std:.4f}")
            lines.append(f"  {init:6s} " + "  ".join(cells))
        table += "\n\n" + "\n".join(lines)
    print(table)
    elapsed = time.perf_counter() - t_start
    print(f"total wall time {elapsed:.0f} s", file=sys.stderr)
    if args.json:
        payload = {
            "command": "python -m kd compare "
            + " ".join(argv if argv is not None else sys.argv[1:]),
            "args": vars(args),
            "torch_threads": torch.get_num_threads(),
            "sizes": d["sizes"],
            "data_fingerprint": d["fingerprint"],
            "teacher": {**teacher_row, "history": teacher_meta.get("history")},
            "results": results,
            "summary": summary,
            "srm_init_check": init_check,
            "histories": histories,
            "table": table,
            "wall_time_s": elapsed,
        }
        Path(args.json).write_text(json.dumps(payload, indent=1))
    if args.plot:
        _plot(args.plot, histories)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
