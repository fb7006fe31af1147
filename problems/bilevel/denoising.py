"""Total-variation denoising with a learned regularization weight and smoothing (the bilevel family).

Grayscale images shipped with scikit-image, resized to 128 x 128 and center-cropped to ``size``, in [0, 1];
noisy copies ``y = x_clean + σ ε`` (σ = 0.1, ε drawn from the cell's seed: :meth:`TVDenoising.bind`). With
θ = (log α, log ν), as in MAID's experiments::

    h(x, θ) = Σ_images ½‖x - y‖² + ½ α TV_ν(x),    TV_ν(x) = Σ_pixels sqrt(d₁x² + ν²) + sqrt(d₂x² + ν²)
    g(x)    = Σ_images ½‖x - x_clean‖² / n_images

with forward differences ``d₁, d₂`` along the two axes (the smoothing per direction, as the reference code
has it). ``h`` is 1-strongly convex and ``L(θ) = 1 + 4 α / ν`` smooth (``‖dᵢ‖² <= 4``; the smoothed absolute
value's second derivative is at most ``1/ν``); ``L_g = 1 / n_images``. (The reference code divides ``h`` by
the number of images too and keeps μ = 1, which certifies n_images times less than it says; here ``h`` is a
sum, so μ = 1 holds.) The test metric is the mean PSNR of the denoised images. θ₀ = (-5, -5).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from workbench.errors import InvalidProblemError
from workbench.families.bilevel.problem import BilevelProblem, check_bilevel
from workbench.problem import catalog
from workbench.space import Real, Space

#: scikit-image's bundled grayscale-able images, in the order ``images=n`` takes them
IMAGES = ("camera", "coins", "moon", "astronaut", "text", "page", "brick", "grass", "gravel", "clock")


def load_image(name: str, size: int) -> np.ndarray:
    """A bundled image as float64 in [0, 1]: gray, resized to 128 x 128 (anti-aliased), center ``size`` crop."""
    from skimage import data, transform
    from skimage.color import rgb2gray

    img = getattr(data, name)()
    if img.ndim == 3:
        img = rgb2gray(img[..., :3])
    img = np.asarray(img, dtype=np.float64)
    if img.max() > 1.0:
        img = img / 255.0
    side = max(128, size)
    img = transform.resize(img, (side, side), anti_aliasing=True)
    top = (side - size) // 2
    return np.ascontiguousarray(img[top : top + size, top : top + size])


def gradient(x: Tensor) -> tuple[Tensor, Tensor]:
    """Forward differences of a batch of images (``... x H x W``) along rows and columns."""
    return x[..., 1:, :] - x[..., :-1, :], x[..., :, 1:] - x[..., :, :-1]


def smoothed_tv(x: Tensor, nu: Tensor) -> Tensor:
    """``Σ sqrt(d₁x² + ν²) + sqrt(d₂x² + ν²)`` over every difference of every image."""
    d1, d2 = gradient(x)
    return torch.sqrt(d1 * d1 + nu * nu).sum() + torch.sqrt(d2 * d2 + nu * nu).sum()


def psnr(x: Tensor, clean: Tensor) -> Tensor:
    """Peak signal-to-noise ratio (dB) per image, peak 1."""
    mse = ((x.clamp(0, 1) - clean) ** 2).flatten(-2).mean(-1)
    return 10 * torch.log10(1.0 / mse)


@catalog.register("tv-denoising")
class TVDenoising(BilevelProblem):
    """Total-variation denoising of scikit-image's images: learn the TV weight and smoothing (θ = logs)."""

    lower_tol = 1e-3
    score_tol = 1e-6

    def __init__(self, *, size: int = 64, images: int | Sequence[str] = 1, sigma: float = 0.1,
                 theta0: Sequence[float] = (-5.0, -5.0), name: str | None = None) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 512:
            raise InvalidProblemError(f"TVDenoising.size must be an int in [8, 512], but got {size!r}")
        if isinstance(images, int) and not isinstance(images, bool):
            if not 1 <= images <= len(IMAGES):
                raise InvalidProblemError(f"TVDenoising.images must be between 1 and {len(IMAGES)}, but got {images}")
            names = IMAGES[:images]
        else:
            names = tuple(images)
            unknown = [n for n in names if n not in IMAGES]
            if not names or unknown:
                raise InvalidProblemError(f"TVDenoising.images must name images of {IMAGES}, but got {images!r}")
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not (math.isfinite(sigma) and sigma > 0):
            raise InvalidProblemError(f"TVDenoising.sigma must be a finite number > 0, but got {sigma!r}")
        self.size, self.image_names, self.sigma = size, names, float(sigma)
        self.name = name or "tv-denoising"
        self.space = Space(Real("log_alpha", -12.0, 2.0), Real("log_nu", -12.0, 2.0))
        self.theta0 = tuple(float(v) for v in theta0)
        self.params = {"size": size, "images": list(names), "sigma": self.sigma, "theta0": list(self.theta0)}
        self.clean = torch.tensor(np.stack([load_image(n, size) for n in names]), dtype=torch.float64)
        self.noisy = self._noisy(0)  # the cell's seed draws its own (bind)
        check_bilevel(self, f"problem {self.name!r}")

    def _noisy(self, seed: int) -> Tensor:
        g = torch.Generator().manual_seed(1_000_003 * seed + 17)
        return self.clean + self.sigma * torch.randn(self.clean.shape, generator=g, dtype=torch.float64)

    def bind(self, seed: int) -> TVDenoising:
        """The problem with its noise drawn from the cell's seed."""
        bound = copy.copy(self)
        bound.noisy = self._noisy(seed).to(self.clean.device)
        return bound

    def x0(self) -> Tensor:
        return self.noisy.clone()

    def lower(self, x: Tensor, theta: Tensor) -> Tensor:
        alpha, nu = torch.exp(theta[0]), torch.exp(theta[1])
        return 0.5 * ((x - self.noisy) ** 2).sum() + 0.5 * alpha * smoothed_tv(x, nu)

    def upper(self, x: Tensor) -> Tensor:
        return 0.5 * ((x - self.clean) ** 2).sum() / len(self.clean)

    def mu(self, theta: Tensor) -> float:
        return 1.0

    def smoothness(self, theta: Tensor) -> float:
        return 1.0 + 4.0 * math.exp(float(theta[0])) / math.exp(float(theta[1]))

    def upper_smoothness(self) -> float:
        return 1.0 / len(self.clean)

    def hyperparameters(self, theta: Tensor) -> dict[str, float]:
        return {"alpha": math.exp(float(theta[0])), "nu": math.exp(float(theta[1]))}

    def report(self, x: Tensor, theta: Tensor) -> dict[str, float]:
        return {"psnr": float(psnr(x, self.clean).mean()), "noisy_psnr": float(psnr(self.noisy, self.clean).mean())}


__all__ = ["IMAGES", "TVDenoising", "gradient", "load_image", "psnr", "smoothed_tv"]
