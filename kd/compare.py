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

The recipe follows the papers' code, scaled to a small data set: Adam (lr 1e-3) with a final
drop of the learning rate to a tenth (``--lr-drop``, the last fifth of each stage); the
auxiliary teacher of information-flow KD and InDistill is trained on the labels like the
teacher (and cached beside it), then adapted to the teacher by PKT; those two methods build a
new Adam optimizer every epoch of their transfer stage; preparation stages (auxiliary
teacher, SRM's dictionary and initialisation) come on top of ``--epochs``, so every method's
student trains ``--epochs`` epochs after them. One choice differs, made on the validation split
and for all methods alike: the student batch size is 32, not the papers' 128 (on about 1 400
training images a batch of 128 gives too few steps per epoch; see benchmarks/TUNING.md). A
validation split carved from the training images gives the per-epoch learning curves; the test
split is only used at the end.
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

from .methods import METHODS
from .methods.srm_dictionary import DICTIONARY_INITS

__all__ = ["main", "summarise"]

TEACHERS = ("resnet18_w16", "resnet18_w8", "cnn32")


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
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
    p.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    p.add_argument("--n-images", type=_positive_int, default=2000, help="size of 'shapes'")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="student batch size")
    p.add_argument("--teacher-batch-size", type=_positive_int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    # the papers end each schedule at lr/10; see benchmarks/TUNING.md
    p.add_argument(
        "--lr-drop",
        type=_fraction,
        default=0.2,
        help="fraction of each stage's epochs, at its end, run at lr/10 (0: no drop)",
    )
    p.add_argument(
        "--srm-init", choices=DICTIONARY_INITS, default=None, help="SRM dictionary start"
    )
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
        help="also train SRM dictionaries for EPOCHS epochs from every initialisation and "
        "report the entropy of the pixel labels and the reconstruction error (validation split)",
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
    """A Trainer with the comparison's optimizer, learning-rate drop and teacher cache."""
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
        lr_drop=args.lr_drop,
    )


def _cached(kind: str, args, d) -> tuple:
    """Train a labelled model once (teacher or auxiliary teacher), or load it from the cache.

    The cache key holds everything that changes the training (data, model, epochs, batch
    size, learning rate and its drop).
    """
    import torch

    from .methods import Baseline

    epochs = args.teacher_epochs or args.epochs
    model_name = args.teacher if kind == "teacher" else "aux"
    recipe = {
        "dataset": args.dataset,
        "n_images": args.n_images if args.dataset == "shapes" else None,
        "model": model_name,
        "epochs": epochs,
        "batch_size": args.teacher_batch_size,
        "lr": args.lr,
        "lr_drop": args.lr_drop,
        "val_fraction": args.val_fraction,
        "data": d["fingerprint"],
        "format": 2,
    }
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(args.cache_dir) / f"{kind}-{args.dataset}-{model_name}-{key}"
    weights = folder / "model.pt"
    model = _build(model_name, d["data"], 0, 1 if kind == "teacher" else 3)
    if weights.exists():
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        meta = json.loads((folder / "meta.json").read_text())
        print(f"{kind} loaded from the cache {folder}", file=sys.stderr)
        return model, meta
    print(f"training the {kind} {model_name} for {epochs} epochs ({folder})", file=sys.stderr)
    folder.mkdir(parents=True, exist_ok=True)
    loader = d["train_loader"](0, args.teacher_batch_size)
    trainer = _trainer(Baseline(model), loader, args, epochs, 0, d["val"], folder)
    history = trainer.fit(resume=True)
    meta = {
        "recipe": recipe,
        "train_time_s": sum(r["time_s"] for r in history),
        "history": history,
    }
    tmp = folder / "model.pt.tmp"
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, weights)
    (folder / "meta.json").write_text(json.dumps(meta))
    return model, meta


def _method(name: str, student, teacher, aux_state, args, seed: int):
    """The registered method, with a fresh copy of the cached (labelled) auxiliary teacher."""
    from .methods import build_method

    aux = None
    if METHODS[name].needs_aux:
        aux = _build("aux", aux_state["data"], 0, 3)
        aux.load_state_dict(aux_state["state"])
    options = {"epochs": args.epochs, "aux_warmup_epochs": 0, "seed": seed}
    if args.srm_init is not None:
        options["srm_init"] = args.srm_init
    return build_method(name, student, teacher, aux, **options)


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


