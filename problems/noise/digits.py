"""``digits-noise``: a conditional VAE's decoder on scikit-learn's digits, its latent noise searched for a
classifier's log-probability of a requested class (the noise-search family).

Three small networks, trained at first use on the bundled 8 x 8 digits (1,797 images, pixel values / 16),
deterministic by ``model_seed``, and cached under ``$XDG_CACHE_HOME/workbench/digits-noise/`` (``~/.cache``
by default); each trains in seconds on two CPU cores:

* the **generator**: the decoder of a conditional VAE (``[ε, onehot(a)] -> 256 -> 256 -> 64``, sigmoid),
  trained on all the images with a standard-normal prior on ε of dimension ``latent`` (16 by default);
* the **reward classifier**: an MLP (64 -> 128 -> 10), trained on one half of the images (a seeded split);
* the **judge** (held out): a small convolutional network (two 3 x 3 convolutions, 16 and 32 channels, a
  2 x 2 max-pool, a linear layer), trained on the other half: another architecture on other images;
* **realism** (held out, recorded beside the judge, weight 0 in its sum): the log-density per pixel of the
  image under a probabilistic PCA of the real digits (16 components) — classifiers are confident on images
  that look like no digit at all; this is not.

A condition is a class ``a`` (generate a, rewarded for a) or an edit ``(a, b)``: generate with the
decoder conditioned on ``a``, rewarded by the classifier's log-probability of ``b`` ("make an a look like a
b"). The reward is ``log p_mlp(b | x)``, plus, when ``smoothness > 0``, that weight times minus the mean
squared difference of neighbouring pixels; the held-out rewards are the judge's ``log p_cnn(b | x)`` and the
image's realism.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from workbench.errors import InvalidProblemError
from workbench.families.noise.problem import NoiseProblem, Reward
from workbench.problem import catalog

log = logging.getLogger("workbench")
RECIPE = 1  # bump when the networks or their training change: the cache key holds it


def _digits() -> tuple[Tensor, Tensor]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return (torch.tensor(data.data, dtype=torch.float32) / 16.0, torch.tensor(data.target, dtype=torch.long))


class Decoder(nn.Module):
    def __init__(self, latent: int) -> None:
        super().__init__()
        self.latent = latent
        self.net = nn.Sequential(nn.Linear(latent + 10, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                                 nn.Linear(256, 64))

    def forward(self, z: Tensor, label: Tensor) -> Tensor:
        onehot = nn.functional.one_hot(label, 10).to(z.dtype)
        return torch.sigmoid(self.net(torch.cat([z, onehot], dim=1))).reshape(-1, 1, 8, 8)


class Encoder(nn.Module):
    def __init__(self, latent: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64 + 10, 256), nn.ReLU(), nn.Linear(256, 2 * latent))

    def forward(self, x: Tensor, label: Tensor) -> tuple[Tensor, Tensor]:
        onehot = nn.functional.one_hot(label, 10).to(x.dtype)
        mu, logvar = self.net(torch.cat([x.reshape(-1, 64), onehot], dim=1)).chunk(2, dim=1)
        return mu, logvar.clamp(-10, 5)


def mlp_classifier() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn_classifier() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 4 * 4, 10))


def _batches(n: int, size: int, g: torch.Generator):
    order = torch.randperm(n, generator=g)
    for i in range(0, n, size):
        yield order[i : i + size]


def _train_vae(X: Tensor, y: Tensor, latent: int, g: torch.Generator, epochs: int = 150) -> Decoder:
    enc, dec = Encoder(latent), Decoder(latent)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-3)
    for _ in range(epochs):
        for idx in _batches(len(X), 64, g):
            x, lab = X[idx].reshape(-1, 1, 8, 8), y[idx]
            mu, logvar = enc(x, lab)
            z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g)
            recon = nn.functional.binary_cross_entropy(dec(z, lab), x, reduction="sum")
            kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp())
            opt.zero_grad()
            ((recon + kl) / len(idx)).backward()
            opt.step()
    return dec.eval()


def _train_classifier(net: nn.Module, X: Tensor, y: Tensor, g: torch.Generator, epochs: int) -> nn.Module:
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    for _ in range(epochs):
        for idx in _batches(len(X), 64, g):
            loss = nn.functional.cross_entropy(net(X[idx].reshape(-1, 1, 8, 8)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def _cache_file(key: str) -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "workbench" / "digits-noise" / f"{key}.pt"


@lru_cache(maxsize=8)
def networks(latent: int, model_seed: int) -> dict[str, Any]:
    """The decoder, the reward MLP and the judge CNN for ``latent`` and ``model_seed`` (trained once, cached
    on disk and in the process), with their accuracies on the half they did not see."""
    key = hashlib.sha256(json.dumps([RECIPE, latent, model_seed, torch.__version__.split("+")[0]]).encode()).hexdigest()[:16]
    path = _cache_file(key)
    nets = {"decoder": Decoder(latent), "reward": mlp_classifier(), "judge": cnn_classifier()}
    if path.exists():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            for name, net in nets.items():
                net.load_state_dict(saved[name])
                net.eval().requires_grad_(False)
            return {**nets, "accuracy": saved["accuracy"]}
        except Exception as e:  # a damaged cache file: train again
            log.warning("digits-noise: cache %s unreadable (%s); training again", path, e)
    log.info("digits-noise: training its networks (latent %d, model seed %d)", latent, model_seed)
    X, y = _digits()
    with torch.random.fork_rng():
        torch.manual_seed(model_seed)
        g = torch.Generator().manual_seed(model_seed)
        half = torch.randperm(len(X), generator=g)
        a, b = half[: len(X) // 2], half[len(X) // 2 :]
        nets["decoder"] = _train_vae(X, y, latent, g)
        nets["reward"] = _train_classifier(mlp_classifier(), X[a], y[a], g, epochs=60)
        nets["judge"] = _train_classifier(cnn_classifier(), X[b], y[b], g, epochs=40)
    with torch.no_grad():
        accuracy = {"reward": float((nets["reward"](X[b].reshape(-1, 1, 8, 8)).argmax(1) == y[b]).float().mean()),
                    "judge": float((nets["judge"](X[a].reshape(-1, 1, 8, 8)).argmax(1) == y[a]).float().mean())}
    for net in nets.values():
        net.eval().requires_grad_(False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        torch.save({**{k: v.state_dict() for k, v in nets.items()}, "accuracy": accuracy}, tmp)
        tmp.replace(path)
    except OSError as e:  # a cache only
        log.warning("digits-noise: could not cache the networks at %s (%s)", path, e)
    return {**nets, "accuracy": accuracy}


@lru_cache(maxsize=1)
def _density() -> tuple[Tensor, Tensor, Tensor, float]:
    """A probabilistic PCA of the real digits (16 components; Tipping & Bishop's closed form): the mean, the
    components scaled by √(λᵢ - σ²), the eigenvalues, and the residual variance σ²."""
    X, _ = _digits()
    mean = X.mean(0)
    cov = torch.cov((X - mean).T.double())
    values, vectors = torch.linalg.eigh(cov)
    values, vectors = values.flip(0).clamp_min(1e-6), vectors.flip(1)
    k = 16
    sigma2 = float(values[k:].mean())
    return mean.double(), vectors[:, :k], values[:k], sigma2


def _realism(images: Tensor, problem: DigitsNoise) -> Tensor:
    """Log-density per pixel of the images under a probabilistic PCA of the real digits: how much an image
    looks like a digit at all (saturated strokes and blobs score low), whatever its class."""
    mean, vectors, values, sigma2 = _density()
    x = images.reshape(images.shape[0], -1).to(torch.float64) - mean.to(images.device)
    proj = x @ vectors.to(images.device)
    inside = (proj**2 / values.to(images.device)).sum(1)
    outside = ((x**2).sum(1) - (proj**2).sum(1)) / sigma2
    logdet = torch.log(values).sum() + (x.shape[1] - len(values)) * math.log(sigma2)
    return (-0.5 * (inside + outside + logdet.to(images.device) + x.shape[1] * math.log(2 * math.pi)) / x.shape[1]).to(images.dtype)


@lru_cache(maxsize=8)
def networks_on(latent: int, model_seed: int, device: str) -> dict[str, Any]:
    """:func:`networks`, moved to ``device`` (copies; the CPU ones are the cached originals)."""
    nets = networks(latent, model_seed)
    if torch.device(device).type == "cpu":
        return nets
    return {k: (copy.deepcopy(v).to(device) if isinstance(v, nn.Module) else v) for k, v in nets.items()}


def _log_prob(net_name: str):
    def reward(images: Tensor, problem: DigitsNoise) -> Tensor:
        logits = problem.nets[net_name](images)
        return torch.log_softmax(logits, dim=1)[:, problem.target]

    reward.__name__ = f"log_p_{net_name}"
    return reward


def _smooth(images: Tensor, problem: DigitsNoise) -> Tensor:
    dx = images[..., :, 1:] - images[..., :, :-1]
    dy = images[..., 1:, :] - images[..., :-1, :]
    return -(dx.pow(2).mean(dim=(1, 2, 3)) + dy.pow(2).mean(dim=(1, 2, 3))) / 2


def _label(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise InvalidProblemError(f"DigitsNoise.{field} must be a digit class 0-9, but got {value!r}")
    return value


@catalog.register("digits-noise")
class DigitsNoise(NoiseProblem):
    """A conditional VAE decoder's latent noise, searched for an MLP's log-probability of a class."""

    def __init__(self, *, condition: int | tuple[int, int] = 0, latent: int = 16, smoothness: float = 0.0,
                 model_seed: int = 0, box: float | None = None, name: str | None = None) -> None:
        if isinstance(condition, (tuple, list)):
            if len(condition) != 2:
                raise InvalidProblemError(f"DigitsNoise.condition must be a class or a pair (a, b), but got {condition!r}")
            source, target = _label(condition[0], "condition[0]"), _label(condition[1], "condition[1]")
        else:
            source = target = _label(condition, "condition")
        if isinstance(latent, bool) or not isinstance(latent, int) or not 2 <= latent <= 256:
            raise InvalidProblemError(f"DigitsNoise.latent must be an int in [2, 256], but got {latent!r}")
        if (isinstance(smoothness, bool) or not isinstance(smoothness, (int, float))
                or not (math.isfinite(smoothness) and smoothness >= 0)):
            raise InvalidProblemError(f"DigitsNoise.smoothness must be a finite number >= 0, but got {smoothness!r}")
        if isinstance(model_seed, bool) or not isinstance(model_seed, int) or model_seed < 0:
            raise InvalidProblemError(f"DigitsNoise.model_seed must be an int >= 0, but got {model_seed!r}")
        self.source, self.target = source, target
        self.condition = (source, target) if source != target else source
        self.latent, self.smoothness, self.model_seed = latent, float(smoothness), model_seed
        self.shape = (latent,)
        edit = f"{source}to{target}" if source != target else f"{source}"
        self.box = box
        self.name = name or (f"digits-noise-{edit}" + (f"-z{latent}" if latent != 16 else "")
                             + (f"-box{box:g}" if box is not None else ""))
        self.params = {"condition": list(self.condition) if source != target else source, "latent": latent,
                       "smoothness": self.smoothness, "model_seed": model_seed, "box": box}
        rewards = [Reward("classifier", _log_prob("reward"))]
        if self.smoothness > 0:
            rewards.append(Reward("smooth", _smooth, self.smoothness))
        self.rewards = tuple(rewards)
        # the judge (the CNN's log-probability) is the held-out sum; realism is recorded beside it (weight 0)
        self.held_out = (Reward("judge", _log_prob("judge")), Reward("realism", _realism, 0.0))
        self.declare()

    @property
    def label(self) -> str:
        return f"{self.source} → {self.target}" if self.source != self.target else str(self.source)

    @property
    def nets(self) -> dict[str, Any]:
        return networks_on(self.latent, self.model_seed, str(getattr(self, "_device", "cpu")))

    def to(self, device: torch.device | str) -> DigitsNoise:
        """The problem with its networks on ``device`` (a copy; itself on the CPU)."""
        device = torch.device(device)
        if device.type == "cpu":
            return self
        out = copy.copy(self)
        out._device = device
        return out

    def noise_shape(self) -> tuple[int, ...]:
        return (self.latent,)  # the decoder is built for this latent (declaring trains nothing)

    def generate(self, eps: Tensor) -> Tensor:
        labels = torch.full((eps.shape[0],), self.source, dtype=torch.long, device=eps.device)
        return self.nets["decoder"](eps.reshape(eps.shape[0], -1).float(), labels)


__all__ = ["DigitsNoise", "networks", "networks_on"]
