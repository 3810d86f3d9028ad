#!/usr/bin/env bash
# Install TruFor Desk with its test extra and run the whole test suite.
# torch first: `torch==2.13.0` resolves to the CPU wheel on the project's machines, and
# the project's own range (torch>=2.2,<3) is then already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q torch==2.13.0
python3 -m pip install -q -e ".[test]"
python3 -m pytest -q "$@"