def _format(summary: dict, reference_rows: dict) -> str:
    """The table: reference models (single runs), then every method as mean ± std."""
    cols = [
        ("head_accuracy", "head acc", 100.0),
        ("probe_accuracy", "probe acc", 100.0),
        ("map_cosine", "mAP (cos)", 100.0),
        ("precision@100_cosine", "P@100 (cos)", 100.0),
        ("train_time_s", "train s", 1.0),
    ]
    rows = [["method", *[c[1] for c in cols]]]
    for label, ref in reference_rows.items():
        if ref is not None:
            rows.append(
                [label, *["–" if ref.get(k) is None else f"{ref[k] * f:.2f}" for k, _, f in cols]]
            )
    for method, stats in summary.items():
        cells = [METHODS[method].title if method in METHODS else method]
        for key, _, scale in cols:
            v = stats.get(key)
            cells.append("–" if v is None else f"{v['mean'] * scale:.2f} ± {v['std'] * scale:.2f}")
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
        if n and not METHODS[method].label_free:
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
    """Every SRM dictionary initialisation, trained for ``--srm-init-check`` epochs, per seed.

    Returns ``{init: [per seed {"labels": [per layer {"bits", "labels", "atoms"}],
    "val_rel_error": {layer: value}}]}``: the entropy and number of distinct pixel labels on the
    validation split, and the relative reconstruction error ``Σ‖C ŝ − t‖² / Σ‖t‖²``.
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

    out = {init: [] for init in DICTIONARY_INITS}
    for seed in range(args.seeds):
        for init in DICTIONARY_INITS:
            srm = SRM(
                _build("student", d["data"], seed, 2),
                teacher,
                dict_epochs=args.srm_init_check,
                init=init,
                random_state=seed,
            )
            _trainer(_DictionaryOnly(srm), d["train_loader"](seed), args, None, seed, None).fit()
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
            row = {
                "seed": seed,
                "labels": srm.label_statistics(d["val"]),
                "val_rel_error": {n: err[n] / energy[n] for n in err},
            }
            out[init].append(row)
            print(f"srm init check seed {seed} {init}: {row}", file=sys.stderr)
    return out


def _format_init_check(check: dict, epochs: int) -> str:
    lines = [
        f"SRM dictionary after {epochs} epochs, per tapped layer (mean over seeds, validation "
        "split): pixel-label entropy in bits / distinct labels / relative reconstruction error"
    ]
    for init, runs in check.items():
        cells = []
        for i, layer in enumerate(runs[0]["labels"]):
            bits = np.mean([r["labels"][i]["bits"] for r in runs])
            used = np.mean([r["labels"][i]["labels"] for r in runs])
            rel = np.mean([r["val_rel_error"][layer["layer"]] for r in runs])
            cells.append(f"{bits:.2f} / {used:.0f} of {layer['atoms']} / {rel:.3f}")
        lines.append(f"  {init:12s} " + "  |  ".join(cells))
    return "\n".join(lines)


def _run_seed(seed: int, teacher, aux_state, d, args, results, histories) -> None:
    for name in args.methods:
        student = _build("student", d["data"], seed, 2)
        distiller = _method(name, student, teacher, aux_state, args, seed)
        from .methods import stage_plan

        plan = stage_plan(distiller, args.epochs)
        total = sum(n for _, n in plan)
        print(f"seed {seed}: {name} {plan}", file=sys.stderr)
        trainer = _trainer(distiller, d["train_loader"](seed), args, total, seed, d["val"])
        history = trainer.fit()
        row = _evaluate(student, d, head=not METHODS[name].label_free)
        row["train_time_s"] = sum(r["time_s"] for r in history)
        row["seed"] = seed
        row["stages"] = plan
        if name == "srm":
            row["labels"] = distiller.label_statistics(d["val"])
        results[name].append(row)
        histories[name].append(history)
        print(f"  {row}", file=sys.stderr)


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
    teacher, teacher_meta = _cached("teacher", args, d)
    teacher.eval()
    teacher_row = {**_evaluate(teacher, d, head=True), "train_time_s": teacher_meta["train_time_s"]}
    print(f"teacher: {teacher_row}", file=sys.stderr)
    aux_state, aux_row = None, None
    if any(METHODS[m].needs_aux for m in args.methods):
        aux, aux_meta = _cached("aux", args, d)
        aux_state = {"data": d["data"], "state": aux.state_dict()}
        aux_row = {**_evaluate(aux.eval(), d, head=True), "train_time_s": aux_meta["train_time_s"]}
        print(f"auxiliary teacher (labelled): {aux_row}", file=sys.stderr)
    init_check = srm_init_check(teacher, d, args) if args.srm_init_check else None
    results = {m: [] for m in args.methods}
    histories = {m: [] for m in args.methods}
    for seed in range(args.seeds):
        _run_seed(seed, teacher, aux_state, d, args, results, histories)
    summary = summarise(results)
    table = _format(summary, {"teacher": teacher_row, "auxiliary teacher": aux_row})
    if init_check is not None:
        table += "\n\n" + _format_init_check(init_check, args.srm_init_check)
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
            "aux": aux_row,
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
