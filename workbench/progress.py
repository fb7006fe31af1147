"""How a run shows its progress: rich bars in a terminal, a line per finished cell elsewhere."""

from __future__ import annotations

from typing import Any

from workbench.report import fmt
from workbench.study import Study


def _best(best: float | None) -> str:
    return "—" if best is None else fmt(best)


class RichProgress:
    """An overall bar over every evaluation of the study and a bar for the cell being run."""

    def __init__(self, console: Any) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.overall: Any = None
        self.cell: Any = None

    def start(self, study: Study, total: int | None, done: int) -> None:
        self.bars.start()
        self.overall = self.bars.add_task(f"study {study.name}", total=total, completed=done)

    def cell_started(self, key: str, done: int, budget: int | None, best: float | None) -> None:
        self.key = key
        self.cell = self.bars.add_task(f"  {key}  best {_best(best)}", total=budget, completed=done)

    def advanced(self, key: str, n: int, best: float | None) -> None:
        self.bars.update(self.cell, advance=n, description=f"  {key}  best {_best(best)}")
        self.bars.update(self.overall, advance=n)

    def cell_finished(self, key: str, best: float | None, n_failed: int) -> None:
        self.bars.remove_task(self.cell)
        failed = f"  ({n_failed} failed)" if n_failed else ""
        self.console.print(f"[green]done[/green] {key}  best {_best(best)}{failed}")

    def stop(self) -> None:
        self.bars.stop()


class LineProgress:
    """No bars (CI, pipes): one line per finished cell."""

    def __init__(self, console: Any, prefix: str = "") -> None:
        self.console = console
        self.prefix = prefix

    def start(self, study: Study, total: int | None, done: int) -> None:
        recorded = f", {done}/{total} evaluations already recorded" if total else f", budget {study.budget} a cell"
        self.console.print(f"{self.prefix}study {study.name}: {study.n_cells} cells{recorded}")

    def cell_started(self, key: str, done: int, budget: int | None, best: float | None) -> None: ...

    def advanced(self, key: str, n: int, best: float | None) -> None: ...

    def cell_finished(self, key: str, best: float | None, n_failed: int) -> None:
        failed = f"  ({n_failed} failed)" if n_failed else ""
        self.console.print(f"{self.prefix}done {key}  best {_best(best)}{failed}")

    def stop(self) -> None: ...
