"""One small class per BoTorch synthetic test function."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from botorch.test_functions import synthetic as bt
from torch import Tensor

from workbench.errors import InvalidProblemError
from workbench.problem import Problem, catalog, validate_problem
from workbench.space import Categorical, Integer, Real, Space


class BotorchProblem(Problem):
    """A problem backed by a ``botorch.test_functions.SyntheticTestFunction`` (noise-free values;
    wrap it in :class:`workbench.Noisy` for noise). Subclasses set ``function`` and, when the
    function has a free dimension, ``default_dim``."""

    function: ClassVar[type[bt.SyntheticTestFunction]]
    #: None for functions of fixed dimension
    default_dim: ClassVar[int | None] = None
    #: the smallest dimension the function accepts
    min_dim: ClassVar[int] = 1
    #: the problem's name (with the dimension appended for functions of free dimension)
    base_name: ClassVar[str] = ""

    def __init__(self, dim: int | None = None, **options: Any) -> None:
        label = type(self).__name__
        base = self.base_name or label.lower()
        if self.default_dim is None:
            if dim is not None:
                raise InvalidProblemError(f"{label} has a fixed dimension; dim must not be given, but got dim={dim!r}")
            kwargs: dict[str, Any] = dict(options)
            self.name = base
        else:
            dim = self.default_dim if dim is None else dim
            if isinstance(dim, bool) or not isinstance(dim, int) or dim < self.min_dim:
                raise InvalidProblemError(f"{label}.dim must be an int >= {self.min_dim}, but got dim={dim!r}")
            kwargs = {"dim": dim, **options}
            self.name = f"{base}{dim}"
        try:
            self._function = self.function(**kwargs)
        except (ValueError, NotImplementedError, TypeError) as e:
            raise InvalidProblemError(f"{label}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}): {e}") from e
        self.params = kwargs
        f = self._function
        self.direction = "minimize" if getattr(f, "_is_minimization_by_default", True) else "maximize"
        self.space = _space_of(f)
        optimum = getattr(f, "_optimal_value", None)
        self.optimum = None if optimum is None else float(optimum)
        optimizers = getattr(f, "_optimizers", None) or []
        self.optimizers = tuple(self.space.decode(torch.tensor([list(o) for o in optimizers], dtype=torch.float64)))
        validate_problem(self, f"problem {self.name!r}")

    def evaluate(self, X: Tensor) -> Tensor:
        """``n x dim`` native rows -> ``n`` noise-free values."""
        f = self._function
        if f.bounds.device != X.device or f.bounds.dtype != X.dtype:
            self._function = f = f.to(device=X.device, dtype=X.dtype)
        return f.evaluate_true(X)


def _space_of(f: bt.SyntheticTestFunction) -> Space:
    low, high = f.bounds.tolist()
    discrete = set(getattr(f, "discrete_inds", []) or [])
    categorical = set(getattr(f, "categorical_inds", []) or [])
    params = []
    for i, (lo, hi) in enumerate(zip(low, high)):
        if i in categorical:
            params.append(Categorical(f"x{i}", tuple(range(int(lo), int(hi) + 1))))
        elif i in discrete:
            params.append(Integer(f"x{i}", int(lo), int(hi)))
        else:
            params.append(Real(f"x{i}", float(lo), float(hi)))
    return Space(*params)


def _fixed(name: str, function: type[bt.SyntheticTestFunction], doc: str) -> type[BotorchProblem]:
    cls = type(function.__name__, (BotorchProblem,), {"function": function, "base_name": name, "__doc__": doc,
                                                         "__module__": __name__})
    return catalog.register(name)(cls)


def _free(name: str, function: type[bt.SyntheticTestFunction], default_dim: int, doc: str, min_dim: int = 1):
    cls = type(
        function.__name__,
        (BotorchProblem,),
        {"function": function, "default_dim": default_dim, "min_dim": min_dim, "base_name": name, "__doc__": doc,
         "__module__": __name__},
    )
    return catalog.register(name)(cls)


Ackley = _free("ackley", bt.Ackley, 2, "Ackley: many local minima around one global minimum 0 at the origin.")
AckleyMixed = _free(
    "ackley-mixed", bt.AckleyMixed, 53, "Ackley over binary and continuous variables (last 3 continuous).", 4
)
Beale = _fixed("beale", bt.Beale, "Beale, 2-D: a sharp valley; minimum 0 at (3, 0.5).")
Branin = _fixed("branin", bt.Branin, "Branin-Hoo, 2-D: three global minima of 0.397887.")
Bukin = _fixed("bukin", bt.Bukin, "Bukin N.6, 2-D: a narrow curved ridge; minimum 0 at (-10, 1).")
Cosine8 = _fixed("cosine8", bt.Cosine8, "Cosine mixture, 8-D, to maximize: maximum 0.8 at the origin.")
DixonPrice = _free("dixonprice", bt.DixonPrice, 2, "Dixon-Price: a valley; minimum 0.")
DropWave = _fixed("dropwave", bt.DropWave, "Drop-Wave, 2-D: concentric ripples; minimum -1 at the origin.")
EggHolder = _fixed("eggholder", bt.EggHolder, "Eggholder, 2-D: rugged; minimum -959.6407.")
Griewank = _free("griewank", bt.Griewank, 2, "Griewank: a product of cosines on a bowl; minimum 0 at the origin.")
Hartmann = _free("hartmann", bt.Hartmann, 6, "Hartmann (3, 4 or 6-D): four local minima; optimum -3.32237 in 6-D.", 3)
HolderTable = _fixed("holdertable", bt.HolderTable, "Holder table, 2-D: four global minima of -19.2085.")
Labs = _free("labs", bt.Labs, 30, "Low-autocorrelation binary sequences (merit factor), to maximize.", 2)
Levy = _free("levy", bt.Levy, 2, "Levy: many local minima; minimum 0 at (1, ..., 1).")
Michalewicz = _free("michalewicz", bt.Michalewicz, 2, "Michalewicz: steep ridges; optimum known in 2, 5, 10-D.")
Powell = _free("powell", bt.Powell, 4, "Powell (dim a multiple of 4): minimum 0 at the origin.", 4)
Rastrigin = _free("rastrigin", bt.Rastrigin, 2, "Rastrigin: a regular grid of local minima; minimum 0 at the origin.")
Rosenbrock = _free("rosenbrock", bt.Rosenbrock, 2, "Rosenbrock: a curved valley; minimum 0 at (1, ..., 1).", 2)
SixHumpCamel = _fixed("sixhumpcamel", bt.SixHumpCamel, "Six-hump camel, 2-D: two global minima of -1.0316.")
StyblinskiTang = _free("styblinskitang", bt.StyblinskiTang, 2, "Styblinski-Tang: minimum -39.166 * dim.")
ThreeHumpCamel = _fixed("threehumpcamel", bt.ThreeHumpCamel, "Three-hump camel, 2-D: minimum 0 at the origin.")
TrajectoryPlanning = _free(
    "trajectoryplanning", bt.TrajectoryPlanning, 30, "Trajectory planning through obstacles (dim even).", 4
)


@catalog.register("shekel")
class Shekel(BotorchProblem):
    """Shekel, 4-D, with ``m`` in (5, 7, 10) minima; optimum -10.5364 for m = 10."""

    function = bt.Shekel

    def __init__(self, m: int = 10) -> None:
        if m not in (5, 7, 10):
            raise InvalidProblemError(f"Shekel.m must be 5, 7 or 10, but got m={m!r}")
        super().__init__(m=m)
        self.name = f"shekel{m}"
