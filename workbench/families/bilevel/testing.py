"""The bilevel contract: the test suite runs it over every registered bilevel problem, and users can run it on
their own (``check_bilevel_problem(MyProblem())``)."""

from __future__ import annotations

import json
import math

import torch

from workbench.families.bilevel.lower import Solve
from workbench.families.bilevel.oracle import Oracle
from workbench.families.bilevel.problem import BilevelProblem, check_bilevel
from workbench.problem import Problem


def check_bilevel_problem(problem: Problem) -> None:
    """Raise ``AssertionError`` unless ``problem`` keeps the bilevel contract: declaration valid; ``bind``
    gives a problem of the same kind; ``h`` and ``g`` finite scalars with gradients in ``x`` (and, when
    strongly convex, ``h`` in θ); for a strongly convex lower level, the Hessian's spectrum at ``x0`` and at
    a random point within [μ, L] (power iteration); otherwise ``solve`` returns a finite point and charges its
    steps; the black-box view is finite at θ₀; ``report`` gives finite numbers; ``describe()`` is JSON."""
    assert isinstance(problem, BilevelProblem), f"{problem.name}: not a BilevelProblem"
    check_bilevel(problem, f"problem {problem.name!r}")
    bound = problem.bind(3)
    assert type(bound) is type(problem), f"{problem.name}: bind returns a {type(bound).__name__}"
    theta = bound.theta_start()
    x = bound.x0()
    assert x.is_floating_point(), f"{problem.name}: x0 is not a float tensor"
    xd, td = x.clone().requires_grad_(True), theta.clone().requires_grad_(True)
    h = bound.lower(xd, td)
    assert h.dim() == 0 and math.isfinite(float(h.detach())), f"{problem.name}: h(x0, θ0) is not a finite scalar"
    gx, gt = torch.autograd.grad(h, (xd, td), allow_unused=True)
    assert gx is not None and bool(torch.isfinite(gx).all()), f"{problem.name}: no finite gradient of h in x"
    if bound.strongly_convex:  # hypergradient methods differentiate ∇ₓh in θ (dropout rates act by sampling)
        assert gt is not None and bool(torch.isfinite(gt).all()), f"{problem.name}: h does not depend on θ"
    xg = x.clone().requires_grad_(True)
    g = bound.upper(xg)
    assert g.dim() == 0 and math.isfinite(float(g.detach())), f"{problem.name}: g(x0) is not a finite scalar"
    (gg,) = torch.autograd.grad(g, xg)
    assert bool(torch.isfinite(gg).all()), f"{problem.name}: no finite gradient of g"
    oracle = Oracle(bound)
    if bound.strongly_convex:
        mu, lip = bound.mu(theta), bound.smoothness(theta)
        gen = torch.Generator().manual_seed(0)
        for point in (x, x + torch.randn(x.shape, generator=gen, dtype=x.dtype)):
            top, bottom = _spectrum(oracle, point, theta, lip, gen)
            assert top <= lip * (1 + 1e-6), f"{problem.name}: ∇ₓh changes faster than L(θ0) = {lip:g} (≈ {top:g})"
            assert bottom >= mu * (1 - 1e-6), f"{problem.name}: h is not μ(θ0) = {mu:g} strongly convex (≈ {bottom:g})"
    if not bound.strongly_convex:
        before = oracle.counter.lower_iterations
        solved = bound.solve(oracle, x, theta)
        assert isinstance(solved, Solve) and bool(torch.isfinite(solved.x).all()), f"{problem.name}: solve failed"
        assert oracle.counter.lower_iterations > before, f"{problem.name}: solve charged no lower-level work"
        assert math.isfinite(float(bound.upper(solved.x))), f"{problem.name}: g at the solved point is not finite"
    else:  # the black-box view (a non-convex problem's is its solve, just checked)
        value = bound.evaluate(theta[None])
        assert value.shape == (1,) and math.isfinite(float(value[0])), f"{problem.name}: the black-box view is not finite"
    with torch.no_grad():
        report = bound.report(x, theta)
    assert all(math.isfinite(float(v)) for v in report.values()), f"{problem.name}: report is not finite"
    json.dumps(problem.describe())


def _spectrum(oracle: Oracle, x: torch.Tensor, theta: torch.Tensor, lip: float, gen: torch.Generator,
              steps: int = 60) -> tuple[float, float]:
    """Estimates of the largest and smallest eigenvalue of ``∇²ₓₓh(x, θ)`` by power iteration (the smallest
    on ``L·I - H``): the largest from below, the smallest from above, so a declared L below the first or a
    declared μ above the second is wrong."""
    def power(apply) -> float:  # noqa: ANN001
        v = torch.randn(x.shape, generator=gen, dtype=x.dtype).to(x)
        v = v / torch.linalg.vector_norm(v)
        value = 0.0
        for _ in range(steps):
            w = apply(v)
            value = float((v * w).sum())
            n = torch.linalg.vector_norm(w)
            if float(n) == 0.0:
                break
            v = w / n
        return value

    top = power(lambda v: oracle.hvp(x, theta, v))
    shift = max(lip, top)
    return top, shift - power(lambda v: shift * v - oracle.hvp(x, theta, v))


__all__ = ["check_bilevel_problem"]
