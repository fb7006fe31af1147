"""Seconds per step of ROOT's GP-mean gradient walk at Ehrlich-128's size (3,968 features, 1,000 fitted rows,
2,048 designs; one thread): the plain gradient step against the walk in the span of the fitted rows.
python scripts/root_walk_timing.py"""

import time

import torch

from workbench.solvers.offline import PosteriorMean

if __name__ == "__main__":
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(1000, 3968, generator=g), torch.randn(1000, generator=g)
    gp = PosteriorMean(X, y, noise=0.01)
    gp.set(6.25, 6.25)
    Q = X[torch.arange(2048) % 1000] + 0.1 * torch.randn(2048, 3968, generator=g)
    step = torch.full((2048,), 0.05)
    step[:1024] = -0.05
    t = time.perf_counter()
    for _ in range(5):
        gp.value_and_grad(Q)
    plain = (time.perf_counter() - t) / 5
    times = []
    for steps in (5, 25):  # the difference leaves out the set-up (Gram matrix, start products)
        t = time.perf_counter()
        gp.walk(Q, step, steps)
        times.append(time.perf_counter() - t)
    span = (times[1] - times[0]) / 20
    print(f"plain step {plain:.3f} s, walk in the span {span:.3f} s a step (set-up {times[0] - 5 * span:.2f} s), "
          f"{plain / span:.1f}x")
