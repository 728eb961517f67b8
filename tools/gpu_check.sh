#!/usr/bin/env bash
# One check of a machine with an NVIDIA GPU (CUDA driver, Python 3.10+), from the repository root:
#     bash tools/gpu_check.sh [--skip-install] [--only STEP,...] [--dry-run]
# Makes a virtual environment in .gpu-check/venv (or uses $VENV), then runs tools/gpu_check.py, which installs
# '.[trt,test]' into it and runs every step with its own limit: about 6-9 minutes; one summary table at the end.
# Exit status: 0 when no step failed.
set -u
cd "$(dirname "$0")/.." || exit 2
VENV="${VENV:-.gpu-check/venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" || { echo "error: could not create $VENV (python3 -m venv); set VENV to an existing one" >&2; exit 2; }
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
exec "$VENV/bin/python" tools/gpu_check.py "$@"
