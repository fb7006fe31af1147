"""The SG-NTK paper's infinite-width agreement, measured: three experiments on ``sign-circle-regression``.

* ``init`` — the empirical SG-NTK of ``erf_m`` networks at initialization against the analytic one: the row
  ``I(x₀, ·)`` at ``x₀ = (0, 1)`` over the 100 test angles, relative L2 error per network, by width
  (paper: Fig. 2 and B.4);
* ``trained`` — ensembles of sign networks trained by surrogate-gradient descent (``erf'`` surrogate,
  full batch, learning rate 0.1) against the Gaussian process the SG-NTK predicts after the same steps:
  the ensemble's mean and standard deviation over the test angles, relative errors by width (paper: Fig. 3);
* ``divergence`` — the empirical and analytic NTK of ``erf_m`` on the diagonal, ``Θ(x₀, x₀)``, growing
  without bound in ``m``, beside the SG-NTK's, which stays bounded (paper: Fig. 1).

    .venv/bin/python scripts/sgntk_reproduction.py --out docs/figures/sgntk     # all three, ~ minutes

writes ``<out>.json`` (every number) and ``<out>-init.png``, ``<out>-trained.png``,
``<out>-trained-widths.png``, ``<out>-divergence.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

from problems.training.circle import SignCircleRegression, circle
from workbench.families.training.surrogate_gradients import Erf
from workbench.models.kernels.empirical import Ensemble, activation, erf_derivative, trained_gp
from workbench.models.kernels.sgntk import Architecture, ntk, sgntk

X0 = circle(torch.tensor([0.0], dtype=torch.float64))


def _data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    splits = SignCircleRegression().splits()
    return splits["train"].X, splits["train"].y.reshape(-1), splits["test"].X, splits["test"].y.reshape(-1)


def init(widths: list[int], ms: list[float], networks: int, seed: int) -> list[dict]:
    _, _, T, _ = _data()
    rows = []
    for m in ms:
        analytic = sgntk(X0, T, Architecture(m=m, k=1.0))[0]
        for n in widths:
            g = torch.Generator().manual_seed(seed)
            ens = Ensemble.draw(networks, [2, n, n, 1], sigma_w=1.0, sigma_b=0.1, generator=g)
            emp = ens.tangent_kernel(X0, T, activation(m), erf_derivative(m), erf_derivative(1.0))[:, 0]
            err = (emp - analytic).norm(dim=-1) / analytic.norm()
            rows.append({"m": m, "width": n, "mean": float(err.mean()), "max": float(err.max()),
                         "errors": err.tolist(), "analytic": analytic.tolist(), "empirical": emp[:3].tolist()})
            print(f"init m={m:g} width={n}: relative error {float(err.mean()):.4f} (max {float(err.max()):.4f})",
                  flush=True)
    return rows


def trained(widths: list[int], networks: int, steps: int, lr: float, seed: int) -> list[dict]:
    X, Y, T, _ = _data()
    arch = Architecture(m=math.inf, k=1.0)
    mean, cov = trained_gp(X, Y, T, arch, lr=lr, steps=steps)
    std = cov.diagonal().clamp_min(0).sqrt()
    mean_inf = trained_gp(X, Y, T, arch)[0]
    rows = []
    for n in widths:
        t0 = time.perf_counter()
        g = torch.Generator().manual_seed(seed)
        ens = Ensemble.draw(networks, [2, n, n, 1], sigma_w=1.0, sigma_b=0.1, generator=g)
        ens.train_surrogate_gd(X, Y, forward="sign", m=math.inf, surrogate=Erf(k=1.0), lr=lr, steps=steps)
        with torch.no_grad():
            f = ens.forward(T, activation(math.inf))[0]
            train_f = ens.forward(X, activation(math.inf))[0]
        e_mean, e_std = f.mean(0), f.std(0)
        row = {"width": n, "networks": networks, "steps": steps, "lr": lr,
               "mean_error": float((e_mean - mean).norm() / mean.norm()),
               "std_error": float((e_std - std).norm() / std.norm()),
               "mc_floor": float((std / math.sqrt(networks)).norm() / mean.norm()),
               "train_loss": float(0.5 * ((train_f - Y) ** 2).mean()),
               "seconds": time.perf_counter() - t0,
               "ensemble_mean": e_mean.tolist(), "ensemble_std": e_std.tolist(),
               "functions": f[: min(networks, 100)].tolist()}
        rows.append(row)
        print(f"trained width={n}: mean error {row['mean_error']:.4f}, std error {row['std_error']:.4f} "
              f"(Monte-Carlo floor of the mean {row['mc_floor']:.4f}), train loss {row['train_loss']:.4f}, "
              f"{row['seconds']:.0f} s", flush=True)
    return [{"gp_mean": mean.tolist(), "gp_std": std.tolist(), "gp_mean_converged": mean_inf.tolist(),
             "train_x": X.tolist(), "train_y": Y.tolist()}, *rows]


def divergence(ms: list[float], width: int, networks: int, seed: int) -> list[dict]:
    rows = []
    for m in ms:
        g = torch.Generator().manual_seed(seed)
        ens = Ensemble.draw(networks, [2, width, width, 1], sigma_w=1.0, sigma_b=0.1, generator=g)
        theta = ens.tangent_kernel(X0, X0, activation(m), erf_derivative(m), erf_derivative(m))[:, 0, 0]
        sg = ens.tangent_kernel(X0, X0, activation(m), erf_derivative(m), erf_derivative(1.0))[:, 0, 0]
        rows.append({"m": m, "width": width, "ntk_empirical": float(theta.mean()),
                     "ntk_empirical_std": float(theta.std()), "ntk_analytic": float(ntk(X0, X0, Architecture(m=m))),
                     "sgntk_empirical": float(sg.mean()), "sgntk_analytic": float(sgntk(X0, X0, Architecture(m=m)))})
        print(f"divergence m={m:g}: NTK(x0,x0) empirical {rows[-1]['ntk_empirical']:.2f}, analytic "
              f"{rows[-1]['ntk_analytic']:.2f}; SG-NTK {rows[-1]['sgntk_empirical']:.3f} / {rows[-1]['sgntk_analytic']:.3f}",
              flush=True)
    rows.append({"m": math.inf, "sgntk_analytic": float(sgntk(X0, X0, Architecture(m=math.inf)))})
    return rows


def figures(results: dict, out: str) -> None:
    import altair as alt
    import pandas as pd

    T = _data()[2]
    angles = torch.atan2(T[:, 0], T[:, 1]).tolist()
    if "init" in results:
        frame = pd.DataFrame([{"m": f"m = {r['m']:g}", "width": r["width"], "relative error": e}
                              for r in results["init"] for e in r["errors"]])
        mean = frame.groupby(["m", "width"], as_index=False)["relative error"].mean()
        base = alt.Chart(frame).encode(x=alt.X("width:Q", scale=alt.Scale(type="log")),
                                       y=alt.Y("relative error:Q", scale=alt.Scale(type="log")), color="m:N")
        chart = (base.mark_circle(opacity=0.3) + alt.Chart(mean).mark_line(point=True).encode(
            x="width:Q", y="relative error:Q", color="m:N")).properties(
            width=380, height=260, title="empirical SG-NTK row I(x0, ·) at initialization vs analytic")
        chart.save(f"{out}-init.png", format="png", scale_factor=1.5)
    if "trained" in results:
        gp, rows = results["trained"][0], results["trained"][1:]
        widest = rows[-1]
        lines = pd.DataFrame([{"angle": a, "f": v, "net": i} for i, fn in enumerate(widest["functions"])
                              for a, v in zip(angles, fn)])
        curves = pd.DataFrame([{"angle": a, "ensemble mean": em, "SG-NTK GP mean": gm,
                                "lo": gm - 2 * gs, "hi": gm + 2 * gs}
                               for a, em, gm, gs in zip(angles, widest["ensemble_mean"], gp["gp_mean"], gp["gp_std"])])
        train_angles = [math.atan2(x[0], x[1]) for x in gp["train_x"]]
        points = pd.DataFrame({"angle": train_angles, "y": gp["train_y"]})
        x = alt.X("angle:Q", title="angle α")
        band = alt.Chart(curves).mark_area(opacity=0.25, color="grey").encode(x=x, y="lo:Q", y2="hi:Q")
        nets = alt.Chart(lines).mark_line(opacity=0.08, strokeWidth=0.7).encode(x=x, y=alt.Y("f:Q", title="f(α)"),
                                                                               detail="net:N")
        melted = curves.melt(id_vars=["angle"], value_vars=["ensemble mean", "SG-NTK GP mean"], var_name="curve")
        means = alt.Chart(melted).mark_line(strokeWidth=2).encode(x=x, y="value:Q", color="curve:N")
        dots = alt.Chart(points).mark_point(color="black", shape="cross", size=60).encode(x=x, y="y:Q")
        (band + nets + means + dots).properties(
            width=520, height=300, title=f"{widest['networks']} sign networks of width {widest['width']} after "
                                         f"{widest['steps']} surrogate-gradient steps, and the SG-NTK GP (±2 sd)"
        ).save(f"{out}-trained.png", format="png", scale_factor=1.5)
        errs = pd.DataFrame([{"width": r["width"], "error": r[k], "quantity": q}
                             for r in rows for k, q in (("mean_error", "ensemble mean"), ("std_error", "ensemble sd"),
                                                        ("mc_floor", "Monte-Carlo floor of the mean"))])
        alt.Chart(errs).mark_line(point=True).encode(
            x=alt.X("width:Q", scale=alt.Scale(type="log")), y=alt.Y("error:Q", title="relative L2 error vs SG-NTK GP"),
            color="quantity:N").properties(width=380, height=260, title="trained sign networks vs the SG-NTK GP"
                                           ).save(f"{out}-trained-widths.png", format="png", scale_factor=1.5)
    if "divergence" in results:
        rows = [r for r in results["divergence"] if math.isfinite(r["m"])]
        frame = pd.DataFrame([{"m": r["m"], "kernel": k, "value": r[v]} for r in rows for k, v in (
            ("NTK empirical", "ntk_empirical"), ("NTK analytic", "ntk_analytic"),
            ("SG-NTK empirical", "sgntk_empirical"), ("SG-NTK analytic", "sgntk_analytic"))])
        alt.Chart(frame).mark_line(point=True).encode(
            x=alt.X("m:Q", scale=alt.Scale(type="log")), y=alt.Y("value:Q", scale=alt.Scale(type="log"),
                                                                 title="kernel at (x0, x0)"),
            color="kernel:N", strokeDash="kernel:N").properties(
            width=380, height=260, title=f"erf_m networks of width {rows[0]['width']}: the NTK diverges, the SG-NTK does not"
        ).save(f"{out}-divergence.png", format="png", scale_factor=1.5)


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v]


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="path prefix of the JSON and the figures")
    parser.add_argument("--parts", default="init,trained,divergence")
    parser.add_argument("--init-widths", type=_ints, default=[20, 100, 500, 1000])
    parser.add_argument("--init-m", type=_floats, default=[2.0, 5.0, 20.0])
    parser.add_argument("--init-networks", type=int, default=20)
    parser.add_argument("--widths", type=_ints, default=[20, 100, 500])
    parser.add_argument("--networks", type=int, default=100)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--divergence-m", type=_floats, default=[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0])
    parser.add_argument("--divergence-width", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - {"init", "trained", "divergence"}
    if unknown:
        parser.error(f"--parts: unknown {sorted(unknown)} (choose from init, trained, divergence)")
    results: dict = {"command": " ".join(sys.argv)}
    if "init" in parts:
        results["init"] = init(args.init_widths, args.init_m, args.init_networks, args.seed)
    if "trained" in parts:
        results["trained"] = trained(args.widths, args.networks, args.steps, args.lr, args.seed)
    if "divergence" in parts:
        results["divergence"] = divergence(args.divergence_m, args.divergence_width, 10, args.seed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(f"{args.out}.json").write_text(json.dumps(results))
    figures(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
