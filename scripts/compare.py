#!/usr/bin/env python3
"""Side-by-side latency of halfgpu (CPU and GPU in each precision) and TFLite/XNNPACK.

Runs every engine on every model in alternating rounds (so drift and background load hit all
engines alike), takes the median over all timed runs of all rounds, and writes a markdown table
with the machine, adapter and date into docs/performance.md between the markers
<!-- compare:begin --> and <!-- compare:end -->. Nothing in the table is typed by hand.

usage: scripts/compare.py [--rounds N] [--runs N] [--models a,b,...] [--no-write]
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ASSETS = pathlib.Path(os.environ.get("HALFGPU_ASSETS", ROOT / "target/test-assets"))
HALFGPU = ROOT / "target/release/halfgpu"
PY = ASSETS / "venv/bin/python"

ENGINES = [
    ("halfgpu CPU 1t", ["--delegate", "cpu", "--threads", "1"]),
    ("halfgpu CPU 2t", ["--delegate", "cpu", "--threads", "2"]),
    ("halfgpu GPU F32", ["--delegate", "gpu", "--precision", "f32"]),
    ("halfgpu GPU F32F16", ["--delegate", "gpu", "--precision", "f32f16"]),
    ("halfgpu GPU F16", ["--delegate", "gpu", "--precision", "f16"]),
    ("TFLite XNNPACK 1t", 1),
    ("TFLite XNNPACK 2t", 2),
]


def run_engine(engine, model, runs, warmup):
    name, how = engine
    if isinstance(how, int):
        cmd = [str(PY), str(ROOT / "scripts/bench_litert.py"), str(model), str(how), str(runs), str(warmup)]
    else:
        cmd = [str(HALFGPU), "bench", str(model), "--json", "--runs", str(runs), "--warmup", str(warmup)] + how
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--models", default="")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    models = []
    mnv2 = ROOT / "target/mobilenet_v2_builder.tflite"
    subprocess.run(["cargo", "run", "--release", "-q", "--example", "write_mobilenet", "--", str(mnv2)], cwd=ROOT, check=True)
    models.append(("MobileNetV2 (builder, fp32)", mnv2))
    for p in sorted((ASSETS / "models").glob("*.tflite")):
        models.append((p.stem, p))
    if args.models:
        wanted = set(args.models.split(","))
        models = [m for m in models if m[0] in wanted or m[1].stem in wanted]

    load = os.getloadavg()[0]
    samples = {}  # (model, engine) -> list of medians per round
    info = {}
    for r in range(args.rounds):
        for mname, mpath in models:
            for engine in ENGINES:
                res = run_engine(engine, mpath, args.runs, args.warmup)
                key = (mname, engine[0])
                if "error" in res:
                    info[key] = res["error"]
                    continue
                samples.setdefault(key, []).append(res["median_ms"])
                if res.get("adapter"):
                    info["adapter"] = res["adapter"]
                print(f"round {r + 1}: {mname} / {engine[0]}: {res['median_ms']:.3f} ms", file=sys.stderr)

    names = [e[0] for e in ENGINES]
    lines = []
    lines.append(f"Measured {datetime.date.today().isoformat()} by `scripts/compare.py` "
                 f"({args.rounds} alternating rounds x {args.runs} timed runs, median of round medians).")
    lines.append(f"Machine: {machine()}; load average before the run {load:.2f}.")
    lines.append(f"GPU adapter: {info.get('adapter', 'none')}.")
    lines.append("")
    lines.append("| model | " + " | ".join(names) + " |")
    lines.append("|---|" + "---:|" * len(names))
    for mname, _ in models:
        cells = []
        base = samples.get((mname, "TFLite XNNPACK 1t"))
        base_ms = statistics.median(base) if base else None
        for n in names:
            s = samples.get((mname, n))
            if not s:
                cells.append("n/a")
                continue
            ms = statistics.median(s)
            ratio = f" ({ms / base_ms:.1f}x)" if base_ms and n != "TFLite XNNPACK 1t" else ""
            cells.append(f"{ms:.3g}{ratio}")
        lines.append(f"| {mname} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Milliseconds per invoke (inputs in, outputs out); in parentheses the ratio to TFLite XNNPACK on one thread (lower is better).")
    errors = [f"- {k[0]} / {k[1]}: {v}" for k, v in info.items() if isinstance(k, tuple)]
    if errors:
        lines.append("")
        lines.append("Failures:")
        lines.extend(errors)
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        doc = ROOT / "docs/performance.md"
        text = doc.read_text() if doc.exists() else "# Performance\n\n<!-- compare:begin -->\n<!-- compare:end -->\n"
        begin, end = "<!-- compare:begin -->", "<!-- compare:end -->"
        if begin not in text:
            text += f"\n{begin}\n{end}\n"
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        doc.write_text(f"{head}{begin}\n{table}\n{end}{tail}")


if __name__ == "__main__":
    main()
