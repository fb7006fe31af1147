"""Surrogate gradients: each backward against its formula and against snntorch's; declarations; the problems
that use them; the schedule the family passes; the black-box view tuning a surrogate."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from problems.training import BinaryMlpDigits, SignCircleRegression, SpikingMlpDigits
from workbench import Study
from workbench.errors import InvalidConfigError, InvalidProblemError
from workbench.families.training.surrogate_gradients import (
    KINDS,
    STE,
    Arctan,
    ClippedSTE,
    Erf,
    FastSigmoid,
    ReSTE,
    Sigmoid,
    SurrogateStep,
    step,
    surrogate_gradient,
)
from workbench.families.training.tuning import Tuning
from workbench.runner import Runner
from workbench.solvers.training import SGD, Adam
from workbench.space import Categorical, Real

ROOT = Path(__file__).resolve().parents[3]
X = torch.linspace(-2.0, 2.0, 81, dtype=torch.float64)


def backward(s, x=X, forward="sign", progress=0.0):
    x = x.clone().requires_grad_(True)
    step(x, s, forward, progress).sum().backward()
    return x.grad


FORMULAS = [  # written out here, independently of the module
    (STE(), lambda x: torch.ones_like(x)),
    (ClippedSTE(), lambda x: (x.abs() <= 1).double()),
    (ClippedSTE(t=0.5), lambda x: (x.abs() <= 0.5).double()),
    (FastSigmoid(k=3.0), lambda x: 1 / (1 + 3 * x.abs()) ** 2),
    (Sigmoid(k=4.0), lambda x: 4 * torch.exp(-4 * x) / (1 + torch.exp(-4 * x)) ** 2),
    (Arctan(alpha=2.0), lambda x: 1 / (1 + (math.pi * x) ** 2)),
    (Erf(k=2.0), lambda x: 4 / math.sqrt(math.pi) * torch.exp(-4 * x**2)),
    (Erf(k=1.0, scale=0.5), lambda x: 1 / math.sqrt(math.pi) * torch.exp(-(x**2))),
]


@pytest.mark.parametrize("s,formula", FORMULAS, ids=lambda v: getattr(v, "kind", ""))
def test_each_surrogates_backward_is_its_formula_and_its_forward_the_exact_step(s, formula):
    assert torch.allclose(backward(s), formula(X), rtol=1e-12, atol=1e-14)
    assert torch.equal(step(X, s), torch.where(X >= 0, 1.0, -1.0).double())
    assert torch.equal(step(X, s, "heaviside"), (X >= 0).double())


def test_reste_is_the_power_functions_derivative_flattened_near_zero_and_clipped_at_t():
    s = ReSTE()  # o from 1 to 3, t = 1.5, interval 0.1
    assert s.power(0.0) == 1.0 and s.power(1.0) == pytest.approx(3.0) and s.power(0.5) == pytest.approx(1 + 2 * (1 - math.cos(math.pi / 4)))
    g = backward(s, progress=1.0)
    a = X.abs()
    mid = (a > 0.1) & (a <= 1.5)
    assert torch.allclose(g[mid], (1 / 3) * a[mid] ** (-2 / 3))
    assert torch.allclose(g[a <= 0.1], torch.full_like(g[a <= 0.1], 0.1 ** (-2 / 3)))
    assert (g[a > 1.5] == 0).all()


@pytest.mark.parametrize("t", [1.0, 1.5])
def test_reste_at_o_1_is_the_clipped_ste(t):
    assert torch.equal(backward(ReSTE(t=t), progress=0.0), backward(ClippedSTE(t=t)))
    assert torch.equal(backward(ReSTE(t=t, o_end=1.0), progress=0.7), backward(ClippedSTE(t=t)))


@pytest.mark.parametrize("ours,theirs", [
    (FastSigmoid(k=25.0), ("fast_sigmoid", {"slope": 25})),
    (FastSigmoid(k=4.0), ("fast_sigmoid", {"slope": 4})),
    (Sigmoid(k=5.0), ("sigmoid", {"slope": 5})),
    (Arctan(alpha=2.0), ("atan", {"alpha": 2.0})),
    (Arctan(alpha=0.7), ("atan", {"alpha": 0.7})),
    (STE(), ("straight_through_estimator", {})),
])
def test_the_spike_surrogates_match_snntorchs(ours, theirs):
    from snntorch import surrogate as snn_surrogate

    x = torch.linspace(-0.3, 0.3, 61, dtype=torch.float64) + 1e-3  # away from 0, where the two forwards differ
    fn = getattr(snn_surrogate, theirs[0])(**theirs[1])
    xs = x.clone().requires_grad_(True)
    spikes = fn(xs)
    spikes.sum().backward()
    assert torch.equal(spikes.double(), step(x, ours, "heaviside"))
    assert torch.allclose(xs.grad, backward(ours, x, "heaviside"), rtol=1e-6)


def test_a_spiking_layer_with_our_surrogate_trains_as_snntorchs():
    import snntorch
    from snntorch import surrogate as snn_surrogate

    torch.manual_seed(0)
    inputs = torch.rand(5, 4, 3, dtype=torch.float64)
    weight = torch.randn(3, 6, dtype=torch.float64)
    grads = []
    for spike_grad in (snn_surrogate.fast_sigmoid(slope=5), SurrogateStep(FastSigmoid(k=5.0), "heaviside")):
        w = weight.clone().requires_grad_(True)
        lif = snntorch.Leaky(beta=0.8, spike_grad=spike_grad)
        mem, count = torch.zeros(4, 6, dtype=torch.float64), 0
        for t in range(5):
            spk, mem = lif(inputs[t] @ w, mem)
            count = count + spk.double()
        count.sum().backward()
        grads.append((count.detach(), w.grad))
    assert torch.equal(grads[0][0], grads[1][0]) and grads[0][0].sum() > 0
    assert torch.allclose(grads[0][1], grads[1][1], rtol=1e-6)


def test_surrogates_are_checked_when_declared_naming_the_field():
    with pytest.raises(InvalidConfigError, match=r"surrogate_gradient.slope must be a finite number > 0.*slope=0"):
        surrogate_gradient("erf", 0)
    with pytest.raises(InvalidConfigError, match=r"surrogate_gradient.surrogate must be one of"):
        surrogate_gradient("tanh")
    with pytest.raises(InvalidConfigError, match=r"slope must be None for surrogate 'ste'"):
        surrogate_gradient("ste", 2.0)
    with pytest.raises(InvalidConfigError, match=r"ReSTE.o_end must be"):
        ReSTE(o_end=0.5)
    with pytest.raises(InvalidConfigError, match=r"FastSigmoid.k must be"):
        FastSigmoid(k=-1.0)
    with pytest.raises(InvalidConfigError, match=r"SurrogateStep.forward must be one of"):
        SurrogateStep(STE(), "relu")
    assert surrogate_gradient("reste", 2.0) == ReSTE(o_end=2.0) and surrogate_gradient("arctan", 3.0) == Arctan(alpha=3.0)
    assert set(KINDS) == {"ste", "clipped-ste", "fast-sigmoid", "sigmoid", "arctan", "erf", "reste"}


def test_the_problems_check_their_surrogate_and_shape_when_declared():
    with pytest.raises(InvalidProblemError, match=r"BinaryMlpDigits.slope must be a finite number > 0.*slope=-1"):
        BinaryMlpDigits(surrogate="fast-sigmoid", slope=-1)
    with pytest.raises(InvalidProblemError, match=r"SpikingMlpDigits.surrogate must be one of"):
        SpikingMlpDigits(surrogate="relu")
    with pytest.raises(InvalidProblemError, match=r"BinaryMlpDigits.hidden\[1\] must be an int >= 1"):
        BinaryMlpDigits(hidden=(8, 0))
    with pytest.raises(InvalidProblemError, match=r"SignCircleRegression.depth must be an int >= 1.*depth=0"):
        SignCircleRegression(depth=0)
    with pytest.raises(InvalidProblemError, match=r"SpikingMlpDigits.beta must be a number in \[0, 1\]"):
        SpikingMlpDigits(beta=1.5)
    with pytest.raises(InvalidProblemError, match=r"BinaryMlpDigits.binary_weights needs two hidden layers"):
        BinaryMlpDigits(hidden=(8,), binary_weights=True)


def test_binary_weights_compute_with_scaled_signs_and_learn_through_the_surrogate():
    p = BinaryMlpDigits(hidden=(8, 6), binary_weights=True, surrogate="clipped-ste")
    model = p.model(torch.Generator().manual_seed(0))
    layer = model[2]
    x = torch.randn(3, 8, dtype=torch.float64)
    alpha = layer.weight.abs().mean(1, keepdim=True)
    expected = x @ (alpha * torch.where(layer.weight >= 0, 1.0, -1.0)).T + layer.bias
    assert torch.allclose(layer(x), expected)
    layer(x).sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    assert type(model[0]).__name__ == "Linear" and type(model[4]).__name__ == "Linear"  # first, last: real


def test_the_circle_problem_is_the_papers_setting():
    p = SignCircleRegression(width=7)
    s = p.splits()
    assert s["train"].X.shape == (15, 2) and s["test"].X.shape == (100, 2)
    assert torch.allclose(s["test"].X.norm(dim=1), torch.ones(100, dtype=torch.float64))
    assert s["test"].X[50].tolist() == [0.0, 1.0]  # α = 0 is (sin 0, cos 0)
    x0, x1 = s["train"].X[:, 0], s["train"].X[:, 1]
    assert torch.allclose(s["train"].y.reshape(-1), 4 * x0 * x1**2 - 0.8 * x0**3 + 1.2 * x1**2 - 0.8 * x0**2 * x1)
    model = p.model(torch.Generator().manual_seed(0))
    W1, b1 = model[0].weight, model[0].bias
    hidden = torch.where(s["test"].X @ W1.T / math.sqrt(2) + 0.1 * b1 >= 0, 1.0, -1.0)
    assert torch.equal(model[1](model[0](s["test"].X)), hidden.double())  # NTK parametrization, sign


class Watching(BinaryMlpDigits):
    """Records the progress the family passes before each epoch, and what the model's steps were told."""

    seen: list = []

    def schedule(self, model, progress):
        super().schedule(model, progress)
        told = {m.progress for m in model.modules() if isinstance(m, SurrogateStep)}
        Watching.seen.append((progress, told))


