#!/usr/bin/env bash
# Create the virtualenv and install the project with its pinned dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
python=$(command -v python3.11 || command -v python3)
"$python" - <<'PY'
import sys
if sys.version_info[:2] != (3, 11):
    sys.exit(f"Onair needs Python 3.11, found {sys.version.split()[0]}")
PY
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
# The moderation console's one third-party file (hls.js), from its lockfile (npm from apt when
# missing and root).
source scripts/lib.sh
command -v npm >/dev/null || as_root_apt_install npm || true
if command -v npm >/dev/null; then
  npm ci --prefix web --no-audit --no-fund --loglevel=error
else
  echo "npm not found: the console will play HLS only where the browser does (Safari)" >&2
fi
echo "installed into $venv"
