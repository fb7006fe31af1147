"""The Brownian bridge of ROOT (after BBDM, Li et al. 2023): a network that translates a design ``x_low``
into a design ``x_high``, conditioned on their scores, with classifier-free guidance.

Forward process, ``t = 0 .. T-1`` with ``m_t`` linear from 0.001 to 0.999 and
``var_t = 2 * max_var * (m_t - m_t^2)``::

    x_t = (1 - m_t) x_high + m_t x_low + sqrt(var_t) * noise

The network ``f(x_t, t, y_high, y_low)`` predicts ``m_t (x_low - x_high) + sqrt(var_t) noise`` (BBDM's
"grad" objective) under an L1 loss; with probability ``cfg_prob`` both scores are replaced by 0 (the
unconditional model). Sampling starts at ``x_low`` and walks ``sample_steps`` steps of the skipped
schedule down to ``t = 0`` with stochasticity ``eta``; the guided prediction is
``(1 + w) f(x, t, c) - w f(x, t, 0, 0)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from workbench.validation import check_choice, check_int, check_number, check_positive

CONDITIONS = ("reference", "ordered")


@dataclass(frozen=True, kw_only=True)
class BridgeConfig:
    """The bridge network and its training and sampling (ROOT's TFBind8 configuration unless noted)."""

    #: width of the 3 hidden swish layers (the paper: 1024); None: the ROOT scale's width
    hidden: int | None = None
    #: diffusion steps
    timesteps: int = 1000
    #: steps of the skipped sampling schedule
    sample_steps: int = 200
    #: stochasticity of sampling (0 is deterministic)
    eta: float = 0.2
    #: the bridge's largest variance scale
    max_var: float = 1.0
    #: Adam's learning rate, halved when the loss plateaus (patience and cooldown 200 steps)
    lr: float = 1e-3
    #: pairs per step (the paper: 64 with 2 accumulated batches)
    batch_size: int = 128
    #: probability of dropping the scores during training (classifier-free guidance)
    cfg_prob: float = 0.15
    #: guidance weight ``w`` (the paper: -1.5, with the reference's ``condition``)
    guidance: float = -1.5
    #: "reference": sample as ROOT's code does, which passes (low score, target) into the network's
    #: (y_high, y_low) inputs; "ordered": pass (target, low score), the order of training
    condition: str = "reference"
    #: exponential moving average of the weights (used for sampling)
    ema_decay: float = 0.995
    #: the EMA starts after this share of the training steps (the paper: 4000 of ~11,500 batches)
    ema_start: float = 0.35
    #: optimizer steps between EMA updates
    ema_every: int = 8

    def __post_init__(self) -> None:
        if self.hidden is not None:
            check_int(self, "hidden", self.hidden, 1)
        for f in ("timesteps", "batch_size", "ema_every"):
            check_int(self, f, getattr(self, f), 1)
        check_int(self, "sample_steps", self.sample_steps, 3)
        for f in ("max_var", "lr"):
            check_positive(self, f, getattr(self, f))
        for f in ("eta", "cfg_prob", "ema_decay", "ema_start"):
            check_number(self, f, getattr(self, f), low=0, high=1)
        check_choice(self, "condition", self.condition, CONDITIONS)
        if self.sample_steps > self.timesteps:
            raise ValueError(f"BridgeConfig: sample_steps <= timesteps must hold, but got "
                             f"(sample_steps={self.sample_steps}, timesteps={self.timesteps})")


class Bridge:
    """A trained (or training) bridge on ``dim``-dimensional designs."""

    def __init__(self, config: BridgeConfig, dim: int, generator: torch.Generator, device: torch.device) -> None:
        if config.hidden is None:
            raise ValueError("Bridge: config.hidden must be set (ROOT.at resolves it from the scale)")
        self.config = config
        self.dim = dim
        self.device = device
        widths = (dim + 3, *(config.hidden,) * 3, dim)
        #: per layer a weight (``a x b``, ROOT's initialization N(0, 0.02)) and a bias (torch's default)
        self.params: list[Tensor] = []
        for a, b in zip(widths[:-1], widths[1:]):
            W = 0.02 * torch.randn(a, b, generator=generator)
            c = (torch.rand(b, generator=generator) * 2 - 1) / math.sqrt(a)
            self.params += [W.to(device).requires_grad_(), c.to(device).requires_grad_()]
        T = config.timesteps
        m = torch.linspace(0.001, 0.999, T, dtype=torch.float64)
        self.m = m.to(device, torch.float32)
        self.var = (2.0 * config.max_var * (m - m**2)).to(device, torch.float32)
        mid = torch.arange(T - 1, 1, -((T - 1) / (config.sample_steps - 2))).long()
        self.schedule = torch.cat([mid, torch.tensor([1, 0])]).tolist()
        self.ema: list[Tensor] | None = None

    def predict(self, x: Tensor, t: Tensor, y_high: Tensor, y_low: Tensor,
                params: list[Tensor] | None = None) -> Tensor:
        """The network's output (``N x dim``) at ``x_t`` (``N x dim``), steps ``t`` and scores (``N`` each)."""
        params = self.params if params is None else params
        h = torch.cat([x, (t.float() / self.config.timesteps)[:, None], y_high[:, None], y_low[:, None]], dim=1)
        for i in range(0, len(params), 2):
            h = torch.addmm(params[i + 1], h, params[i])
            if i + 2 < len(params):
                h = torch.nn.functional.silu(h)
        return h

    def loss(self, x_high: Tensor, y_high: Tensor, x_low: Tensor, y_low: Tensor, generator: torch.Generator) -> Tensor:
        """The L1 loss of one batch of pairs (``B x dim`` designs, ``B`` scores)."""
        B = x_high.shape[0]
        t = torch.randint(0, self.config.timesteps, (B,), generator=generator).to(self.device)
        noise = torch.randn(B, self.dim, generator=generator).to(self.device)
        drop = (torch.rand(B, generator=generator) <= self.config.cfg_prob).to(self.device)
        y_high = torch.where(drop, torch.zeros_like(y_high), y_high)
        y_low = torch.where(drop, torch.zeros_like(y_low), y_low)
        m, s = self.m[t][:, None], self.var[t].sqrt()[:, None]
        x_t = (1 - m) * x_high + m * x_low + s * noise
        target = m * (x_low - x_high) + s * noise
        return (self.predict(x_t, t, y_high, y_low) - target).abs().mean()

    def update_ema(self) -> None:
        with torch.no_grad():
            if self.ema is None:
                self.ema = [p.detach().clone() for p in self.params]
            else:
                d = self.config.ema_decay
                for e, p in zip(self.ema, self.params):
                    e.mul_(d).add_(p.detach(), alpha=1 - d)

    @torch.no_grad()
    def sample(self, x_low: Tensor, y_low: Tensor, target: Tensor, generator: torch.Generator) -> Tensor:
        """Translate ``x_low`` (``N x dim``, scores ``y_low``) towards designs of score ``target``."""
        c = self.config
        params = self.ema if self.ema is not None else [p.detach() for p in self.params]
        c_high, c_low = (y_low, target) if c.condition == "reference" else (target, y_low)
        zeros = torch.zeros_like(y_low)
        N, w = x_low.shape[0], c.guidance
        x = x_low
        for i, step in enumerate(self.schedule):
            t = torch.full((N,), step, device=self.device, dtype=torch.long)
            obj = (1 + w) * self.predict(x, t, c_high, c_low, params) - w * self.predict(x, t, zeros, zeros, params)
            x0 = x - obj
            if step == 0:
                return x0
            nt = self.schedule[i + 1]
            m_t, m_nt, var_t, var_nt = self.m[step], self.m[nt], self.var[step], self.var[nt]
            sigma2 = (var_t - var_nt * (1 - m_t) ** 2 / (1 - m_nt) ** 2) * var_nt / var_t
            mean = (1 - m_nt) * x0 + m_nt * x_low + torch.sqrt((var_nt - sigma2) / var_t) * (
                x - (1 - m_t) * x0 - m_t * x_low)
            noise = torch.randn(N, self.dim, generator=generator).to(self.device)
            x = mean + torch.sqrt(sigma2.clamp_min(0)) * c.eta * noise
        return x
