"""diffusion-noise on tiny random components: declaration from configs only, the one-step path, the CLIP
reward's gradient, and one ReNO iteration through the noise family."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from problems.noise.diffusion import DiffusionNoise, tiny_components  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from workbench import Study  # noqa: E402
from workbench.budget import Budget  # noqa: E402
from workbench.errors import InvalidProblemError  # noqa: E402
from workbench.families.noise.testing import check_noise_problem  # noqa: E402
from workbench.results import load_results  # noqa: E402
from workbench.runner import Runner  # noqa: E402
from workbench.solvers.noise import ReNO  # noqa: E402
from workbench.testing import check_problem  # noqa: E402

PROMPT = "a photo of a cat"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        pipe, clip = tiny_components(tmp_path_factory.mktemp("tiny"), seed=0)
        _, judge = tiny_components(tmp_path_factory.mktemp("judge"), seed=1)
    return pipe, clip, judge


@pytest.fixture(scope="module")
def problem(tiny):
    pipe, clip, _ = tiny
    return DiffusionNoise(pipeline=str(pipe), prompt=PROMPT, reward_model=str(clip))


def test_importing_the_problems_imports_no_diffusers():
    code = "import sys, problems.noise; print('diffusers' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_declaring_reads_the_shape_from_the_configs_without_loading_weights(tiny, monkeypatch):
    import diffusers
    import transformers

    def no(*args, **kwargs):
        raise AssertionError("weights loaded at declaration")

    for owner in (diffusers.AutoPipelineForText2Image, diffusers.DiffusionPipeline, transformers.CLIPModel):
        monkeypatch.setattr(owner, "from_pretrained", no)
    pipe, clip, judge = tiny
    p = DiffusionNoise(pipeline=pipe, prompt=PROMPT, reward_model=clip, held_out_model=judge, name="cat")
    assert p.shape == p.noise_shape() == (4, 16, 16) and (p.height, p.width) == (32, 32)
    assert p.space.dim == 1024 and p.name == "cat" and p.label == PROMPT
    assert [r.name for r in p.rewards] == ["clip"] and [r.name for r in p.held_out] == ["judge"]
    assert DiffusionNoise(pipeline=pipe, prompt=PROMPT, reward_model=clip, height=64, width=48).shape == (4, 32, 24)


def test_without_arguments_it_fails_naming_pipeline_so_listing_shows_it_unavailable():
    from workbench.errors import WorkbenchError
    from workbench.problem import catalog

    with pytest.raises(WorkbenchError, match=r"DiffusionNoise\.pipeline must be given"):
        catalog.get("diffusion-noise")()


def test_a_pipeline_without_a_unet_config_fails_naming_pipeline(tiny, tmp_path):
    pipe, clip, _ = tiny
    broken = shutil.copytree(pipe, tmp_path / "broken")
    (broken / "unet" / "config.json").unlink()
    with pytest.raises(InvalidProblemError, match=r"DiffusionNoise\.pipeline .*unet/config\.json"):
        DiffusionNoise(pipeline=broken, prompt=PROMPT, reward_model=clip)
    with pytest.raises(InvalidProblemError, match=r"DiffusionNoise\.pipeline 'no/such-model'"):
        DiffusionNoise(pipeline="no/such-model", prompt=PROMPT, reward_model=clip)


@pytest.mark.parametrize(("option", "value", "field"), [
    ("dtype", "fp8", "dtype"), ("timestep", 1000, "timestep"), ("height", 33, "height"), ("prompt", "", "prompt"),
    ("reward_model", "pipeline", "reward_model"),
])
def test_a_wrong_option_fails_naming_its_field(tiny, option, value, field):
    pipe, clip, _ = tiny
    kwargs = {"pipeline": pipe, "prompt": PROMPT, "reward_model": clip, option: value}
    if value == "pipeline":
        kwargs[option] = pipe  # a folder with no CLIP config.json
    with pytest.raises(InvalidProblemError, match=rf"DiffusionNoise\.{field}"):
        DiffusionNoise(**kwargs)


def test_generate_gives_images_in_the_unit_range_with_a_finite_gradient(problem):
    eps = problem.sample(2, seed=0).requires_grad_(True)
    images = problem.generate(eps)
    assert images.shape == (2, 3, 32, 32) and images.dtype == torch.float32
    assert float(images.detach().min()) >= 0 and float(images.detach().max()) <= 1
    reward = problem.rewards[0](images, problem)
    assert reward.shape == (2,) and bool(((reward >= -1) & (reward <= 1)).all())
    (grad,) = torch.autograd.grad(reward.sum(), eps)
    assert bool(torch.isfinite(grad).all()) and float(grad.norm()) > 0
    assert problem.to("cpu") is problem


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # numpy 2's __array__ notice, in the scheduler
@pytest.mark.parametrize(("prediction", "timestep"), [("epsilon", 999), ("v_prediction", 999), ("epsilon", 500)])
def test_the_one_step_path_is_the_pipelines_one_step_sample(tiny, tmp_path, prediction, timestep):
    pipe_dir, clip, _ = tiny
    if prediction != "epsilon":
        pipe_dir = shutil.copytree(pipe_dir, tmp_path / "pipe")
        config = json.loads((pipe_dir / "scheduler" / "scheduler_config.json").read_text())
        (pipe_dir / "scheduler" / "scheduler_config.json").write_text(json.dumps({**config, "prediction_type": prediction}))
    p = DiffusionNoise(pipeline=pipe_dir, prompt=PROMPT, reward_model=clip, timestep=timestep)
    eps = p.sample(2, seed=3)
    pipe = p._generator()["pipe"]
    pipe.set_progress_bar_config(disable=True)
    steps = {"num_inference_steps": 1} if timestep == 999 else {"timesteps": [timestep]}
    ref = pipe([PROMPT] * 2, guidance_scale=0.0, latents=eps.clone(), output_type="pt", **steps).images
    with torch.no_grad():
        torch.testing.assert_close(p.generate(eps), ref, atol=1e-5, rtol=0)


def test_the_registered_problem_keeps_the_contract(problem):
    check_noise_problem(problem, n=2)
    check_problem(problem, n=4)


def test_one_reno_iteration_runs_through_the_family(tiny, tmp_path):
    pipe, clip, judge = tiny
    p = DiffusionNoise(pipeline=pipe, prompt=PROMPT, reward_model=clip, held_out_model=judge)
    study = Study("diffusion", problems=[p], solvers=[ReNO()], seeds=[0], budget=Budget(reward_calls=2))
    Runner(study, run_dir=tmp_path / "run", device="cpu").run()
    ds = load_results(tmp_path / "run")
    assert ds.sizes["step"] == 2
    cell = {"problem": p.name, "solver": "reno", "seed": 0}
    value = ds["value"].sel(**cell).values
    judge_values = ds["judge"].sel(**cell).values
    assert np.isfinite(value).all() and np.isfinite(judge_values).all() and value[0] != value[1]
    gradients = ds["cost"].sel(**cell, axis="reward_gradients").values
    assert gradients.tolist() == [1, 2]  # cumulative: every scored image is differentiated
    assert ds["cost"].sel(**cell, axis="reward_calls").values.tolist() == [1, 2]
    assert all(math.isfinite(v) for v in ds["norm_ratio"].sel(**cell).values)
