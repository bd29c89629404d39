"""Runs every fetched real model through ai-edge-litert with and without libhalfgpu.so loaded
as an external delegate (load_delegate), and compares the outputs.

    target/test-assets/venv/bin/python scripts/ffi_python_check.py [--lib PATH] [--precision f32]

Prints one line per model and precision and exits non-zero on any failure. Also checks that a
bad option raises ValueError naming the key and that the delegate claimed nodes
(halfgpu_delegate_claimed_nodes)."""

import argparse
import ctypes
import glob
import os
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter, load_delegate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSETS = os.environ.get("HALFGPU_ASSETS", os.path.join(ROOT, "target", "test-assets"))
# F32: the project's bound; f16 modes: 11 significant bits compounded along the network.
TOLERANCE = {"f32": 1e-4, "f32f16": 0.05, "f16": 0.05}


def run(model, inputs, delegate=None):
    it = Interpreter(
        model_path=model,
        experimental_delegates=[delegate] if delegate is not None else None,
    )
    it.allocate_tensors()
    for i, d in enumerate(it.get_input_details()):
        it.set_tensor(d["index"], inputs[str(i)])
    it.invoke()
    outs = [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]
    return outs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default=os.path.join(ROOT, "target", "release", "libhalfgpu.so"))
    ap.add_argument("--precision", action="append")
    ap.add_argument("--model", action="append")
    args = ap.parse_args()
    precisions = args.precision or ["f32", "f16"]
    lib = ctypes.CDLL(args.lib)
    for f in ("halfgpu_delegate_claimed_nodes", "halfgpu_delegate_total_nodes",
              "halfgpu_delegate_partitions"):
        getattr(lib, f).restype = ctypes.c_int64
        getattr(lib, f).argtypes = [ctypes.c_void_p]
    failures = []

    # Bad options: ValueError with the message naming the key and the valid ones.
    for opts, key in (({"no_such_option": "1"}, "no_such_option"),
                      ({"precision": "f8"}, "precision"),
                      ({"precision_loss_allowed": "maybe"}, "precision_loss_allowed")):
        try:
            load_delegate(args.lib, opts)
            failures.append(f"bad option {opts} was accepted")
        except ValueError as e:
            msg = str(e)
            ok = key in msg and "valid options" in msg
            print(f"bad option {opts}: ValueError: {msg[:120]}...")
            if not ok:
                failures.append(f"bad option {opts}: unclear message {msg!r}")

    models = sorted(glob.glob(os.path.join(ASSETS, "models", "*.tflite")))
    if args.model:
        models = [m for m in models if os.path.basename(m)[:-7] in args.model]
    for model in models:
        name = os.path.basename(model)[:-len(".tflite")]
        inputs = dict(np.load(os.path.join(ASSETS, "reference", f"{name}.inputs.npz")))
        ref = run(model, inputs)
        for p in precisions:
            d = load_delegate(args.lib, {"precision": p})
            outs = run(model, inputs, d)
            claimed = lib.halfgpu_delegate_claimed_nodes(d._delegate_ptr)
            total = lib.halfgpu_delegate_total_nodes(d._delegate_ptr)
            parts = lib.halfgpu_delegate_partitions(d._delegate_ptr)
            worst = 0.0
            for a, b in zip(outs, ref):
                scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
                err = float(np.max(np.abs(a.astype(np.float64) - b))) if b.size else 0.0
                if not np.all(np.isfinite(a)):
                    err = float("inf")
                worst = max(worst, err / scale)
            ok = worst <= TOLERANCE[p] and claimed == total and parts == 1
            print(f"{name:28s} {p:7s} claimed {claimed:4d}/{total:<4d} in {parts} partition(s)"
                  f"  max rel err {worst:.3e}  {'ok' if ok else 'FAIL'}", flush=True)
            if not ok:
                failures.append(f"{name} {p}: rel err {worst:.3e}, claimed {claimed}")
            del d
    if failures:
        print("FAILURES:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("all ok")


if __name__ == "__main__":
    main()
