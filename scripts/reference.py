#!/usr/bin/env python3
"""Record what the reference runtime (ai-edge-litert) says about each model.

For every MODELS_DIR/NAME.tflite this writes, into OUT_DIR:
  NAME.json          op histogram, inputs and outputs (name, shape, dtype) as the reference sees them
  NAME.inputs.npz    seeded inputs, arrays keyed "0", "1", ... in input order
  NAME.outputs.npz   the reference's outputs for those inputs, keyed "0", "1", ... in output order
  NAME.image.inputs.npz / NAME.image.outputs.npz
                     the same for a real photograph (IMAGE, resized to the model's [1, H, W, 3]
                     input and scaled to [-1, 1] as the MediaPipe models expect), for models
                     with such an input
Inputs are uniform in [0, 1) from numpy's default_rng(0), the convention of ../shared/peers.
The reference kernels (no default delegate) are used where the model allows it; a model with a
custom op only the default (XNNPACK) backend knows runs with that backend, and the JSON says which.
"""
import collections
import json
import pathlib
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType


def run(model_path, resolver, inputs=None):
    it = Interpreter(model_path=str(model_path), num_threads=1, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    ins = it.get_input_details()
    if inputs is None:
        rng = np.random.default_rng(0)
        inputs = []
        for d in ins:
            if np.issubdtype(d["dtype"], np.floating):
                inputs.append(rng.random(d["shape"], dtype=np.float32).astype(d["dtype"]))
            else:
                inputs.append(rng.integers(0, 2, d["shape"]).astype(d["dtype"]))
    for d, x in zip(ins, inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    outs = [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]
    return it, inputs, outs


def describe(details):
    return [
        {"name": d["name"], "shape": [int(s) for s in d["shape"]], "dtype": np.dtype(d["dtype"]).name}
        for d in details
    ]


def image_input(image_path, details):
    """The photograph as the model's input, or None when the input is not [1, H, W, 3] float."""
    if len(details) != 1:
        return None
    shape = [int(s) for s in details[0]["shape"]]
    if len(shape) != 4 or shape[0] != 1 or shape[3] != 3 or not np.issubdtype(details[0]["dtype"], np.floating):
        return None
    from PIL import Image

    img = Image.open(image_path).convert("RGB").resize((shape[2], shape[1]), Image.BILINEAR)
    return [(np.asarray(img, dtype=np.float32) / 127.5 - 1.0)[None, ...]]


def main():
    models, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    image = sys.argv[3] if len(sys.argv) > 3 else None
    out.mkdir(parents=True, exist_ok=True)
    for model in sorted(models.glob("*.tflite")):
        name = model.stem
        probe = Interpreter(model_path=str(model), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        ops = probe._get_ops_details()
        hist = collections.Counter(o["op_name"] for o in ops)
        runtime = "builtin"
        try:
            it, inputs, outs = run(model, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        except RuntimeError:
            runtime = "xnnpack"
            it, inputs, outs = run(model, OpResolverType.AUTO)
        info = {
            "model": model.name,
            "runtime": runtime,
            "operators": len(ops),
            "op_counts": dict(sorted(hist.items())),
            "inputs": describe(it.get_input_details()),
            "outputs": describe(it.get_output_details()),
        }
        (out / f"{name}.json").write_text(json.dumps(info, indent=1) + "\n")
        np.savez(out / f"{name}.inputs.npz", **{str(i): x for i, x in enumerate(inputs)})
        np.savez(out / f"{name}.outputs.npz", **{str(i): y for i, y in enumerate(outs)})
        photo = image_input(image, it.get_input_details()) if image else None
        if photo is not None:
            resolver = OpResolverType.AUTO if runtime == "xnnpack" else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            _, _, photo_outs = run(model, resolver, photo)
            np.savez(out / f"{name}.image.inputs.npz", **{str(i): x for i, x in enumerate(photo)})
            np.savez(out / f"{name}.image.outputs.npz", **{str(i): y for i, y in enumerate(photo_outs)})
        print(f"reference: {name}: {len(ops)} ops via {runtime}", file=sys.stderr)


if __name__ == "__main__":
    main()
