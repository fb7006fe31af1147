"""Noise-search problems (the noise family): a frozen generator's input noise, searched for a reward."""

from problems.noise.diffusion import DiffusionNoise  # imports diffusers / transformers only when first used
from problems.noise.digits import DigitsNoise

__all__ = ["DiffusionNoise", "DigitsNoise"]
