#!/usr/bin/env python3
"""Runs this library's ONNX exports in ONNX Runtime and compares with its own outputs.

    cargo run --example export_onnx -- target/onnx_check
    python3 scripts/onnx_check.py target/onnx_check

Needs `pip install onnxruntime numpy safetensors` (and `onnx` for the optional
structural check). For every `NAME.io.safetensors` written by the example, both
`NAME.onnx` (ONNX's recurrent operators) and `NAME.unrolled.onnx` are run on its `x`
(and `lengths`, where the model was exported with that input) and must match its
`y` to 1e-5; the largest absolute difference of each is printed.
Exits non-zero if any model fails.
"""

import glob
import os
import sys

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file

TOL = 1e-5

try:
    import onnx
except ImportError:
    onnx = None


def run(path, inputs):
    if onnx is not None:
        onnx.checker.check_model(onnx.load(path), full_check=True)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run(["y"], inputs)[0]


def main(directory):
    cases = sorted(glob.glob(os.path.join(directory, "*.io.safetensors")))
    if not cases:
        sys.exit(f"no *.io.safetensors in {directory}; run the export_onnx example first")
    print(f"onnxruntime {ort.__version__}" + (f", onnx {onnx.__version__} checker" if onnx else ""))
    failed = 0
    for case in cases:
        name = os.path.basename(case)[: -len(".io.safetensors")]
        io = load_file(case)
        # A model whose output ignores its input (a dead ReLU) would match any graph.
        spread = float(np.max(np.abs(io["y"] - io["y"][:1])))
        if spread <= 1e-2:
            sys.exit(f"{name}: outputs barely depend on the input (spread {spread:.1e})")
        errors = []
        for form in ["onnx", "unrolled.onnx"]:
            inputs = {k: v for k, v in io.items() if k != "y"}
            got = run(os.path.join(directory, f"{name}.{form}"), inputs)
            if got.shape != io["y"].shape:
                errors.append(f"shape {got.shape} != {io['y'].shape}")
                failed += 1
                continue
            err = float(np.max(np.abs(got.astype(np.float64) - io["y"].astype(np.float64))))
            errors.append(f"{err:.2e}")
            failed += err > TOL
        print(f"{name:>20}: operators {errors[0]:>9}  unrolled {errors[1]:>9}")
    if failed:
        sys.exit(f"{failed} export(s) differ by more than {TOL}")
    print(f"all {len(cases)} models match to {TOL}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/onnx_check")
