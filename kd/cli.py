"""Command line: ``python -m kd run ...`` (one method) and ``python -m kd compare ...``.

``run`` trains the teacher first when the method needs one (cached: a finished teacher run in
the output folder is reused), then the student with the chosen method, with a progress bar,
per-epoch checkpoints (``--resume`` continues an interrupted run), and a final table of test
accuracy and retrieval scores.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

__all__ = ["main"]

METHODS = ("baseline", "kd", "pkt", "indistill", "infoflow", "srm")


def _method_builders() -> dict:
    """``{name: build(student, teacher, args) -> Distiller}`` (the methods' own defaults)."""
    from . import methods as m

    return {
        "baseline": lambda student, teacher, args: m.Baseline(student),
        "kd": lambda student, teacher, args: m.KD(student, teacher, T=args.T, alpha=args.alpha),
        "pkt": lambda student, teacher, args: m.PKT(
            student,
            teacher,
            kernel=args.pkt_kernel,
            divergence=args.pkt_divergence,
            weight=args.pkt_weight,
        ),
        "indistill": lambda student, teacher, args: m.InDistill(student, teacher),
        "infoflow": lambda student, teacher, args: m.InformationFlowKD(student, teacher),
        "srm": lambda student, teacher, args: m.SRM(student, teacher),
    }


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


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kd", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train a student with one distillation method")
    run.add_argument("--method", choices=METHODS, default="kd")
    run.add_argument(
        "--dataset",
        choices=("shapes", "digits", "cifar10", "cifar100", "imagefolder"),
        default="shapes",
    )
    run.add_argument("--root", default=None, help="folder of on-disk datasets (CIFAR, ImageFolder)")
    run.add_argument("--teacher", default="cnn32", help="teacher model name (kd.models)")
    run.add_argument("--student", default="cnn32_small", help="student model name (kd.models)")
    run.add_argument("--epochs", type=_positive_int, default=5, help="student epochs")
    run.add_argument(
        "--teacher-epochs",
        type=_positive_int,
        default=None,
        help="teacher epochs (default: --epochs)",
    )
    run.add_argument("--batch-size", type=_positive_int, default=128)
    run.add_argument("--lr", type=_positive_float, default=1e-3, help="Adam learning rate")
    run.add_argument("--n-images", type=_positive_int, default=2000, help="size of 'shapes'")
    run.add_argument("--augment", choices=("none", "crop", "crop_flip"), default="none")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--T", type=_positive_float, default=4.0, help="KD temperature")
    run.add_argument("--alpha", type=float, default=0.9, help="KD soft-loss weight")
    run.add_argument(
        "--pkt-kernel",
        choices=("cosine", "student_t", "combined", "rbf", "adaptive_rbf", "cauchy"),
        default="cosine",
    )
    run.add_argument("--pkt-divergence", choices=("kl", "jeffreys"), default="kl")
    run.add_argument("--pkt-weight", type=_positive_float, default=30000.0)
    run.add_argument(
        "--cache-teacher", action="store_true", help="reuse teacher outputs per sample"
    )
    run.add_argument(
        "--reset-optimizer", action="store_true", help="new optimizer every epoch (authors' code)"
    )
    run.add_argument("--no-retrieval", action="store_true", help="skip the retrieval metrics")
    run.add_argument("--out", default="kd_runs", help="folder for checkpoints and logs")
    run.add_argument("--resume", action="store_true", help="continue interrupted runs in --out")
    run.add_argument("--json", default=None, help="write the final table as JSON here")
    run.add_argument("--no-progress", action="store_true")
    run.add_argument("--threads", type=_positive_int, default=None, help="torch CPU threads")
    run.add_argument("--device", default="cpu")
    compare = sub.add_parser(
        "compare", help="compare all methods over seeds (see kd.compare)", add_help=False
    )
    compare.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _evaluate(name, model, data_loaders, args, train_time, epochs) -> dict:
    from .evaluate import accuracy, retrieval_evaluation

    _, test_loader, database_loader = data_loaders
    row = {
        "model": name,
        "parameters": _count_parameters(model),
        "epochs": epochs,
        "test_accuracy": accuracy(model, test_loader, device=args.device),
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
        cells.append([fmt.format(r[key]) if key in r else "-" for key, _, fmt in columns])
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _train(distiller, loaders, args, epochs, folder: Path):
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
        reset_optimizer_each_epoch=args.reset_optimizer,
        cache_teacher=args.cache_teacher,
    )
    t0 = time.perf_counter()
    history = trainer.fit(resume=args.resume)
    # time of the epochs as logged (also covers epochs done before a resume)
    logged = sum(r["time_s"] for r in history)
    return logged if history else time.perf_counter() - t0


