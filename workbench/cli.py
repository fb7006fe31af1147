"""The ``workbench`` command. User mistakes are one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from workbench.errors import EvaluationError, SolverError, WorkbenchError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="workbench", description="Declare optimization studies in Python and run them.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a study file (resumes where it stopped)")
    run.add_argument("study_file", help="a Python file defining `study = Study(...)`")
    run.add_argument("--runs-dir", default="runs", help="where run folders go (default: runs)")
    run.add_argument("--storage", help="Optuna storage URL (default: SQLite file in the run folder)")
    run.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1, ...")
    run.add_argument("--fail-fast", action="store_true", help="stop at the first failed evaluation")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.add_argument("--no-report", action="store_true", help="do not print the leaderboard at the end")

    report = sub.add_parser("report", help="print the leaderboard of a run folder")
    report.add_argument("run_dir", help="a run folder (runs/NAME) or its results.nc")
    report.add_argument("--metric", choices=("best", "regret"), default="best", help="the score ranked")

    lst = sub.add_parser("list", help="list registered problems or solvers")
    lst.add_argument("what", choices=("problems", "solvers"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging()
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:  # logs and pipes: wide enough that tables and lines do not wrap
        console = Console(highlight=False, width=200)
    try:
        if args.command == "run":
            return _run(args, console)
        if args.command == "report":
            return _report(Path(args.run_dir), args.metric, console)
        return _list(args.what, console)
    except (SolverError, EvaluationError) as e:
        print(f"workbench: {e}", file=sys.stderr)
        return 1
    except WorkbenchError as e:
        print(f"workbench: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("workbench: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


def _setup_logging() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("workbench: %(levelname)s: %(message)s"))
    logger = logging.getLogger("workbench")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if os.environ.get("WORKBENCH_DEBUG") else logging.WARNING)


def _run(args: Any, console: Any) -> int:
    from workbench.progress import LineProgress, RichProgress
    from workbench.runner import Runner, resolve_device
    from workbench.study import load_study

    study = load_study(args.study_file)
    try:
        device = resolve_device(args.device)
    except RuntimeError as e:
        raise WorkbenchError(f"--device {args.device!r}: {e}") from e
    if args.quiet:
        progress = None
    elif console.is_terminal and not os.environ.get("CI"):
        progress = RichProgress(console)
    else:
        progress = LineProgress(console)
    run_dir = Path(args.runs_dir) / study.name
    runner = Runner(study, run_dir=run_dir, storage=args.storage, device=device, fail_fast=args.fail_fast,
                    progress=progress)
    path = runner.run()
    if not args.quiet:
        console.print(f"results: {path}")
    if not args.no_report and not args.quiet:
        _report(path, "best", console)
    return 0


def _report(path: Path, metric: str, console: Any) -> int:
    from workbench.report import leaderboard, render
    from workbench.results import load_results

    ds = load_results(path)
    board = leaderboard(ds, metric)
    import json

    name = json.loads(ds.attrs.get("study", "{}")).get("name", path.stem)
    arrow = "lower is better" if metric == "regret" else "↓ minimize, ↑ maximize"
    title = f"{name}: final {metric}, mean ± std over seeds (rank); {arrow}"
    console.print(render(board, title))
    return 0


def _list(what: str, console: Any) -> int:
    if what == "solvers":
        from workbench.solvers import solvers

        for name, cls in solvers.items():
            doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
            console.print(f"{name:<16} {doc}")
        return 0
    from workbench.problem import catalog

    for name, cls in catalog.items():
        p = cls()
        optimum = "unknown" if p.optimum is None else f"{p.optimum:g}"
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        console.print(f"{name:<20} dim {p.space.dim:<3} {p.direction:<8}  optimum {optimum:<10} {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
