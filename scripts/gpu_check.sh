#!/bin/bash
# The GPU check (benchmarks/gpu_check.py): every solver's CUDA path for a few steps, and CPU-vs-CUDA seconds
# per evaluation of the BO solvers and root. Run it first whenever a GPU is at hand; the report goes to
# ${1:-gpu_check.md} (its figures belong in docs/bo.md and docs/offline.md).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
exec .venv/bin/python -m benchmarks.gpu_check --out "${1:-gpu_check.md}"
