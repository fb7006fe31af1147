"""The image grid of a noise-search study as a PNG: a row per condition, per solver the cell's first image and
its pick (the family keeps both as artifacts), one seed.

    .venv/bin/python scripts/noise_figure.py runs/reno_digits --seed 0 --solvers reno,reno-bon,best-of-n,random \
        --out docs/figures/noise-digits-grid.png [--scale 8]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import optuna
from PIL import Image

from workbench.artifacts import FOLDER, Artifacts
from workbench.browse.views import artifact_value, cell_artifacts
from workbench.families.noise.views import grid, image_pair
from workbench.recorder import default_storage_url, open_storage
from workbench.results import load_results


def _labels(picture: Image.Image, problems: list[str], solvers: list[str], ds) -> Image.Image:
    """The grid with the solvers' names above their column pairs and the conditions left of their rows."""
    from PIL import ImageDraw

    top, left = 18, 70
    out = Image.new("RGB", (picture.width + left, picture.height + top), "white")
    out.paste(picture, (left, top))
    draw = ImageDraw.Draw(out)
    col = (picture.width + 1) / len(solvers)
    for i, s in enumerate(solvers):
        draw.text((left + i * col + 2, 3), s, fill="black")
    row = (picture.height + 1) / len(problems)
    for j, p in enumerate(problems):
        label = p.removeprefix("digits-noise-")
        draw.text((3, top + j * row + row / 2 - 6), label, fill="black")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a study's run folder (holding its storage and results.nc)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solvers", default="", help="comma-separated (default: all)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--scale", type=int, default=8)
    args = parser.parse_args(argv)
    run = Path(args.run)
    if not (run / "optuna.db").exists() and not (run / "journal.log").exists():
        print(f"noise_figure: {run} holds no storage (optuna.db or journal.log)", file=sys.stderr)
        return 2
    ds = load_results(run)
    solvers = [s for s in args.solvers.split(",") if s] or [str(s) for s in ds.solver.values]
    problems = [str(p) for p in ds.problem.values]
    storage, store = open_storage(default_storage_url(run)), Artifacts(run / FOLDER)
    study = json.loads(ds.attrs.get("study", "{}")).get("name", run.name)
    pairs = {}
    for p in problems:
        for s in solvers:
            name = f"{study}/{p}/{s}/{args.seed}"
            try:
                trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
            except KeyError:
                continue
            pairs[(p, s)] = image_pair(cell_artifacts(trials), lambda *a: artifact_value(store, *a))
    picture = Image.fromarray(grid(pairs, problems, solvers, scale=args.scale))
    labelled = _labels(picture, problems, solvers, ds)
    labelled.save(args.out)
    print(f"{args.out}: {len(problems)} conditions x {len(solvers)} solvers ({', '.join(solvers)}), seed {args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