def test_the_family_tells_the_model_the_fraction_of_training_done(tmp_path, caplog):
    from workbench.budget import Budget
    from workbench.families.training.tuning import train

    Watching.seen = []
    p = Watching(hidden=(8,), surrogate="reste", batch_size=500, name="watching")
    Runner(Study("progress", problems=[p], solvers=[SGD(lr=0.1)], seeds=[0], budget=4), run_dir=tmp_path / "r",
           device="cpu").run()
    assert Watching.seen == [(0.0, {0.0}), (0.25, {0.25}), (0.5, {0.5}), (0.75, {0.75})]
    Watching.seen = []
    train(p, SGD(lr=0.1), seed=0, epochs=2)  # the black-box view's trainings follow the same schedule
    assert Watching.seen == [(0.0, {0.0}), (0.5, {0.5})]
    Watching.seen = []
    with caplog.at_level("WARNING", logger="workbench"):  # a budget in passes does not say how long the run is
        Runner(Study("passes", problems=[p], solvers=[SGD(lr=0.1)], seeds=[0], budget=Budget(model_passes=12)),  # 2 epochs of 3 batches
               run_dir=tmp_path / "p", device="cpu").run()
    assert [s for s, _ in Watching.seen] == [None, None] and all(t == {0.0} for _, t in Watching.seen)
    warned = [r for r in caplog.records if "schedule stays at its start" in r.getMessage()]
    assert len(warned) == 1


