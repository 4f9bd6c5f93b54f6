#!/usr/bin/env bash
# Install a ganpaint wheel into a fresh venv outside the checkout and smoke-test it from there
# (`make wheel-check`, run by CI). Usage: packaging/check_wheel.sh dist/ganpaint-X-py3-none-any.whl
# Environment: PYTHON (default python3) makes the venv; TORCH (default torch==2.13.0, the CPU build)
# is installed first so that pip does not pull a CUDA build; SMOKE_ARGS go to packaging/smoke.py.
set -euo pipefail
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
    echo "usage: $0 WHEEL" >&2
    exit 2
fi
wheel=$(realpath "$1")
smoke=$(realpath "$(dirname "$0")/smoke.py")
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/ganpaint-wheel-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"  # outside the checkout: nothing can be imported from it
start=$(date +%s)
"$python" -m venv venv
# --no-compile: bytecode is compiled on first import instead (installing torch's 3000 modules
# precompiled takes three times as long on the 2-core CI machine)
# shellcheck disable=SC2086  # TORCH may hold several words (e.g. --index-url ...)
venv/bin/pip install --quiet --no-compile ${TORCH:-torch==2.13.0} "$wheel"
echo "installed $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB) into a fresh venv in $(( $(date +%s) - start )) s"
venv/bin/ganpaint models list
# shellcheck disable=SC2086
"$python" "$smoke" "$work/venv/bin/ganpaint" ${SMOKE_ARGS:-}
