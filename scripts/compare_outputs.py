#!/usr/bin/env python3
"""Run .tflite models in the reference runtime (ai-edge-litert) for the writer's tests.

  compare_outputs.py compare ORIGINAL REWRITTEN INPUTS.npz
      Runs both models on the arrays of INPUTS.npz (keys "0", "1", ... in input order) and
      checks that every output is bit-identical (same dtype, shape and bytes). Prints one line
      per output; exits 1 on any difference.

  compare_outputs.py run [--tensors] MODEL...
      Runs each model on seeded inputs (uniform in [0, 1) from numpy's default_rng(0)) and prints
      one JSON line per model: the resolver used and, per output, shape, dtype, finite, min, max,
      mean and std. With --tensors, also "tensors": {index: [rms, max_abs]} for every float32
      tensor of the graph after the run. Exits 1 if a model fails to load or run.

The reference kernels are used (no default delegate); a model with a custom op only the default
backend knows (e.g. Convolution2DTransposeBias) falls back to the default resolver.
"""
import json
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType


def load(path, resolver, keep_tensors=False):
    it = Interpreter(model_path=str(path), num_threads=1, experimental_op_resolver_type=resolver,
                     experimental_preserve_all_tensors=keep_tensors)
    it.allocate_tensors()
    return it


def load_any(path, keep_tensors=False):
    """Loads with the reference kernels, or the default resolver if a custom op needs it."""
    try:
        return load(path, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES, keep_tensors), "builtin"
    except RuntimeError as e:
        if "custom op" not in str(e):
            raise
        return load(path, OpResolverType.AUTO, keep_tensors), "default"


def invoke(it, inputs):
    details = it.get_input_details()
    if len(details) != len(inputs):
        raise ValueError(f"model has {len(details)} inputs, {len(inputs)} given")
    for d, x in zip(details, inputs):
        it.set_tensor(d["index"], x.astype(d["dtype"]))
    it.invoke()
    return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]


def seeded_inputs(it):
    rng = np.random.default_rng(0)
    inputs = []
    for d in it.get_input_details():
        if np.issubdtype(d["dtype"], np.floating):
            inputs.append(rng.random(d["shape"], dtype=np.float32).astype(d["dtype"]))
        else:
            inputs.append(rng.integers(0, 2, d["shape"]).astype(d["dtype"]))
    return inputs


def compare(original, rewritten, inputs_npz):
    npz = np.load(inputs_npz)
    inputs = [npz[str(i)] for i in range(len(npz.files))]
    it_a, resolver = load_any(original)
    rs = OpResolverType.AUTO if resolver == "default" else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    it_b = load(rewritten, rs)
    outs_a = invoke(it_a, inputs)
    outs_b = invoke(it_b, inputs)
    ok = len(outs_a) == len(outs_b) and len(outs_a) > 0
    print(f"resolver {resolver}: {len(outs_a)} vs {len(outs_b)} outputs")
    for i, (a, b) in enumerate(zip(outs_a, outs_b)):
        same = a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
        ok &= same
        print(f"output {i}: {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}: "
              f"{'identical' if same else 'DIFFERENT'}")
    return 0 if ok else 1


def tensor_stats(it):
    stats = {}
    for d in it.get_tensor_details():
        if d["dtype"] != np.float32:
            continue
        try:
            t = it.get_tensor(d["index"]).astype(np.float64)
        except ValueError:  # a tensor without data
            continue
        if t.size:
            stats[str(d["index"])] = [float(np.sqrt(np.mean(t * t))), float(np.abs(t).max())]
    return stats


def run(models):
    status = 0
    keep_tensors = bool(models) and models[0] == "--tensors"
    if keep_tensors:
        models = models[1:]
    for path in models:
        try:
            it, resolver = load_any(path, keep_tensors)
            outs = invoke(it, seeded_inputs(it))
            report = {"model": str(path), "ok": True, "resolver": resolver, "outputs": []}
            for y in outs:
                f = y.astype(np.float64)
                report["outputs"].append({
                    "shape": [int(s) for s in y.shape],
                    "dtype": np.dtype(y.dtype).name,
                    "finite": bool(np.isfinite(f).all()),
                    "min": float(f.min()) if f.size else 0.0,
                    "max": float(f.max()) if f.size else 0.0,
                    "mean": float(f.mean()) if f.size else 0.0,
                    "std": float(f.std()) if f.size else 0.0,
                })
            if keep_tensors:
                report["tensors"] = tensor_stats(it)
        except Exception as e:  # report every model, then fail
            report = {"model": str(path), "ok": False, "error": f"{type(e).__name__}: {e}"}
            status = 1
        print(json.dumps(report), flush=True)
    return status


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "compare" and len(sys.argv) == 5:
        return compare(*sys.argv[2:5])
    if len(sys.argv) >= 3 and sys.argv[1] == "run":
        return run(sys.argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