def test_reste_follows_the_progress_its_step_is_told():
    layer = SurrogateStep(ReSTE(), "sign")
    x = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    grads = []
    for progress in (0.0, 1.0):
        layer.progress = progress
        (g,) = torch.autograd.grad(layer(x).sum(), x)
        grads.append(float(g))
    assert grads[0] == 1.0 and grads[1] == pytest.approx((1 / 3) * 0.5 ** (-2 / 3))


def test_the_black_box_view_tunes_the_surrogate_slope_and_learning_rate_together():
    problem = BinaryMlpDigits(hidden=(8,), batch_size=200)
    space = [Categorical("surrogate", ("fast-sigmoid", "erf")), Real("slope", 0.5, 50.0, log=True),
             Real("lr", 1e-3, 1e-1, log=True)]
    tuning = Tuning(problem, Adam(), space, epochs=1).bind(0)
    rows = tuning.space.encode([{"surrogate": "erf", "slope": 1.0, "lr": 0.01},
                                {"surrogate": "fast-sigmoid", "slope": 25.0, "lr": 0.01}])
    values = tuning.evaluate(rows)
    assert values.shape == (2,) and torch.isfinite(values).all() and values[0] != values[1]
    assert torch.equal(tuning.evaluate(rows[:1]), values[:1])  # a deterministic function of the row
    with pytest.raises(InvalidProblemError, match=r"'slopes' is neither an option of solver .* nor a parameter"):
        Tuning(problem, Adam(), [Real("slopes", 0.5, 50.0)], epochs=1)
    from workbench.solvers.training import Sls

    spiking = SpikingMlpDigits(hidden=4, time_steps=2, batch_size=500, name="tiny-spiking")
    assert Tuning(spiking, Sls(), [Real("beta", 0.5, 0.9)], epochs=1)._problem_keys == {}  # the solver's beta
    mine = Tuning(spiking, Sls(), [Real("problem.beta", 0.5, 0.9), Real("beta", 0.5, 0.95)], epochs=1)
    assert mine._problem_keys == {"problem.beta": "beta"}
    assert torch.isfinite(mine.bind(0).evaluate(mine.space.encode([{"problem.beta": 0.6, "beta": 0.9}]))).all()
    bad = Tuning(problem, Adam(), [Categorical("surrogate", ("ste",)), Real("slope", 0.5, 50.0)], epochs=1).bind(0)
    with pytest.raises(ValueError, match=r"slope must be None for surrogate 'ste'"):
        bad.evaluate(bad.space.encode([{"surrogate": "ste", "slope": 2.0}]))


