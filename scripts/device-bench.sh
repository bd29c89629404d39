#!/usr/bin/env bash
# Issue #8 target 5: MobileNetV2 (the builder's, batch 1) on a real GPU through Vulkan, in one
# command for a session that is lent a device machine (see the device tool's README). That
# machine has no Rust toolchain and may have no Vulkan loader, so everything travels from here.
#
#   bash scripts/device-bench.sh prepare   # here: release binary, model, Vulkan loader -> .devbench/
#   bash scripts/device-bench.sh run       # there (carry [".devbench"]): JSON results under $OUT
#
# `run` works here too (on lavapipe), which is how it was checked: RUNS=20 OUT=/tmp/x bash ... run.
# Results: bench-{f16,f32f16,f32}.json (init, median/p90/min invoke: upload, compute and read-back
# included), profile-f16.json (per dispatch, GPU timestamps), bench-cpu.json, gpu.txt (adapter,
# driver). Record adapter, driver and medians in docs/performance.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=.devbench

case "${1:-}" in
prepare)
    cargo build --release -q --bin halfgpu --example write_mobilenet
    mkdir -p "$dir" # ignored by .gitignore; the device tool carries it when named in carry
    cp target/release/halfgpu "$dir/halfgpu"
    target/release/examples/write_mobilenet "$dir/mobilenet_v2.tflite"
    # The Vulkan loader as an amd64 package (the device machine is x86-64, Ubuntu-based).
    if [ ! -f "$dir"/libvulkan1*.deb ] && command -v apt-get >/dev/null; then
        lists=$(mktemp -d)
        mkdir -p "$lists/partial"
        o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
        apt-get "${o[@]}" update -qq
        (cd "$dir" && apt-get "${o[@]}" download libvulkan1)
    fi
    du -sh "$dir"
    ;;
run)
    out="${OUT:-$PWD/devbench-out}"
    mkdir -p "$out"
    if compgen -G "$dir/*.deb" >/dev/null && ! ldconfig -p | grep -q libvulkan.so.1; then
        for f in "$dir"/*.deb; do dpkg -x "$f" /; done
        ldconfig
    fi
    nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    if [ -f "$nvidia_icd" ]; then export VK_DRIVER_FILES="$nvidia_icd"; fi
    export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
    runs="${RUNS:-300}"
    bin="$dir/halfgpu"
    model="$dir/mobilenet_v2.tflite"
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv > "$out/gpu.txt" 2>&1 || true
    fi
    "$bin" run "$model" --delegate gpu 2>&1 | head -3 >> "$out/gpu.txt" || true
    for p in f16 f32f16 f32; do
        "$bin" bench "$model" --delegate gpu --precision "$p" --runs "$runs" --warmup 30 --json \
            > "$out/bench-$p.json"
    done
    "$bin" profile "$model" --delegate gpu --precision f16 --warmup 10 --json > "$out/profile-f16.json"
    "$bin" bench "$model" --delegate cpu --runs 50 --warmup 5 --json > "$out/bench-cpu.json"
    cat "$out/gpu.txt"
    for p in f16 f32f16 f32; do
        python3 - "$out/bench-$p.json" "$p" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
inv = j.get("invoke", j)
print(sys.argv[2], {k: v for k, v in inv.items() if "ms" in k and not isinstance(v, (list, dict))})
EOF
    done
    ;;
*)
    echo "usage: bash scripts/device-bench.sh prepare|run" >&2
    exit 2
    ;;
esac
