"""Kernels of the workbench's own surrogates (GPyTorch kernels and the closed forms behind them)."""
