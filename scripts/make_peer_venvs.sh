#!/usr/bin/env bash
# Build the peer clients' virtualenvs (for compatibility tests and benchmarks), idempotently:
#   benchmarks/.venvs/swan-sdk   swan-sdk 0.1.4 (pins web3 6.20.3 and requests 2.28.1)
#   benchmarks/.venvs/agavepy    agavepy 0.9.5
#   benchmarks/.venvs/tapipy     tapipy 25.x
# Usage: scripts/make_peer_venvs.sh [NAME ...]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
declare -A SPEC=(
  [swan-sdk]="swan-sdk==0.1.4"
  [agavepy]="agavepy==0.9.5 setuptools<81"
  [tapipy]="tapipy>=25,<26"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(swan-sdk agavepy tapipy)
for name in "${names[@]}"; do
  dir="benchmarks/.venvs/$name"
  stamp="$dir/.installed"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${SPEC[$name]}" ]; then
    continue
  fi
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --upgrade pip
  # shellcheck disable=SC2086
  "$dir/bin/python" -m pip install --quiet ${SPEC[$name]}
  echo "${SPEC[$name]}" > "$stamp"
done
