#!/usr/bin/env bash
# Long-run check on the GPU: 20,000 invokes of a small model, resident memory (VmRSS) after
# warm-up and at the end must differ by less than 5%. Extra arguments go to examples/soak.rs
# (e.g. --invokes 100000, --precision f32, or a .tflite path).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    XDG_RUNTIME_DIR="$(mktemp -d)"
    export XDG_RUNTIME_DIR
fi
exec cargo run --release --example soak -- --invokes 20000 --warmup 1000 --max-growth 5 "$@"
