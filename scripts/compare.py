#!/usr/bin/env python3
"""Side-by-side latency of halfgpu (CPU and GPU in each precision), TFLite/XNNPACK and the GPU
inference peers (ncnn Vulkan, ONNX Runtime's WebGPU EP).

Runs every halfgpu engine and XNNPACK on every model in alternating rounds (so drift and
background load hit all engines alike), takes the median of the round medians, and writes a
markdown table with the machine, adapter and date into docs/performance.md between the markers
<!-- compare:begin --> and <!-- compare:end -->. Nothing in the table is typed by hand.

The peers come from the team's `compare-peers.sh` (default ../shared/peers/compare-peers.sh,
or $PEERS_SCRIPT), on the same Mesa: for the first model (MobileNetV2, whose ratio to ncnn is
issue #8's first target) once before every round, so that its peers and halfgpu alternate as the
halfgpu engines do and the ratio is also reported per round; for the other models once, in the
middle of the rounds. With `--mesa 25`
the halfgpu engines run on the same private Mesa 25 lavapipe the peers script sets up (ONNX
Runtime's WebGPU EP refuses Mesa 22.3). `--no-peers` leaves those columns out.

usage: scripts/compare.py [--rounds N] [--runs N] [--models a,b,...] [--mesa system|25]
                          [--no-peers] [--no-write] [--section NAME]
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ASSETS = pathlib.Path(os.environ.get("HALFGPU_ASSETS", ROOT / "target/test-assets"))
HALFGPU = ROOT / "target/release/halfgpu"
PY = ASSETS / "venv/bin/python"
PEERS_SCRIPT = pathlib.Path(os.environ.get("PEERS_SCRIPT", ROOT.parent / "shared/peers/compare-peers.sh"))
PEERS_CACHE = pathlib.Path(os.environ.get("PEERS_CACHE", "/tmp/halfgpu-peers"))

# Peer rows of compare-peers.sh shown as columns: (column, engine stem of its JSON result).
PEERS = [
    ("ncnn Vulkan fp32", "ncnn-vk-fp32"),
    ("ncnn Vulkan fp16", "ncnn-vk-fp16"),
    ("ORT WebGPU", "ort-webgpu"),
]

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


def run_peers(model, mesa, runs, warmup):
    """Runs compare-peers.sh on `model`; returns {stem: result JSON} and the Mesa it reports."""
    cmd = ["bash", str(PEERS_SCRIPT), str(model), "--mesa", mesa, "--runs", str(runs), "--warmup", str(warmup)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    found = re.search(r"per-engine logs in (\S+?)\)", out.stderr)
    if out.returncode != 0 or not found:
        why = (out.stderr.strip().splitlines() or ["failed"])[-1]
        return {stem: {"status": "failed", "notes": [why]} for _, stem in PEERS}, None
    rundir = pathlib.Path(found.group(1))
    results = {}
    for _, stem in PEERS:
        try:
            results[stem] = json.loads((rundir / f"{stem}.json").read_text())
        except (OSError, ValueError):
            results[stem] = {"status": "failed", "notes": ["no result file"]}
    mesa_line = re.search(r"Mesa \(lavapipe\) used: (.*)", out.stdout)
    return results, (mesa_line.group(1).strip() if mesa_line else None)


def mesa25_env():
    """Environment that points the Vulkan loader at the peers script's private Mesa 25."""
    icd = PEERS_CACHE / "mesa25/lvp_icd.json"
    if not icd.exists():
        sys.exit(f"{icd} is missing: the peers script did not set up Mesa 25")
    os.environ["VK_ICD_FILENAMES"] = str(icd)
    os.environ["VK_DRIVER_FILES"] = str(icd)


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
    ap.add_argument("--mesa", choices=["system", "25"], default="system")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--section", default="compare",
                    help="write between <!-- SECTION:begin --> and <!-- SECTION:end --> (default: compare)")
    args = ap.parse_args()
    use_peers = not args.no_peers
    if use_peers and not PEERS_SCRIPT.exists():
        sys.exit(f"{PEERS_SCRIPT} not found: set PEERS_SCRIPT or pass --no-peers")
    if args.mesa == "25" and not use_peers:
        sys.exit("--mesa 25 uses the Mesa that the peers script downloads: drop --no-peers")

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
    peer_results = {}  # model -> {stem: result}
    mesa_used = None
    first_peers = []  # the first model's peer results, one per round
    if use_peers:
        # The first model's peers run also sets up the requested Mesa (downloaded for 25).
        first = models[0]
        results, mesa_used = run_peers(first[1], args.mesa, 20, args.warmup)
        first_peers.append(results)
        print(f"peers: {first[0]} done (round 1)", file=sys.stderr)
    if args.mesa == "25":
        mesa25_env()
    for r in range(args.rounds):
        if use_peers and r > 0:
            results, m = run_peers(models[0][1], args.mesa, 20, args.warmup)
            first_peers.append(results)
            mesa_used = mesa_used or m
            print(f"peers: {models[0][0]} done (round {r + 1})", file=sys.stderr)
        if use_peers and r == 1:
            # The other models' peers run in the middle of the halfgpu rounds.
            for mname, mpath in models[1:]:
                peer_results[mname], m = run_peers(mpath, args.mesa, 20, args.warmup)
                mesa_used = mesa_used or m
                print(f"peers: {mname} done", file=sys.stderr)
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

    if use_peers and args.rounds < 2:
        for mname, mpath in models[1:]:
            peer_results[mname], m = run_peers(mpath, args.mesa, 20, args.warmup)
            mesa_used = mesa_used or m
    for i, (mname, _) in enumerate(models):
        runs = first_peers if i == 0 else [peer_results.get(mname, {})]
        for col, stem in PEERS if use_peers else []:
            found = [res.get(stem, {}) for res in runs]
            ok = [res["median_ms"] for res in found
                  if res.get("status") == "ok" and res.get("median_ms") is not None]
            if len(ok) == len(found) and ok:
                samples[(mname, col)] = ok
            else:
                notes = [n for res in found if res.get("status") != "ok" for n in res.get("notes", [])]
                info[(mname, col)] = "; ".join(dict.fromkeys(notes)) or "no result"

    names = [e[0] for e in ENGINES] + ([p[0] for p in PEERS] if use_peers else [])
    lines = []
    lines.append(f"Measured {datetime.date.today().isoformat()} by `scripts/compare.py` "
                 f"({args.rounds} alternating rounds x {args.runs} timed runs, median of round medians"
                 + (f"; peers: `compare-peers.sh` (its median of 20 runs) before each of the {args.rounds} rounds"
                    f" for {models[0][0]}, once for each other model, in the same session"
                    if use_peers else "") + ").")
    lines.append(f"Machine: {machine()}; load average before the run {load:.2f}.")
    lines.append(f"GPU adapter: {info.get('adapter', 'none')}.")
    if use_peers:
        lines.append(f"Mesa for every GPU column: {mesa_used or args.mesa}.")
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
    if use_peers:
        lines.append("")
        lines.append("| model | halfgpu GPU F32 / ncnn Vulkan fp32 | halfgpu GPU F32 / ORT WebGPU |")
        lines.append("|---|---:|---:|")
        for mname, _ in models:
            ours = samples.get((mname, "halfgpu GPU F32"))
            cells = []
            for col in ("ncnn Vulkan fp32", "ORT WebGPU"):
                peer = samples.get((mname, col))
                if not (ours and peer):
                    cells.append("n/a")
                    continue
                cell = f"{statistics.median(ours) / statistics.median(peer):.2f}x"
                if len(peer) > 1 and len(peer) == len(ours):
                    # The peers ran before each round: the ratio of each round.
                    per_round = sorted(o / q for o, q in zip(ours, peer))
                    cell += f" (rounds {per_round[0]:.2f}-{per_round[-1]:.2f}x)"
                cells.append(cell)
            lines.append(f"| {mname} | " + " | ".join(cells) + " |")
    errors = [f"- {k[0]} / {k[1]}: {v}" for k, v in info.items() if isinstance(k, tuple)]
    if errors:
        lines.append("")
        lines.append("Failures:")
        lines.extend(errors)
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        doc = ROOT / "docs/performance.md"
        begin, end = f"<!-- {args.section}:begin -->", f"<!-- {args.section}:end -->"
        text = doc.read_text() if doc.exists() else f"# Performance\n\n{begin}\n{end}\n"
        if begin not in text:
            text += f"\n{begin}\n{end}\n"
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        doc.write_text(f"{head}{begin}\n{table}\n{end}{tail}")


if __name__ == "__main__":
    main()