def _run(args) -> int:
    import torch

    from .data import load_dataset
    from .methods import Baseline
    from .models import create_model

    if args.threads:
        torch.set_num_threads(args.threads)
    if not 0.0 <= args.alpha <= 1.0:
        raise SystemExit(f"--alpha must be in [0, 1], got {args.alpha}")
    data = load_dataset(
        args.dataset,
        root=args.root,
        n_images=args.n_images,
        augment=None if args.augment == "none" else args.augment,
        random_state=args.seed,
    )
    loaders = data.loaders(args.batch_size, seed=args.seed)

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

    out = Path(args.out) / args.dataset
    rows = []
    print(
        f"dataset {args.dataset}: {len(data.train)} train / {len(data.test)} test images, "
        f"{data.num_classes} classes, {data.in_channels}×{data.image_size}×{data.image_size}",
        file=sys.stderr,
    )
    # Check the method's stage plan against --epochs before spending time on the teacher (on
    # throwaway models, as a method may read the teacher's weights when it is built).
    from .trainer import Trainer

    probe_teacher = build(args.teacher, 1) if args.method != "baseline" else None
    probe = _method_builders()[args.method](build(args.student, 2), probe_teacher, args)
    Trainer(probe, loaders[0], epochs=args.epochs)._plan(probe.stages())
    del probe, probe_teacher
    teacher = None
    if args.method != "baseline":
        teacher_epochs = args.teacher_epochs or args.epochs
        teacher = build(args.teacher, 1)
        # Everything that changes the teacher's training is in the folder name, so a cached
        # teacher is only reused for the same recipe.
        recipe = f"e{teacher_epochs}-s{args.seed}-n{args.n_images}-b{args.batch_size}-lr{args.lr:g}"
        folder = out / f"teacher-{args.teacher}-{recipe}-{args.augment}"
        print(f"training the teacher {args.teacher} ({folder})", file=sys.stderr)
        # A finished teacher run is reused: resuming a complete run trains nothing.
        saved_resume, args.resume = args.resume, True
        try:
            seconds = _train(Baseline(teacher), loaders, args, teacher_epochs, folder)
        finally:
            args.resume = saved_resume
        rows.append(
            _evaluate(f"teacher {args.teacher}", teacher, loaders, args, seconds, teacher_epochs)
        )
    student = build(args.student, 2)
    distiller = _method_builders()[args.method](student, teacher, args)
    folder = out / f"{args.method}-{args.student}-s{args.seed}"
    print(f"training the student {args.student} with {args.method} ({folder})", file=sys.stderr)
    seconds = _train(distiller, loaders, args, args.epochs, folder)
    rows.append(
        _evaluate(
            f"student {args.student} ({args.method})", student, loaders, args, seconds, args.epochs
        )
    )
    print(_format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
    return 0


def _compare(argv: list[str]) -> int:
    try:
        from . import compare
    except ImportError as exc:
        if getattr(exc, "name", None) not in ("kd.compare", None):
            raise
        print(
            "python -m kd compare: kd/compare.py is not available in this installation "
            "(the comparison of InDistill, information-flow KD and SRM is not there yet); "
            "use 'python -m kd run --method baseline|kd|pkt' meanwhile.",
            file=sys.stderr,
        )
        return 2
    return compare.main(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m kd``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "compare":
        return _compare(argv[1:])
    args = _build_parser().parse_args(argv)
    try:
        return _run(args)
    except (ValueError, FileNotFoundError) as exc:
        # bad settings (e.g. too few epochs for a multi-stage method, a missing dataset)
        print(f"python -m kd run: error: {exc}", file=sys.stderr)
        return 2
