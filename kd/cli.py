"""Command line: ``python -m kd run ...`` (one method) and ``python -m kd compare ...``.

``run`` trains the teacher first when the method needs one, and the auxiliary teacher (on the
labels) for information-flow KD and InDistill; both are cached in the output folder, keyed by
their recipe, and reused. Then it trains the student with the chosen method, with a progress
bar, per-epoch checkpoints (``--resume`` continues an interrupted run) and validation accuracy
on a split held out from the training images, and prints a table of test accuracy and
retrieval scores. ``--epochs`` counts the student's epochs; preparation stages (auxiliary
teacher, SRM's dictionary and initialisation) come on top, with lengths set by
``--stage-epochs`` (default: proportional to ``--epochs``).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

__all__ = ["main"]

DATASET_CHOICES = ("shapes", "digits", "cifar10", "cifar100", "imagefolder")
STAGE_NAMES = ("aux", "dictionary", "srm_init")


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


def _stage_epochs(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    if not sep or name not in STAGE_NAMES:
        raise argparse.ArgumentTypeError(
            f"expected STAGE=EPOCHS with STAGE one of {list(STAGE_NAMES)}, got {text!r}"
        )
    return name, _positive_int(value)


def _build_parser() -> argparse.ArgumentParser:
    from .methods import METHODS
    from .methods.srm_dictionary import DICTIONARY_INITS

    parser = argparse.ArgumentParser(prog="python -m kd", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train a student with one distillation method")
    add = run.add_argument
    add("--method", choices=list(METHODS), default="kd")
    add("--dataset", choices=DATASET_CHOICES, default="shapes")
    add("--root", default=None, help="folder of on-disk datasets (CIFAR, ImageFolder)")
    add("--teacher", default="cnn32", help="teacher model name (kd.models)")
    add("--student", default="cnn32_small", help="student model name (kd.models)")
    add("--aux", default="cnn32", help="auxiliary teacher model (infoflow, indistill*)")
    add("--epochs", type=_positive_int, default=5, help="student epochs")
    add("--teacher-epochs", type=_positive_int, default=None, help="teacher and auxiliary "
        "teacher epochs (default: --epochs)")  # fmt: skip
    add(
        "--stage-epochs",
        type=_stage_epochs,
        action="extend",
        nargs="+",
        default=[],
        metavar="STAGE=N",
        help="length of a preparation stage, on top of --epochs: aux (PKT adaptation of the "
        "auxiliary teacher; default --epochs), dictionary, srm_init (SRM; default --epochs // 2 "
        "each); several may follow the option",
    )
    add("--batch-size", type=_positive_int, default=128)
    add("--lr", type=_positive_float, default=1e-3, help="Adam learning rate")
    # the papers end each schedule at lr/10; see benchmarks/TUNING.md
    add("--lr-drop", type=_fraction, default=0.2, help="fraction of each stage's epochs, at its "
        "end, run at lr/10 (0: none)")  # fmt: skip
    add("--val-fraction", type=float, default=0.1, help="validation split of the training set")
    add("--n-images", type=_positive_int, default=2000, help="size of 'shapes'")
    add("--augment", choices=("none", "crop", "crop_flip"), default="none")
    add("--seed", type=int, default=0)
    add("--T", type=_positive_float, default=4.0, help="KD temperature")
    add("--alpha", type=float, default=0.9, help="KD soft-loss weight")
    add(
        "--pkt-kernel",
        choices=("cosine", "student_t", "combined", "rbf", "adaptive_rbf", "cauchy"),
        default="cosine",
    )
    add("--pkt-divergence", choices=("kl", "jeffreys"), default="kl")
    add("--pkt-weight", type=_positive_float, default=30000.0)
    add("--srm-init", choices=DICTIONARY_INITS, default=None, help="SRM dictionary start")
    add("--teacher-layers", nargs="+", default=None, help="SRM: teacher module paths")
    add("--student-layers", nargs="+", default=None, help="SRM: student module paths")
    add("--cache-teacher", action="store_true", help="reuse teacher outputs per sample "
        "(refused with --augment)")  # fmt: skip
    add(
        "--optimizer-reset",
        choices=("method", "every-epoch", "never"),
        default="method",
        help="new Adam optimizer every epoch: where the method's authors do (default), in every "
        "stage, or never",
    )
    add("--no-retrieval", action="store_true", help="skip the retrieval metrics")
    add("--out", default="kd_runs", help="folder for checkpoints and logs")
    add("--resume", action="store_true", help="continue interrupted runs in --out")
    add("--json", default=None, help="write the final table as JSON here")
    add("--no-progress", action="store_true")
    add("--threads", type=_positive_int, default=None, help="torch CPU threads")
    add("--device", default="cpu")
    compare = sub.add_parser(
        "compare", help="compare all methods over seeds (see kd.compare)", add_help=False
    )
    compare.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _check_args(args) -> None:
    """Refuse settings that cannot work, before any training (ValueError, exit status 2)."""
    import torch

    if not 0.0 <= args.alpha <= 1.0:
        raise ValueError(f"--alpha must be in [0, 1], got {args.alpha}")
    if not 0.0 < args.val_fraction < 0.5:
        raise ValueError(f"--val-fraction must be in (0, 0.5), got {args.val_fraction}")
    if args.cache_teacher and args.augment != "none":
        raise ValueError(
            f"--cache-teacher with --augment {args.augment}: cached teacher outputs would "
            "belong to one augmented view of each image and be reused for others (stale "
            "targets); drop one of the two options"
        )
    try:
        device = torch.device(args.device)
    except RuntimeError as exc:
        raise ValueError(f"--device {args.device!r} is not a torch device: {exc}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {args.device}: CUDA is not available here; use --device cpu")
    if (args.teacher_layers or args.student_layers) and args.method != "srm":
        raise ValueError("--teacher-layers and --student-layers are options of --method srm")


def _count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _evaluate(name, model, loaders, args, train_time, epochs, *, head=True) -> dict:
    from .evaluate import accuracy, retrieval_evaluation

    _, _, test_loader, database_loader = loaders
    row = {
        "model": name,
        "parameters": _count_parameters(model),
        "epochs": epochs,
        # a label-free method trains no classifier: its head's accuracy means nothing
        "test_accuracy": accuracy(model, test_loader, device=args.device) if head else None,
    }
    if not args.no_retrieval:
        scores = retrieval_evaluation(
            model, database_loader, test_loader, metrics=("cosine",), device=args.device
        )
        row["map_cosine"] = scores["map_cosine"]
        row["precision@100_cosine"] = scores["precision@100_cosine"]
    row["train_time_s"] = train_time
    return row


def _format_table(rows: list[dict]) -> str:
    columns = [
        ("model", "model", "{}"),
        ("parameters", "params", "{:,}"),
        ("epochs", "epochs", "{}"),
        ("test_accuracy", "test acc", "{:.4f}"),
        ("map_cosine", "mAP (cos)", "{:.4f}"),
        ("precision@100_cosine", "P@100 (cos)", "{:.4f}"),
        ("train_time_s", "train s", "{:.1f}"),
    ]
    columns = [c for c in columns if any(c[0] in r for r in rows)]
    cells = [[title for _, title, _ in columns]]
    for r in rows:
        cells.append(
            [fmt.format(r[key]) if r.get(key) is not None else "–" for key, _, fmt in columns]
        )
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _train(distiller, loaders, args, epochs, folder: Path, *, resume: bool):
    import torch

    from .trainer import Trainer

    trainer = Trainer(
        distiller,
        loaders[0],
        epochs=epochs,
        optimizer=functools.partial(torch.optim.Adam, lr=args.lr),
        val_loader=loaders[1],
        checkpoint_dir=folder,
        device=args.device,
        seed=args.seed,
        progress=not args.no_progress,
        reset_optimizer_each_epoch=args.optimizer_reset == "every-epoch",
        cache_teacher=args.cache_teacher,
        lr_drop=args.lr_drop,
    )
    t0 = time.perf_counter()
    history = trainer.fit(resume=resume)
    # time of the epochs as logged (also covers epochs done before a resume)
    logged = sum(r["time_s"] for r in history)
    return logged if history else time.perf_counter() - t0


def _options(args) -> dict:
    """Options of :func:`kd.methods.build_method` from the command line."""
    return {
        "epochs": args.epochs,
        "stage_epochs": dict(args.stage_epochs),
        "aux_warmup_epochs": 0,  # the auxiliary teacher is trained on the labels beforehand
        "reset_optimizer": args.optimizer_reset != "never",
        "T": args.T,
        "alpha": args.alpha,
        "pkt_kernel": args.pkt_kernel,
        "pkt_divergence": args.pkt_divergence,
        "pkt_weight": args.pkt_weight,
        "srm_init": args.srm_init,
        "srm_teacher_layers": args.teacher_layers,
        "srm_student_layers": args.student_layers,
        "seed": args.seed,
    }


def _labelled(kind, model_name, build, loaders, args, out, offset) -> tuple:
    """Train (or reuse from ``out``) a teacher-side model on the labels; return it and its row."""
    from .methods import Baseline

    epochs = args.teacher_epochs or args.epochs
    model = build(model_name, offset)
    # Everything that changes the training is in the folder name, so a cached model is only
    # reused for the same recipe.
    recipe = (
        f"e{epochs}-s{args.seed}-n{args.n_images}-b{args.batch_size}-lr{args.lr:g}"
        f"-drop{args.lr_drop:g}-val{args.val_fraction:g}-{args.augment}"
    )
    folder = out / f"{kind}-{model_name}-{recipe}"
    print(f"training the {kind} {model_name} ({folder})", file=sys.stderr)
    # A finished run is reused: resuming a complete run trains nothing.
    seconds = _train(Baseline(model), loaders, args, epochs, folder, resume=True)
    row = _evaluate(f"{kind} {model_name}", model, loaders, args, seconds, epochs)
    return model, row


def _loaders(args):
    from torch.utils.data import DataLoader

    from .data import load_dataset

    data = load_dataset(
        args.dataset,
        root=args.root,
        n_images=args.n_images,
        augment=None if args.augment == "none" else args.augment,
        random_state=args.seed,
    ).split_validation(args.val_fraction, random_state=args.seed)
    train, test, database = data.loaders(args.batch_size, seed=args.seed)
    val = DataLoader(data.val, batch_size=max(args.batch_size, 256))
    return data, (train, val, test, database)


def _run(args) -> int:
    import torch

    from .methods import METHODS, build_method, stage_plan
    from .models import create_model

    _check_args(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = METHODS[args.method]
    data, loaders = _loaders(args)

    def build(name: str, offset: int):
        # Models are initialised from their own seed, independent of any global RNG use.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(args.seed * 1000 + offset)
            return create_model(
                name,
                num_classes=data.num_classes,
                in_channels=data.in_channels,
                image_size=data.image_size,
            )

    def method(teacher, aux):
        return build_method(args.method, build(args.student, 2), teacher, aux, **_options(args))

    out = Path(args.out) / args.dataset
    print(
        f"dataset {args.dataset}: {len(data.train)} train / {len(data.val)} validation / "
        f"{len(data.test)} test images, {data.num_classes} classes, "
        f"{data.in_channels}×{data.image_size}×{data.image_size}",
        file=sys.stderr,
    )
    # Check the stage plan against --epochs before spending time on the teachers (on
    # throwaway models, as a method may read the teacher's weights when it is built).
    probe_teacher = build(args.teacher, 1) if spec.needs_teacher else None
    stage_plan(method(probe_teacher, build(args.aux, 3) if spec.needs_aux else None), args.epochs)
    rows, teacher, aux = [], None, None
    if spec.needs_teacher:
        teacher, row = _labelled("teacher", args.teacher, build, loaders, args, out, 1)
        rows.append(row)
    if spec.needs_aux:
        aux, row = _labelled("auxiliary teacher", args.aux, build, loaders, args, out, 3)
        rows.append(row)
    distiller = method(teacher, aux)
    plan = stage_plan(distiller, args.epochs)
    folder = out / f"{args.method}-{args.student}-s{args.seed}"
    print(f"training the student {args.student} with {args.method}: {plan} ({folder})",
          file=sys.stderr)  # fmt: skip
    seconds = _train(distiller, loaders, args, sum(n for _, n in plan), folder, resume=args.resume)
    name = f"student {args.student} ({args.method})"
    student = distiller.student
    rows.append(_evaluate(name, student, loaders, args, seconds, args.epochs,
                          head=not spec.label_free))  # fmt: skip
    print(_format_table(rows))
    if args.json:
        payload = {"args": vars(args), "stages": plan, "rows": rows}
        Path(args.json).write_text(json.dumps(payload, indent=1))
    return 0


def _compare(argv: list[str]) -> int:
    from . import compare

    return compare.main(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m kd``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "compare":
        return _compare(argv[1:])
    args = _build_parser().parse_args(argv)
    try:
        return _run(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        # bad settings (e.g. too few epochs for a multi-stage method, a missing dataset)
        print(f"python -m kd run: error: {exc}", file=sys.stderr)
        return 2
