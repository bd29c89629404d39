#!/usr/bin/env bash
# Side-by-side latency table (halfgpu CPU/GPU vs TFLite XNNPACK) into docs/performance.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/fetch-test-assets.sh
cargo build --release -q
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
export MESA_SHADER_CACHE_DIR="${MESA_SHADER_CACHE_DIR:-$PWD/target/mesa-shader-cache}"
exec python3 scripts/compare.py "$@"
