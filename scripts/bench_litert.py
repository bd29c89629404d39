#!/usr/bin/env python3
"""Median invoke latency of ai-edge-litert (XNNPACK, its default CPU backend) on one model.

usage: bench_litert.py MODEL THREADS RUNS WARMUP  -> prints one JSON object
Inputs are seeded uniform [0, 1) values (numpy default_rng(0)); timing covers set_tensor,
invoke and get_tensor of every output, like `halfgpu bench`.
"""
import json
import sys
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def main():
    model, threads, runs, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    t0 = time.perf_counter()
    it = Interpreter(model_path=model, num_threads=threads)
    it.allocate_tensors()
    init_ms = (time.perf_counter() - t0) * 1e3
    rng = np.random.default_rng(0)
    ins = [(d["index"], rng.random(d["shape"], dtype=np.float32).astype(d["dtype"])) for d in it.get_input_details()]
    outs = [d["index"] for d in it.get_output_details()]

    def once():
        for i, x in ins:
            it.set_tensor(i, x)
        it.invoke()
        for o in outs:
            it.get_tensor(o)

    for _ in range(warmup):
        once()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        once()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    print(json.dumps({"init_ms": init_ms, "median_ms": times[len(times) // 2], "min_ms": times[0], "runs": runs}))


if __name__ == "__main__":
    main()
