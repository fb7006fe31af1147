"""``diffusion-noise``: the initial noise of a one-step text-to-image diffusion model (SD-Turbo and its kin),
searched for a CLIP model's image-text similarity to a prompt — ReNO's setting, in the noise family.

``generate(ε)`` is the one-step sampler, inlined with gradients (a pipeline's ``__call__`` runs under
``no_grad``): at the timestep ``t`` (999) with ``σ = √((1 - ᾱ_t) / ᾱ_t)``, the latent is ``σ ε`` (the
pipeline's ``init_noise_sigma`` under "trailing" spacing), the UNet sees ``σ ε / √(σ² + 1)``, ``x₀`` follows
from its epsilon or v prediction (the Euler step to σ = 0), and the VAE decodes ``x₀ / scaling_factor`` to
``[0, 1]``. The reward ``clip`` is the cosine of CLIP's image and prompt embeddings (weight 1); with
``held_out_model``, another CLIP model scores the held-out ``judge``.

To run it for real: ``pip install -e '.[diffusion]'``; a pipeline, as a local ``save_pretrained`` folder or a
Hugging Face name (``stabilityai/sd-turbo``; cached, or with network); a CLIP model the same way (ReNO's:
``laion/CLIP-ViT-H-14-laion2B-s32B-b79K``); a CUDA GPU (ReNO reports about 15 GB for SD-Turbo with four
reward models; one CLIP needs less). Declaring reads config files only (the noise shape); weights load at
first use. :func:`tiny_components` builds a tiny random pipeline and CLIP to try it on a CPU, offline.

As ReNO (Eyring et al., 2024): SD-Turbo's Euler step at t = 999, an fp16 generator on CUDA, CLIP's
preprocessing as tensor ops (bicubic resize of the short side, center crop, CLIP mean / std). Unlike it: one
CLIP reward of weight 1 (ReNO also sums HPSv2, ImageReward and PickScore; its CLIP term, 0.01 · 100 cos, is
this one), in fp32, as are the noise and the σ / x₀ arithmetic (ReNO: fp16 all but its regularizer); the
solver (:class:`~workbench.solvers.noise.ReNO`) owns the regularizer and the step; the prompt is encoded once
per device, not every iteration; SDXL-style pipelines (added time ids) are not supported.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from workbench.errors import InvalidProblemError
from workbench.families.noise.problem import NoiseProblem, Reward
from workbench.problem import catalog

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@contextmanager
def _quiet() -> Iterator[None]:
    """transformers and diffusers at error verbosity, without progress bars, in the block only."""
    from transformers.utils import logging as tlog

    saved = [(tlog, tlog.get_verbosity(), tlog.is_progress_bar_enabled())]
    tlog.set_verbosity_error()  # before diffusers imports transformers' image processors (the torchvision notice)
    from diffusers.utils import logging as dlog

    saved.append((dlog, dlog.get_verbosity(), dlog.is_progress_bar_enabled()))
    for log, _, _ in saved:
        log.set_verbosity_error()
        log.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        for log, verbosity, bar in saved:
            log.set_verbosity(verbosity)
            if bar:
                log.enable_progress_bar()


def _config(source: str, file: str, field: str) -> dict[str, Any]:
    """``file`` (JSON) of a local folder, or of a Hugging Face repository: its cached copy, else downloaded
    unless ``HF_HUB_OFFLINE`` is set."""
    try:
        if Path(source).is_dir():
            path = Path(source) / file
        else:
            from huggingface_hub import hf_hub_download, try_to_load_from_cache

            path = try_to_load_from_cache(source, file)
            if not isinstance(path, str):
                offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
                path = hf_hub_download(source, file, local_files_only=offline)
        config = json.loads(Path(path).read_text())
    except Exception as e:
        hint = " (pip install -e '.[diffusion]')" if isinstance(e, ModuleNotFoundError) else ""
        raise InvalidProblemError(f"DiffusionNoise.{field} {source!r}: cannot read its {file} ({type(e).__name__}: "
                                  f"{e}{hint}); give a local folder or a Hugging Face name cached or reachable") from None
    if not isinstance(config, dict):
        raise InvalidProblemError(f"DiffusionNoise.{field} {source!r}: {file} is not a JSON object")
    return config


def _text(value: object, field: str, example: str | None = None) -> str:
    """A non-empty string; with ``example``, a model: a local folder (``~`` expanded) or a Hugging Face name."""
    if value is None and example:
        raise InvalidProblemError(f"DiffusionNoise.{field} must be given: a local folder or a Hugging Face name "
                                  f"(e.g. {example!r}; problems.noise.diffusion.tiny_components builds tiny ones)")
    value = os.fspath(value) if isinstance(value, os.PathLike) else value
    if not isinstance(value, str) or not value.strip():
        raise InvalidProblemError(f"DiffusionNoise.{field} must be a non-empty string, but got {value!r}")
    folder = Path(value).expanduser()
    return str(folder) if example and folder.is_dir() else value


def _side(value: object, default: int, factor: int, field: str) -> int:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < factor or value % factor):
        raise InvalidProblemError(f"DiffusionNoise.{field} must be None or a positive multiple of {factor} (the VAE's "
                                  f"downsampling), but got {value!r}")
    return default if value is None else value


def _score(role: str):
    def score(images: Tensor, problem: DiffusionNoise) -> Tensor:
        return problem.clip_similarity(role, images)

    score.__name__ = f"clip_{role}"
    return score


def _pooled(out: Any) -> Tensor:
    """The projected embedding (transformers 5 returns an output object holding it as ``pooler_output``)."""
    return (out if isinstance(out, Tensor) else out.pooler_output).float()


def clip_pixels(images: Tensor, size: int, mean: Tensor, std: Tensor) -> Tensor:
    """CLIP's preprocessing in tensor ops (differentiable): bicubic resize (antialiased) of the short side to
    ``size``, center crop ``size x size``, ``(x - mean) / std``."""
    h, w = images.shape[-2:]
    nh, nw = (size, int(size * w / h)) if h <= w else (int(size * h / w), size)
    x = F.interpolate(images, size=(nh, nw), mode="bicubic", align_corners=False, antialias=True)
    top, left = int(round((nh - size) / 2)), int(round((nw - size) / 2))
    x = x[..., top : top + size, left : left + size]
    return (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


@catalog.register("diffusion-noise")
class DiffusionNoise(NoiseProblem):
    """A one-step diffusion pipeline's initial noise, searched for CLIP's image-text similarity to a prompt."""

    def __init__(self, *, pipeline: str | None = None, prompt: str | None = None, reward_model: str | None = None,
                 height: int | None = None, width: int | None = None, dtype: str = "auto", timestep: int = 999,
                 held_out_model: str | None = None, name: str | None = None) -> None:
        self.pipeline = _text(pipeline, "pipeline", "stabilityai/sd-turbo")
        self.prompt = _text(prompt, "prompt")
        self.reward_model = _text(reward_model, "reward_model", "laion/CLIP-ViT-H-14-laion2B-s32B-b79K")
        self.held_out_model = (None if held_out_model is None
                               else _text(held_out_model, "held_out_model", "openai/clip-vit-large-patch14"))
        if dtype != "auto" and dtype not in DTYPES:
            raise InvalidProblemError(f"DiffusionNoise.dtype must be 'auto' or one of {sorted(DTYPES)}, but got {dtype!r}")
        self.dtype = dtype
        unet, vae = (_config(self.pipeline, f"{part}/config.json", "pipeline") for part in ("unet", "vae"))
        scheduler = _config(self.pipeline, "scheduler/scheduler_config.json", "pipeline")
        where = f"DiffusionNoise.pipeline {self.pipeline!r}"
        if unet.get("addition_embed_type") is not None:
            raise InvalidProblemError(f"{where}: its UNet takes added conditions ({unet['addition_embed_type']!r}, "
                                      f"SDXL-style); only SD-style pipelines are supported")
        self.prediction = scheduler.get("prediction_type", "epsilon")
        if self.prediction not in ("epsilon", "v_prediction"):
            raise InvalidProblemError(f"{where}: its scheduler's prediction_type must be 'epsilon' or 'v_prediction', "
                                      f"but is {self.prediction!r}")
        steps = scheduler.get("num_train_timesteps", 1000)
        if isinstance(timestep, bool) or not isinstance(timestep, int) or not 0 <= timestep < steps:
            raise InvalidProblemError(f"DiffusionNoise.timestep must be an int in [0, {steps - 1}], but got {timestep!r}")
        self.timestep = timestep
        sample, channels = unet.get("sample_size"), unet.get("in_channels")
        sample = [sample] * 2 if isinstance(sample, int) else sample
        if not (isinstance(channels, int) and isinstance(sample, list) and len(sample) == 2
                and all(isinstance(s, int) for s in sample)):
            raise InvalidProblemError(f"{where}: unet/config.json needs in_channels and sample_size (ints), but has "
                                      f"{channels!r} and {unet.get('sample_size')!r}")
        factor = 2 ** (len(vae.get("block_out_channels") or [0]) - 1)
        self.height = _side(height, sample[0] * factor, factor, "height")
        self.width = _side(width, sample[1] * factor, factor, "width")
        self.shape = self._latent = (channels, self.height // factor, self.width // factor)
        for field, source in (("reward_model", self.reward_model), ("held_out_model", self.held_out_model)):
            kind = source and _config(source, "config.json", field).get("model_type")
            if source and kind != "clip":
                raise InvalidProblemError(f"DiffusionNoise.{field} {source!r} must be a CLIP model, but its "
                                          f"config.json has model_type {kind!r}")
        self.condition, self.name = self.prompt, name or "diffusion-noise"
        self.params = {"pipeline": self.pipeline, "prompt": self.prompt, "reward_model": self.reward_model,
                       "height": self.height, "width": self.width, "dtype": dtype, "timestep": timestep,
                       "held_out_model": self.held_out_model}
        self.rewards = (Reward("clip", _score("reward")),)
        self.held_out = (Reward("judge", _score("judge")),) if self.held_out_model else ()
        self._device = torch.device("cpu")
        self._gen: dict[str, Any] | None = None  # the pipeline and σ, loaded at first use
        self._clips: dict[str, dict[str, Any]] = {}  # by role, "reward" or "judge"
        self._embeds: dict[tuple[str, ...], Tensor] = {}  # prompt embeddings, per model and device
        self.declare()

    @property
    def label(self) -> str:
        return self.prompt

    def noise_shape(self) -> tuple[int, ...]:
        return self._latent  # from the configs: declaring loads no weights

    def _gen_dtype(self) -> torch.dtype:
        if self.dtype == "auto":
            return torch.float16 if self._device.type == "cuda" else torch.float32
        return DTYPES[self.dtype]

    def to(self, device: torch.device | str) -> DiffusionNoise:
        device = torch.device(device)
        if device != self._device:
            self._device = device
            if self._gen is not None:
                self._gen["pipe"].to(device=device, dtype=self._gen_dtype())
            for part in self._clips.values():
                part["model"].to(device)
        return self

    def _generator(self) -> dict[str, Any]:
        if self._gen is None:
            with _quiet():
                import diffusers

                try:
                    pipe = diffusers.AutoPipelineForText2Image.from_pretrained(self.pipeline, dtype=self._gen_dtype())
                except ValueError:  # a pipeline class AutoPipeline does not map
                    pipe = diffusers.DiffusionPipeline.from_pretrained(self.pipeline, dtype=self._gen_dtype())
            for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
                if getattr(pipe, part, None) is None:
                    raise InvalidProblemError(f"DiffusionNoise.pipeline {self.pipeline!r}: {type(pipe).__name__} has no {part}")
            pipe.to(self._device)
            for module in (pipe.unet, pipe.vae, pipe.text_encoder):
                module.eval().requires_grad_(False)
            alpha = float(pipe.scheduler.alphas_cumprod[self.timestep].double())
            self._gen = {"pipe": pipe, "sigma": math.sqrt((1 - alpha) / alpha)}
        return self._gen

    def _prompt_embeds(self) -> Tensor:
        pipe, dt = self._generator()["pipe"], self._gen_dtype()
        key = ("generator", str(self._device), str(dt))
        if key not in self._embeds:  # the text encoder's last hidden state, as StableDiffusionPipeline.encode_prompt
            ids = pipe.tokenizer(self.prompt, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                                 truncation=True, return_tensors="pt").input_ids
            with torch.no_grad():
                self._embeds[key] = pipe.text_encoder(ids.to(self._device))[0].to(self._device, dt)
        return self._embeds[key]

    def generate(self, eps: Tensor) -> Tensor:
        gen, dt = self._generator(), self._gen_dtype()
        unet, vae, sigma = gen["pipe"].unet, gen["pipe"].vae, gen["sigma"]
        eps = eps.to(self._device, torch.float32)
        text = self._prompt_embeds().expand(eps.shape[0], -1, -1)
        latent = eps * sigma
        t = torch.tensor(float(self.timestep), device=self._device)
        out = unet((latent / math.sqrt(sigma**2 + 1)).to(dt), t, encoder_hidden_states=text).sample.float()
        if self.prediction == "epsilon":
            x0 = latent - sigma * out
        else:
            x0 = -sigma / math.sqrt(sigma**2 + 1) * out + latent / (sigma**2 + 1)
        x0 = x0 / vae.config.scaling_factor + (getattr(vae.config, "shift_factor", None) or 0.0)
        image = vae.decode(x0.to(dt)).sample.float()
        return (image / 2 + 0.5).clamp(0, 1)

    def _clip(self, role: str) -> dict[str, Any]:
        if role not in self._clips:
            source = self.reward_model if role == "reward" else self.held_out_model
            with _quiet():
                from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel

                model = CLIPModel.from_pretrained(source).eval().requires_grad_(False).to(self._device)
                tokenizer = AutoTokenizer.from_pretrained(source)
                try:
                    processor = AutoImageProcessor.from_pretrained(source)
                    mean, std = tuple(processor.image_mean), tuple(processor.image_std)
                except Exception:  # no image processor saved: OpenAI CLIP's statistics
                    mean, std = CLIP_MEAN, CLIP_STD
            self._clips[role] = {"model": model, "tokenizer": tokenizer, "mean": mean, "std": std}
        return self._clips[role]

    def clip_similarity(self, role: str, images: Tensor) -> Tensor:
        """The cosine of the ``role`` CLIP model's ("reward" or "judge") embeddings of ``images`` (``n x 3 x H x
        W`` in [0, 1]) and of the prompt, in fp32, differentiable in the images."""
        part = self._clip(role)
        model = part["model"]
        device = next(model.parameters()).device
        mean, std = (torch.tensor(v, device=device) for v in (part["mean"], part["std"]))
        pixels = clip_pixels(images.to(device, torch.float32), model.config.vision_config.image_size, mean, std)
        image = _pooled(model.get_image_features(pixel_values=pixels))
        key = (role, str(device))
        if key not in self._embeds:
            tokenizer = part["tokenizer"]
            length = min(tokenizer.model_max_length, model.config.text_config.max_position_embeddings)
            tokens = tokenizer(self.prompt, padding="max_length", max_length=length, truncation=True, return_tensors="pt")
            with torch.no_grad():
                self._embeds[key] = _pooled(model.get_text_features(
                    **{k: v.to(device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}))
        return F.cosine_similarity(image, self._embeds[key].expand_as(image), dim=-1)


def tiny_components(folder: str | Path, seed: int = 0) -> tuple[Path, Path]:
    """A tiny SD-Turbo-like pipeline (Euler, trailing spacing, epsilon prediction; 4 x 16 x 16 latents, 32 x 32
    images) and a tiny CLIP (32 x 32 input), random from ``seed``, saved under ``folder`` as ``tiny-sd-turbo``
    and ``tiny-clip``: their paths. Nothing is downloaded."""
    with _quiet():
        from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
        from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTextConfig, CLIPTextModel

        tokenizer = _tiny_tokenizer()
        text = dict(vocab_size=1000, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                    max_position_embeddings=77, projection_dim=32, hidden_act="quick_gelu",
                    bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                    pad_token_id=tokenizer.pad_token_id)  # CLIP pools at the eos id: the tokenizer's, not 49407
        vision = dict(image_size=32, patch_size=4, num_channels=3, hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, projection_dim=32, hidden_act="quick_gelu")
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            unet = UNet2DConditionModel(
                sample_size=16, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
                cross_attention_dim=32, attention_head_dim=(2, 4), use_linear_projection=True, norm_num_groups=32)
            vae = AutoencoderKL(
                in_channels=3, out_channels=3, latent_channels=4, sample_size=32, block_out_channels=(32, 64),
                down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                layers_per_block=1, norm_num_groups=32, scaling_factor=0.18215)
            text_encoder = CLIPTextModel(CLIPTextConfig(**text))
            clip = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=32))
        scheduler = EulerDiscreteScheduler(
            num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
            prediction_type="epsilon", timestep_spacing="trailing", steps_offset=1)
        pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                       scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                       requires_safety_checker=False)
        pipe_dir, clip_dir = Path(folder) / "tiny-sd-turbo", Path(folder) / "tiny-clip"
        pipe.save_pretrained(pipe_dir)
        clip.save_pretrained(clip_dir)
        crop = {"height": 32, "width": 32}
        CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size=crop),
                      tokenizer=tokenizer).save_pretrained(clip_dir)
    return pipe_dir, clip_dir


def _tiny_tokenizer() -> Any:
    """A byte-level CLIP tokenizer without merges: the 256 bytes, their word-final forms, two specials."""
    from transformers import CLIPTokenizer

    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = [chr(b) for b in bs] + [chr(256 + i) for i in range(256 - len(bs))]
    words = [*chars, *(c + "</w>" for c in chars), "<|startoftext|>", "<|endoftext|>"]
    return CLIPTokenizer(vocab={w: i for i, w in enumerate(words)}, merges=[], model_max_length=77)


__all__ = ["DiffusionNoise", "clip_pixels", "tiny_components"]
