#!/usr/bin/env bash
# Builds dist/xether.pyz (one portable file, runs on any CPython >= 3.8) and dist/SHA256SUMS.
#
# shiv (pinned) zips the staged xether_lib; build_tools/repack.py then swaps in xether.py as
# __main__.py so the archive imports from itself and never unpacks, and rewrites it
# reproducibly (sorted entries, fixed timestamps from SOURCE_DATE_EPOCH, mode 0644).
# Environment: PYTHON (default python3), SOURCE_DATE_EPOCH (default: the last commit's time).
set -euo pipefail

SHIV_VERSION=1.0.8
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
DIST="$ROOT/dist"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH="$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || true)"
    SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-315532800}"
fi
export SOURCE_DATE_EPOCH

if [ "$("$PYTHON" -c 'from importlib.metadata import version; print(version("shiv"))' 2>/dev/null || true)" != "$SHIV_VERSION" ]; then
    echo "build.sh: installing shiv==$SHIV_VERSION" >&2
    "$PYTHON" -m pip install --quiet "shiv==$SHIV_VERSION"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Stage only the library: no tests, no caches, no compiled files.
mkdir -p "$WORK/site-packages"
(cd "$ROOT" && tar -cf - --exclude=__pycache__ --exclude='*.pyc' --exclude='*.pyo' \
    --exclude='.*' xether_lib) | tar -xf - -C "$WORK/site-packages"

"$PYTHON" -m shiv --site-packages "$WORK/site-packages" --reproducible \
    -e xether_lib.cli:main -p '/usr/bin/env python3' -o "$WORK/shiv.pyz" >/dev/null

mkdir -p "$DIST"
"$PYTHON" "$ROOT/build_tools/repack.py" "$WORK/shiv.pyz" "$ROOT/xether.py" \
    "$DIST/xether.pyz" "$SOURCE_DATE_EPOCH"
(cd "$DIST" && sha256sum xether.pyz > SHA256SUMS)
cat "$DIST/SHA256SUMS"
