#!/usr/bin/env bash
# Install TruFor Desk with its test extra and run the whole test suite, with the python3 (and
# pip) first on PATH: inside an activated virtual environment, that environment's.
#
# torch first. A torch the project accepts (torch>=2.2,<3, e.g. the CPU or CUDA build the
# README's install step put there) is kept as it is; only without one is `torch==2.13.0`
# installed, which resolves to the CPU wheel on the project's machines (on plain PyPI it is
# the default, CUDA-enabled Linux build). Either way the project's own range is then satisfied
# and `pip install -e ".[test]"` leaves torch alone.
set -euo pipefail
cd "$(dirname "$0")/.."

if python3 - <<'EOF'
import importlib.metadata
import importlib.util
import re
import sys

if importlib.util.find_spec("torch") is None:
    sys.exit(1)
try:
    version = importlib.metadata.version("torch")
except importlib.metadata.PackageNotFoundError:
    sys.exit(1)
m = re.match(r"(\d+)\.(\d+)", version)
ok = m is not None and (2, 2) <= (int(m[1]), int(m[2])) < (3, 0)
print(f"torch {version} is installed: {'kept' if ok else 'outside torch>=2.2,<3, replaced'}", file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
then
  :
else
  python3 -m pip install -q torch==2.13.0
fi
python3 -m pip install -q -e ".[test]"
python3 -m pytest -q "$@"
