#!/usr/bin/env bash
# Start the desktop bundle on a machine where no Python can be found: inside a private mount namespace
# every Python installation of this machine is hidden (an empty tmpfs over its folders, /dev/null over
# its executables), then the bundle runs --version, models verify, one inpaint and the studio
# (offscreen, closing itself through GANPAINT_SMOKE_EXIT_MS).
# Usage: packaging/check_without_python.sh [dist/GANPaintStudio]
# Linux only; needs unshare(1) with mount namespaces (root, or unprivileged user namespaces: -r).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bundle=$(realpath "${1:-dist/GANPaintStudio}")
exe="$bundle/GANPaintStudio"
sample="$bundle/_internal/ganpaint/resources/samples/coffee.png"
[ -x "$exe" ] && [ -f "$sample" ] || { echo "no bundle at $bundle (make bundle)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ganpaint-nopython.XXXXXX")
trap 'rm -rf "$work"' EXIT

# inputs, made while Python is still there
python3 - "$here" "$sample" "$work/mask.png" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import smoke
smoke.write_box_mask(Path(sys.argv[3]), *smoke.png_size(Path(sys.argv[2])))
PY

# what to hide: the prefixes of every python3 on PATH, the system's python3 library folders, and the executables
mapfile -t folders < <(
    for py in $(type -ap python3 python 2>/dev/null | sort -u); do "$py" -c 'import sys; print(sys.base_prefix); print(sys.prefix)' 2>/dev/null || true; done |
        grep -v -x -e /usr -e /usr/local -e / | sort -u
    ls -d /usr/lib/python3* /usr/local/lib/python3* /usr/lib64/python3* "$HOME/.pyenv" 2>/dev/null || true
)
mapfile -t programs < <(ls /usr/bin/python* /usr/local/bin/python* /bin/python* 2>/dev/null || true)

cat > "$work/inside.sh" <<EOF
set -euo pipefail
for folder in ${folders[*]:-}; do mount -t tmpfs none "\$folder"; done
for program in ${programs[*]:-}; do mount --bind /dev/null "\$program"; done
if python3 -c pass 2>/dev/null || python -c pass 2>/dev/null; then echo "a Python is still reachable" >&2; exit 1; fi
echo "hidden: ${folders[*]:-} ${programs[*]:-}"
cd "$work"
export QT_QPA_PLATFORM=offscreen GANPAINT_DATA_DIR="$work/userdata"
unset PYTHONPATH PYTHONHOME
"$exe" --version
"$exe" models verify | tail -1
"$exe" inpaint "$sample" mask.png -o filled.png
GANPAINT_SMOKE_EXIT_MS=0 "$exe" 2>/dev/null | grep '^smoke: shown'
EOF
if [ "$(id -u)" = 0 ]; then unshare --mount --propagation private bash "$work/inside.sh"
else unshare --map-root-user --mount --propagation private bash "$work/inside.sh"; fi
echo "the bundle started and worked without any Python"
