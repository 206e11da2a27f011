#!/usr/bin/python3
"""Writes the transposed-layout benchmark pairs (deterministic) into a folder.

    /usr/bin/python3 bench/generate_transposed.py OUTDIR [--mb 1000]

One float32 matrix W of about --mb megabytes stored as the frameworks store a layer's weights
[in, out], which Reuse Lens compares in PyTorch's [out, in]:
    dense-src.h5, dense-tgt.h5          Keras save_weights layout, one Dense kernel (h5py, contiguous)
    matmul-src.onnx, matmul-tgt.onnx    Y = MatMul(X, W), W an initializer (raw_data)
    plain-src.safetensors, plain-tgt.safetensors   the same bytes as one safetensors tensor
and manifest-transposed.json. target = source + noise.
"""
import argparse
import json
import math
import os
import struct

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper

SEED = 20251206


def matrices(mb):
    """The source and target matrix [in, out] of about `mb` megabytes (bench/generate_streamed.py uses them too)."""
    side = max(64, int(math.sqrt(mb * 1e6 / 4)) // 64 * 64)
    rng = np.random.default_rng(SEED)
    src = (rng.standard_normal((side, side), dtype=np.float32) * 0.05).astype(np.float32)
    tgt = (src + rng.standard_normal((side, side), dtype=np.float32) * 0.005).astype(np.float32)
    return src, tgt


def write_safetensors(path, w, name="dense.kernel"):
    """`w` as the one tensor `name` of a safetensors file."""
    header = json.dumps({name: {"dtype": "F32", "shape": list(w.shape), "data_offsets": [0, w.nbytes]}}).encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        f.write(w.tobytes())


def write_keras_h5(path, w, **storage):
    """`w` as the one Dense kernel of a Keras save_weights .h5; `storage`: h5py's chunks, compression."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"dense"])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.13.1"
        g = f.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0"])
        g.create_dataset("dense/kernel:0", data=w, **storage)


def setup():
    """OUTDIR and --mb from the command line (made), the pair of matrices, and a path maker."""
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--mb", type=float, default=1000)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    src, tgt = matrices(a.mb)
    return a, src, tgt, lambda name: os.path.join(a.outdir, name)


def main():
    a, src, tgt, out = setup()
    rows, cols = src.shape  # [in, out]
    for tag, w in (("src", src), ("tgt", tgt)):
        write_keras_h5(out(f"dense-{tag}.h5"), w)
        init = helper.make_tensor("W", TensorProto.FLOAT, [rows, cols], w.tobytes(), raw=True)
        graph = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"])], "matmul",
                                  [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, rows])],
                                  [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, cols])], [init])
        with open(out(f"matmul-{tag}.onnx"), "wb") as f:
            f.write(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
        write_safetensors(out(f"plain-{tag}.safetensors"), w)
    manifest = {"mb": a.mb, "rows": rows, "cols": cols, "bytes": int(src.nbytes)}
    with open(out("manifest-transposed.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()
