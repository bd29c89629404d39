#!/usr/bin/env python3
"""Run every single-op conformance case through the reference runtime (ai-edge-litert).

Usage: oracle_reference.py CASES_DIR

CASES_DIR holds, per case NAME (written by tests/oracle.rs):
  NAME.tflite        the model
  NAME.inputs.npz    its inputs, arrays keyed "0", "1", ... in input order
This writes, into the same directory:
  NAME.outputs.npz   the reference's outputs, keyed "0", "1", ... in output order
  rejected.json      [{"name": NAME, "error": MESSAGE}, ...] for every case the reference
                     runtime refused to build, allocate or invoke
The reference kernels are used (BUILTIN_WITHOUT_DEFAULT_DELEGATES): no XNNPACK, one thread.
"""
import json
import pathlib
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType


def run(model, inputs):
    it = Interpreter(
        model_path=str(model),
        num_threads=1,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    it.allocate_tensors()
    details = it.get_input_details()
    if len(details) != len(inputs):
        raise RuntimeError(f"model has {len(details)} inputs, the case gives {len(inputs)}")
    for d, x in zip(details, inputs):
        it.set_tensor(d["index"], x.astype(d["dtype"]).reshape(d["shape"]))
    it.invoke()
    return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]


def main():
    cases = pathlib.Path(sys.argv[1])
    rejected = []
    ran = 0
    for model in sorted(cases.glob("*.tflite")):
        name = model.stem
        with np.load(cases / f"{name}.inputs.npz") as npz:
            inputs = [npz[str(i)] for i in range(len(npz.files))]
        try:
            outputs = run(model, inputs)
        except (RuntimeError, ValueError) as e:
            rejected.append({"name": name, "error": " ".join(str(e).split())[:400] or repr(e)})
            continue
        np.savez(cases / f"{name}.outputs.npz", **{str(i): o for i, o in enumerate(outputs)})
        ran += 1
    (cases / "rejected.json").write_text(json.dumps(rejected, indent=1))
    print(f"reference: {ran} cases run, {len(rejected)} rejected", file=sys.stderr)


if __name__ == "__main__":
    main()
