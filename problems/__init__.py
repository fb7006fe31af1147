"""The library of declared problems. Importing it registers every problem by name."""

from problems import offline, synthetic, training  # noqa: F401
