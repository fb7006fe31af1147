"""The ``workbench`` command. User mistakes are one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from workbench.errors import EvaluationError, SolverError, WorkbenchError

EXIT_USAGE = 2
STORAGE_ENV = "WORKBENCH_STORAGE"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _storage_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs-dir", default="runs", help="where run folders go (default: runs)")
    p.add_argument(
        "--storage",
        default=os.environ.get(STORAGE_ENV),
        help=f"Optuna storage URL: sqlite:///..., postgresql://..., journal:PATH (default: ${STORAGE_ENV}, "
        "else a file in the run folder)",
    )


def _worker_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1, ...")
    p.add_argument("--fail-fast", action="store_true", help="stop at the first failed evaluation")
    p.add_argument("--grace", type=float, default=60.0, help="seconds without heartbeat before a cell is taken over")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--artifacts", default=None,
                   help="folder of step artifacts and checkpoints (default: the run folder's artifacts/; "
                        "workers on several machines need one they all reach)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="workbench", description="Declare optimization studies in Python and run them.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a study file (resumes where it stopped)")
    run.add_argument("study_file", help="a Python file defining `study = Study(...)`")
    _storage_options(run)
    _worker_options(run)
    run.add_argument("--workers", type=int, default=1, help="worker processes on this machine (default 1)")
    run.add_argument("--no-report", action="store_true", help="do not print the leaderboard at the end")

    worker = sub.add_parser("worker", help="help run a study whose cells live in a shared storage")
    worker.add_argument("study_file", help="the same study file as the other workers")
    _storage_options(worker)
    _worker_options(worker)
    worker.add_argument("--no-results", action="store_true", help="leave writing results.nc to others")
    worker.add_argument("--prefix", default="", help=argparse.SUPPRESS)

    status = sub.add_parser("status", help="cells done / running / failed of a study")
    status.add_argument("study_file", help="a Python file defining `study = Study(...)`")
    _storage_options(status)
    status.add_argument("--grace", type=float, default=60.0, help="seconds without heartbeat before a cell is stale")
    status.add_argument("--cells", action="store_true", help="one line per cell")

    report = sub.add_parser("report", help="print the leaderboard of a run folder (or rebuild it from a storage)")
    report.add_argument("target", help="a run folder (runs/NAME), its results.nc, or a study file to rebuild from")
    _storage_options(report)
    report.add_argument("--metric", default=None,
                        help="the score ranked: one of the study family's metrics (default: its first; "
                             "`workbench list families` shows them)")

    dash = sub.add_parser("dashboard", help="serve the dashboard over a runs folder")
    dash.add_argument("runs_dir", nargs="?", default="runs", help="the runs folder (default: runs)")
    dash.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    dash.add_argument("--port", type=int, default=8501, help="port (default: 8501)")
    dash.add_argument("--no-browser", action="store_true", help="do not open a browser")

    lst = sub.add_parser(
        "list", help="list registered families, problems or solvers",
        description="List registered families, problems or solvers, one line each, with the first sentence of "
                    "their description. A problem is listed by the name its results carry; where that differs "
                    "from the name it is registered under (the name a study may give), the registered name "
                    "follows in parentheses: `hartmann6 (hartmann)`.")
    lst.add_argument("what", choices=("families", "problems", "solvers"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging()
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:  # logs and pipes: wide enough that tables and lines do not wrap
        console = Console(highlight=False, width=200)
    commands = {"run": _run, "worker": _worker, "status": _status, "report": _report, "list": _list,
                "dashboard": _dashboard}
    try:
        return commands[args.command](args, console)
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


def _progress(args: Any, console: Any, prefix: str = "") -> Any:
    from workbench.progress import LineProgress, RichProgress

    if args.quiet:
        return None
    if console.is_terminal and not os.environ.get("CI") and not prefix:
        return RichProgress(console)
    return LineProgress(console, prefix=prefix)


def _runner(args: Any, study: Any, console: Any, *, storage: str | None, write_results: bool = True,
            prefix: str = "") -> Any:
    from workbench.runner import Runner, resolve_device

    try:
        device = resolve_device(args.device)
    except RuntimeError as e:
        raise WorkbenchError(f"--device {args.device!r}: {e}") from e
    if not args.grace > 0:
        raise WorkbenchError(f"--grace must be > 0, but got {args.grace}")
    return Runner(study, run_dir=Path(args.runs_dir) / study.name, storage=storage, device=device,
                  fail_fast=args.fail_fast, progress=_progress(args, console, prefix), grace=args.grace,
                  heartbeat=min(5.0, args.grace / 4), write_results=write_results, artifacts=args.artifacts)


def _run(args: Any, console: Any) -> int:
    from workbench.recorder import default_storage_url, redact, supports_concurrent_writers
    from workbench.study import load_study

    study = load_study(args.study_file)
    if args.workers < 1:
        raise WorkbenchError(f"--workers must be >= 1, but got {args.workers}")
    storage = args.storage
    if args.workers > 1:
        storage = storage or default_storage_url(Path(args.runs_dir) / study.name, concurrent=True)
        if not supports_concurrent_writers(storage):
            raise WorkbenchError(
                f"--workers {args.workers} needs a storage safe for concurrent writers, and SQLite "
                f"({redact(storage)}) is not: use --storage journal:PATH or postgresql://..."
            )
    if args.workers == 1:
        path = _runner(args, study, console, storage=storage).run()
    else:
        path = _spawn_workers(args, study, storage, console)
    if not args.quiet:
        console.print(f"results: {path}")
        if not args.no_report:
            _print_board(path, None, console)
    return 0


def _spawn_workers(args: Any, study: Any, storage: str, console: Any) -> Path:
    """N worker processes on this machine; the storage URL reaches them through the environment."""
    from workbench.recorder import Store
    from workbench.runner import Runner

    Path(args.runs_dir, study.name).mkdir(parents=True, exist_ok=True)
    Store(storage)  # create the storage's tables once, before the workers race to
    env = dict(os.environ, **{STORAGE_ENV: storage})
    # N processes share this machine's cores: more threads each would only spin against one another
    threads = str(max(1, (os.cpu_count() or 1) // args.workers))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(var, threads)
    cmd = [sys.executable, "-m", "workbench.cli", "worker", args.study_file, "--runs-dir", args.runs_dir,
           "--device", args.device, "--grace", str(args.grace), "--no-results"]
    cmd += ["--fail-fast"] if args.fail_fast else []
    cmd += ["--artifacts", args.artifacts] if args.artifacts else []
    cmd += ["--quiet"] if args.quiet else []
    procs = [subprocess.Popen(cmd + ["--prefix", f"worker {i}: "], env=env) for i in range(args.workers)]
    codes = [p.wait() for p in procs]
    if any(codes):
        raise SolverError(f"{sum(1 for c in codes if c)} of {args.workers} workers failed (exit codes {codes})")
    return Runner(study, run_dir=Path(args.runs_dir) / study.name, storage=storage, device="cpu").write_results()


def _worker(args: Any, console: Any) -> int:
    from workbench.recorder import supports_concurrent_writers
    from workbench.study import load_study

    study = load_study(args.study_file)
    if not args.storage or not supports_concurrent_writers(args.storage):
        raise WorkbenchError(
            f"a worker needs a shared storage (--storage or ${STORAGE_ENV}: postgresql://... or journal:PATH)"
        )
    _runner(args, study, console, storage=args.storage, write_results=not args.no_results, prefix=args.prefix).run()
    return 0


def _status(args: Any, console: Any) -> int:
    from workbench.recorder import Store, default_storage_url
    from workbench.status import STATES, study_status
    from workbench.study import load_study

    study = load_study(args.study_file)
    run_dir = Path(args.runs_dir) / study.name
    storage = args.storage or default_storage_url(run_dir)
    if not args.storage and not storage_exists(storage):
        raise WorkbenchError(f"no storage for study {study.name!r} in {run_dir} (give --storage URL)")
    cells = study_status(study, Store(storage, retry_for=30.0), grace=args.grace)
    counts = {s: sum(1 for c in cells if c.state == s) for s in STATES}
    console.print(f"{study.name}: {len(cells)} cells: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if args.cells:
        for c in cells:
            extra = f"  {c.worker}" if c.worker else ""
            extra += f"  {c.error}" if c.error else ""
            console.print(f"{c.state:<8} {c.recorded:>5} steps of {c.budget:<16} {c.key}{extra}")
    return 0


def storage_exists(url: str) -> bool:
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):]).exists()
    if url.startswith("journal:"):
        return Path(url[len("journal:"):]).exists()
    return True


def _report(args: Any, console: Any) -> int:
    target = Path(args.target)
    if target.suffix == ".py":  # rebuild results.nc from the storage, then report it
        from workbench.recorder import default_storage_url
        from workbench.runner import Runner
        from workbench.study import load_study

        study = load_study(target)
        run_dir = Path(args.runs_dir) / study.name
        storage = args.storage or default_storage_url(run_dir)
        if not args.storage and not storage_exists(storage):
            raise WorkbenchError(f"no storage for study {study.name!r} in {run_dir} (give --storage URL)")
        target = Runner(study, run_dir=run_dir, storage=storage, device="cpu").write_results()
    _print_board(target, args.metric, console)
    return 0


def _print_board(path: Path, metric: str | None, console: Any) -> None:
    from workbench.report import caption, leaderboard, metric_of, render, title
    from workbench.results import load_results

    ds = load_results(path)
    try:
        chosen = metric_of(ds, metric)
    except (ValueError, WorkbenchError) as e:
        raise WorkbenchError(f"--metric: {e}") from None
    board = leaderboard(ds, chosen.name)
    name = json.loads(ds.attrs.get("study", "{}")).get("name", Path(path).stem)
    console.print(render(board, f"{name}: {title(ds, chosen)}", caption(board, chosen)))


def _dashboard(args: Any, console: Any) -> int:
    from workbench.browse.serve import serve

    runs_dir = Path(args.runs_dir)
    if not runs_dir.is_dir():
        raise WorkbenchError(f"runs folder not found: {runs_dir} (run a study first: workbench run STUDY_FILE)")
    if not 0 < args.port < 65536:
        raise WorkbenchError(f"--port must be in 1..65535, but got {args.port}")
    return serve(runs_dir, host=args.host, port=args.port, open_browser=not args.no_browser)


_MARKUP = re.compile(
    r"``(?P<literal>.+?)``"  # ``code``
    r"|:[\w.+-]+(?::[\w.+-]+)*:`(?P<role>[^`]+)`"  # :class:`~x.Y`, :mod:`x`, :py:func:`f`
    r"|`(?P<text>[^`]+)`_{0,2}"  # `interpreted text`, `a link`_
    r"|(?P<end>\.)(?=\s|$)"  # a full stop
)
_ABBREVIATION = re.compile(r"(?:\be\.g|\bi\.e|\bcf|\bvs)$", re.IGNORECASE)


def _role_text(text: str) -> str:
    """What a reST role shows: ``title <target>`` -> title, ``~a.b.C`` -> C, ``!x`` -> x."""
    titled = re.fullmatch(r"(.+?)\s*<[^<>]*>", text)
    if titled:
        return titled.group(1)
    text = text.lstrip("!")
    return text[1:].rsplit(".", 1)[-1] if text.startswith("~") else text


def first_sentence(doc: str | None) -> str:
    """The first sentence of a docstring as one line of plain text: up to the first full stop followed by a
    space (not one of ``e.g.``, ``i.e.``, ``cf.``, ``vs.``, nor one inside ``code``) or the end of the first
    paragraph, its lines joined; reStructuredText markup (````code````, ``:role:`x```, ```text```) as its text."""
    if not doc:
        return ""
    paragraph = re.split(r"\n\s*\n", doc.strip(), maxsplit=1)[0]
    text = " ".join(paragraph.split())
    out: list[str] = []
    pos = 0
    for m in _MARKUP.finditer(text):
        out.append(text[pos:m.start()])
        pos = m.end()
        if m.group("end"):
            out.append(".")
            if not _ABBREVIATION.search(text[:m.start()]):
                return "".join(out).strip()
        elif m.group("role") is not None:
            out.append(_role_text(m.group("role")))
        else:
            out.append(m.group("literal") or m.group("text"))
    out.append(text[pos:])
    return "".join(out).strip()


def _number(x: float | None) -> str:
    """A value for a listing: ``unknown`` for None, ``-0.0`` as 0."""
    return "unknown" if x is None else f"{x + 0.0:g}"


def _lines(rows: list[list[str]]) -> list[str]:
    """Rows of cells as lines: every cell but a row's last padded to its column's widest, two spaces apart."""
    widths: dict[int, int] = {}
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths.get(i, 0), len(cell))
    return ["  ".join([c.ljust(widths[i]) for i, c in enumerate(row[:-1])] + row[-1:]).rstrip() for row in rows]


def _list(args: Any, console: Any) -> int:
    rows: list[list[str]] = []
    if args.what == "families":
        from workbench.family import families

        for name, family in families.items():
            metrics = ", ".join(m.name for m in family.all_metrics())
            axes = f"; cost axes: {', '.join(family.axes)}" if family.axes else ""
            rows.append([name, f"{first_sentence(family.summary)} (metrics: {metrics}{axes})"])
    elif args.what == "solvers":
        from workbench.solvers import solvers

        rows = [[name, cls.family, first_sentence(cls.__doc__)] for name, cls in solvers.items()]
    else:
        from workbench.problem import catalog

        for name, cls in catalog.items():
            try:
                p = cls()
            except WorkbenchError as e:  # an offline task whose data is not installed, a problem that needs a model
                rows.append([name, str(getattr(cls, "family", "")), f"unavailable: {e}"])  # path: say so, list the rest
                continue
            shown = p.name if p.name == name else f"{p.name} ({name})"
            shape = f"dim {p.space.dim}" if p.space.dim else "no space"  # e.g. training: its steps are epochs
            rows.append([shown, p.family, shape, p.direction, f"optimum {_number(p.optimum)}",
                         first_sentence(cls.__doc__)])
    for line in _lines(rows):  # one line each, also where a pipe is narrower than a line
        console.print(line, markup=False, soft_wrap=not console.is_terminal)
    return 0


if __name__ == "__main__":
    sys.exit(main())
