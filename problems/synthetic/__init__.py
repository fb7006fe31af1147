"""BoTorch's synthetic test functions as problems, with their known optima and optimizers.

Each class names its BoTorch function; functions with a free dimension take ``dim``. Problem names
carry the dimension (``Hartmann(dim=6).name == "hartmann6"``). The constrained functions of BoTorch
(``ConstrainedGramacy``, ``PressureVessel``, ...) are not here: the workbench has no constraints yet.
"""

from problems.synthetic.functions import (
    Ackley,
    AckleyMixed,
    Beale,
    BotorchProblem,
    Branin,
    Bukin,
    Cosine8,
    DixonPrice,
    DropWave,
    EggHolder,
    Griewank,
    Hartmann,
    HolderTable,
    Labs,
    Levy,
    Michalewicz,
    Powell,
    Rastrigin,
    Rosenbrock,
    Shekel,
    SixHumpCamel,
    StyblinskiTang,
    ThreeHumpCamel,
    TrajectoryPlanning,
)

__all__ = [
    "Ackley",
    "AckleyMixed",
    "Beale",
    "BotorchProblem",
    "Branin",
    "Bukin",
    "Cosine8",
    "DixonPrice",
    "DropWave",
    "EggHolder",
    "Griewank",
    "Hartmann",
    "HolderTable",
    "Labs",
    "Levy",
    "Michalewicz",
    "Powell",
    "Rastrigin",
    "Rosenbrock",
    "Shekel",
    "SixHumpCamel",
    "StyblinskiTang",
    "ThreeHumpCamel",
    "TrajectoryPlanning",
]
