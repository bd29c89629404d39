#!/usr/bin/env python3
"""The reference runtime's (ai-edge-litert) view of models, for the float16 converter's tests.

  run_reference.py describe MODEL...
      One JSON line per model: "ops" (operator name -> count, from _get_ops_details()),
      "inputs" and "outputs" (name, shape, dtype from get_input_details/get_output_details).

  run_reference.py diff [--batch] REFERENCE OTHER INPUTS.npz
      Runs both models on the arrays of INPUTS.npz (keys "0", "1", ... in input order) and
      prints one JSON object with, per output: max_abs_diff (max |other - reference|),
      max_abs_ref (max |reference|), and argmax of both models' outputs. With --batch every
      array has a leading sample axis and each sample is run separately (the maxima are over
      all samples; argmax lists have one entry per sample).

Models load with the reference kernels (no default delegate), falling back to the default
resolver for custom ops, exactly as compare_outputs.py does.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_outputs import invoke, load_any  # noqa: E402


def io_view(details):
    return [{"name": d["name"], "shape": [int(s) for s in d["shape"]],
             "dtype": np.dtype(d["dtype"]).name} for d in details]


def describe(models):
    for path in models:
        it, resolver = load_any(path)
        ops = {}
        for op in it._get_ops_details():
            ops[op["op_name"]] = ops.get(op["op_name"], 0) + 1
        print(json.dumps({"model": str(path), "resolver": resolver, "ops": ops,
                          "inputs": io_view(it.get_input_details()),
                          "outputs": io_view(it.get_output_details())}), flush=True)
    return 0


def diff(reference, other, inputs_npz, batch):
    npz = np.load(inputs_npz)
    arrays = [npz[str(i)] for i in range(len(npz.files))]
    samples = ([[a[s] for a in arrays] for s in range(arrays[0].shape[0])] if batch
               else [arrays])
    it_a, _ = load_any(reference)
    it_b, _ = load_any(other)
    outputs = None
    for inputs in samples:
        outs_a = invoke(it_a, inputs)
        outs_b = invoke(it_b, inputs)
        if outputs is None:
            outputs = [{"shape": [int(s) for s in a.shape], "max_abs_diff": 0.0,
                        "max_abs_ref": 0.0, "argmax_ref": [], "argmax_other": []}
                       for a in outs_a]
        for o, a, b in zip(outputs, outs_a, outs_b):
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            o["max_abs_diff"] = max(o["max_abs_diff"], float(np.abs(a64 - b64).max()))
            o["max_abs_ref"] = max(o["max_abs_ref"], float(np.abs(a64).max()))
            o["argmax_ref"].append(int(np.argmax(a)))
            o["argmax_other"].append(int(np.argmax(b)))
    print(json.dumps({"samples": len(samples), "outputs": outputs}), flush=True)
    return 0


def main():
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "describe":
        return describe(args[1:])
    if args and args[0] == "diff":
        batch = "--batch" in args
        rest = [a for a in args[1:] if a != "--batch"]
        if len(rest) == 3:
            return diff(*rest, batch)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