@pytest.fixture(scope="module")
def surrogate_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    problems = [BinaryMlpDigits(hidden=(8, 8), batch_size=500, surrogate=k, slope=s, binary_weights=w,
                                name=f"b-{k}-{s}-{w}")
                for k, s in (("erf", 0.5), ("erf", 2.0), ("ste", None)) for w in (False, True)]
    study = Study("surrogates", problems=problems, solvers=[Adam(lr=0.01)], seeds=[0, 1], budget=2)
    Runner(study, run_dir=runs / "surrogates", device="cpu").run()
    return runs


def test_the_surrogate_view_reads_each_problems_surrogate_from_the_declaration(surrogate_run):
    from workbench.families.training.surrogate_views import (
        best_per_kind,
        surrogate_problems,
        surrogate_scores,
        surrogate_summary,
    )
    from workbench.results import load_results

    ds = load_results(surrogate_run / "surrogates")
    table = surrogate_problems(ds).set_index("problem")
    assert table.loc["b-erf-0.5-True", "network"] == "binary-mlp-digits(binary_weights=True)"
    assert table.loc["b-erf-2.0-False", "slope"] == 2.0 and table.loc["b-erf-2.0-False", "kind"] == "erf"
    assert math.isnan(table.loc["b-ste-None-False", "slope"])
    frame = surrogate_scores(ds)
    assert len(frame) == 12 and frame["test_accuracy"].between(0, 1).all() and (frame["epochs"] == 2).all()
    summary = surrogate_summary(frame, "test_accuracy")
    assert len(summary) == 6 and (summary["seeds"] == 2).all()
    one = summary[(summary["kind"] == "erf") & (summary["slope"] == 0.5)
                  & (summary["network"] == "binary-mlp-digits(binary_weights=True)")].iloc[0]
    cells = frame[frame["problem"] == "b-erf-0.5-True"]["test_accuracy"]
    assert one["mean"] == pytest.approx(cells.mean()) and one["lo"] == cells.min() and one["hi"] == cells.max()
    best = best_per_kind(summary)
    assert len(best) == 4 and best.groupby("network")["mean"].apply(lambda s: s.is_monotonic_decreasing).all()


def test_the_surrogate_table_lists_every_surrogate_and_network(surrogate_run):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, f"{ROOT}/scripts/surrogate_table.py", str(surrogate_run / "surrogates" / "results.nc")],
                         capture_output=True, text=True, check=True).stdout
    assert "| erf | 0.5 |" in out and "| ste | – |" in out and "binary-mlp-digits(binary_weights=True)" in out


def test_the_surrogate_page_draws_slopes_and_the_best_of_each_kind(surrogate_run, monkeypatch):
    import json as _json

    from streamlit.testing.v1 import AppTest

    from workbench.families.training import TrainingFamily

    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(surrogate_run))
    page = TrainingFamily.pages[1]
    at = AppTest.from_file(page.path, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Surrogate gradients" and at.sidebar.radio[0].value == "test_accuracy"
    [chart] = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    spec = _json.loads(chart.proto.spec)
    assert spec["facet"]["field"] == "panel" and spec["spec"]["layer"][1]["encoding"]["x"]["scale"]["type"] == "log"
    assert set(at.dataframe[0].value["kind"]) == {"erf", "ste"}


def test_best_trials_lists_each_cells_best_parameters(tmp_path):
    import subprocess
    import sys

    problem = BinaryMlpDigits(hidden=(8,), batch_size=500)
    space = [Categorical("surrogate", ("fast-sigmoid", "erf")), Real("slope", 0.5, 50.0, log=True)]
    study = Study("tune", problems=[Tuning(problem, Adam(lr=0.01), space, epochs=1, name="tune-sg")],
                  solvers=["random"], seeds=[0], budget=3)
    Runner(study, run_dir=tmp_path / "tune", device="cpu").run()
    out = subprocess.run([sys.executable, f"{ROOT}/scripts/best_trials.py", str(tmp_path / "tune")], capture_output=True,
                         text=True, check=True).stdout
    [row] = [line for line in out.splitlines() if line.startswith("| tune/tune-sg/random/0 |")]
    assert "surrogate=" in row and "slope=" in row and row.endswith("| 3 (0) |")
