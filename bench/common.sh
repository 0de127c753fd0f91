#!/usr/bin/env bash
# Shared by every bench/ script: finds the repository, builds embtool (release),
# creates or reuses ONE Python virtualenv for the peers, and locates MovieLens 100k.
#   EMBTOOL_VENV    virtualenv to use or create (default bench/.venv); peers are
#                   installed into it from PyPI by name when their import fails
#   EMBTOOL_ML100K  MovieLens 100k folder (default ../shared/ml-100k, else `embtool fetch`)
#   REPS            repetitions per measurement (default 3)
#
# Bash scripts source it. Python scripts locate the venv through it, so that there is
# one way to make it:  bench/common.sh venv pip-name:module ...   prints the venv's python.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${EMBTOOL_VENV:-$ROOT/bench/.venv}
REPS=${REPS:-3}
EMBTOOL=$ROOT/.build/release/embtool

# ensure_venv pip-name:module ... — creates the venv and installs what is missing; sets PY.
ensure_venv() {
    [ -x "$VENV/bin/python" ] || { echo "creating virtualenv $VENV" >&2; python3 -m venv "$VENV"; }
    local missing=()
    for spec in "$@"; do
        "$VENV/bin/python" -c "import ${spec#*:}" 2>/dev/null || missing+=("${spec%%:*}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing ${missing[*]} into $VENV" >&2
        "$VENV/bin/pip" install -q "${missing[@]}" >&2
    fi
    PY=$VENV/bin/python
}

build_embtool() {
    echo "building embtool (release)" >&2
    (cd "$ROOT" && swift build -c release --product embtool 2>&1 | tail -1 >&2)
}

find_ml100k() {
    ML100K=${EMBTOOL_ML100K:-$ROOT/../shared/ml-100k}
    if [ ! -f "$ML100K/u.data" ]; then
        "$EMBTOOL" fetch ml-100k >&2
        ML100K=${EMBTOOL_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/embtool}/datasets/ml-100k
    fi
    ML100K=$(cd "$ML100K" && pwd)
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-}" in
        venv) shift; ensure_venv "$@"; echo "$PY" ;;
        *) echo "usage: bench/common.sh venv pip-name:module ..." >&2; exit 64 ;;
    esac
fi
