#!/usr/bin/python3
"""Writes the streamed-storage benchmark pairs (deterministic) into a folder.

    /usr/bin/python3 bench/generate_streamed.py OUTDIR [--mb 1000]

The same float32 matrix W [in, out] as bench/generate_transposed.py (same seed, so the same bytes
as its plain-*.safetensors), stored the ways that used to be read whole:
    stream-src.keras, stream-tgt.keras    Keras 3 model.save layout: a zip (stored, as Keras writes
                                          it) of config.json + model.weights.h5 (contiguous dataset)
    stream-src.h5, stream-tgt.h5          Keras save_weights layout, the kernel chunked + gzip (h5py
                                          chunks=True, compression="gzip": level 4)
    stream-src.npz, stream-tgt.npz        np.savez_compressed (a deflated member)
    tfjs-src/, tfjs-tgt/                  TF.js layers model, 4 MB shards (tfjs's default): the
                                          kernel spans ~250 of them
    plain-src.safetensors, plain-tgt.safetensors   the same bytes as one safetensors tensor (if absent)
and the same matrix quantized as converters write it (dequantized as they are read):
    tfjs-q-src/, tfjs-q-tgt/              TF.js Dense kernel [in, out], uint8 (scale, min), 4 MB shards
    fc-src.tflite, fc-tgt.tflite          TFLite FULLY_CONNECTED weight [out, in], int8 per output
                                          channel (its weights after the flatbuffer, test/fixtures/tflite_write.py)
and in two layouts:
    dense-src.h5                          Keras save_weights layout, contiguous: the kernel [in, out]
    linear-tgt.safetensors                the target as PyTorch's Linear stores it, dense.weight [out, in]
and manifest-streamed.json (with numpy's RMSE of each quantized pair's dequantized values).
target = source + noise. Files already present are kept (a rerun adds what is missing).
"""
import json
import os
import sys
import zipfile

import h5py
import numpy as np

from generate_transposed import setup, write_keras_h5, write_safetensors

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures"))
from tflite_write import write_tflite  # noqa: E402

SHARD_BYTES = 4 * 1024 * 1024
BLOCK = 512  # rows or columns quantized at a time (float64 temporaries of BLOCK x side)


def write_shards(d, blob, weight, config):
    """A TF.js layers model in `d`: `blob` cut into tfjs's 4 MB shards, one weight."""
    os.makedirs(d, exist_ok=True)
    paths = []
    n = (len(blob) + SHARD_BYTES - 1) // SHARD_BYTES
    for i in range(n):
        name = f"group1-shard{i + 1}of{n}.bin"
        with open(os.path.join(d, name), "wb") as f:
            f.write(blob[i * SHARD_BYTES:(i + 1) * SHARD_BYTES])
        paths.append(name)
    with open(os.path.join(d, "model.json"), "w") as f:
        json.dump({"format": "layers-model", "modelTopology": config, "weightsManifest": [{"paths": paths, "weights": [weight]}]}, f)


def tfjs_uint8(w):
    """tfjs-converter's uint8 quantization of w (scale, min over the tensor), a block of rows at a time: q and the float32 it stands for."""
    lo, hi = float(w.min()), float(w.max())
    scale = (hi - lo) / 255
    q = np.empty(w.shape, np.uint8)
    for r in range(0, w.shape[0], BLOCK):
        q[r:r + BLOCK] = np.clip(np.round((w[r:r + BLOCK].astype(np.float64) - lo) / scale), 0, 255)
    return q, {"dtype": "uint8", "scale": scale, "min": lo}, lambda r0, r1: (q[r0:r1].astype(np.float64) * scale + lo).astype(np.float32)


def int8_per_channel(w):
    """TFLite's int8 quantization of the Linear weight w.T [out, in], one float32 scale per output (column of w): q [out, in]."""
    scale = np.zeros(w.shape[1], np.float32)
    for r in range(0, w.shape[0], BLOCK):
        scale = np.maximum(scale, np.abs(w[r:r + BLOCK]).max(axis=0))
    scale = (scale / np.float32(127)).astype(np.float32)
    scale[scale == 0] = 1
    s64 = scale.astype(np.float64)
    q = np.empty((w.shape[1], w.shape[0]), np.int8)
    for c in range(0, w.shape[1], BLOCK):
        q[c:c + BLOCK] = np.clip(np.round(w[:, c:c + BLOCK].T.astype(np.float64) / s64[c:c + BLOCK, None]), -127, 127)
    return q, scale, lambda r0, r1: (q[r0:r1].astype(np.float64) * s64[r0:r1, None]).astype(np.float32)


def rmse(values_src, values_tgt, rows):
    """numpy's RMSE of two dequantized tensors given a block of rows at a time (float64 sums)."""
    sse, n = 0.0, 0
    for r in range(0, rows, BLOCK):
        d = values_tgt(r, r + BLOCK).astype(np.float64) - values_src(r, r + BLOCK)
        sse += float(np.dot(d.ravel(), d.ravel()))
        n += d.size
    return float(np.sqrt(sse / n))


def quantized(out, src, tgt, config):
    """The quantized pairs (files written if absent); numpy's RMSE of each pair's dequantized values."""
    rows, cols = src.shape
    got = {}
    for tag, w in (("src", src), ("tgt", tgt)):
        q, quant, values = tfjs_uint8(w)
        got[("tfjs", tag)] = values
        if not os.path.exists(out(f"tfjs-q-{tag}/model.json")):
            write_shards(out(f"tfjs-q-{tag}"), q.tobytes(), {"name": "dense/kernel", "shape": [rows, cols], "dtype": "float32", "quantization": quant}, config)
        q8, scale, values8 = int8_per_channel(w)
        got[("tflite", tag)] = values8
        if not os.path.exists(out(f"fc-{tag}.tflite")):
            write_tflite(out(f"fc-{tag}.tflite"), [
                {"name": "input", "shape": [1, rows], "type": 0},
                {"name": "dense/MatMul", "shape": [cols, rows], "type": 9, "data": q8,
                 "quantization": {"scale": [float(x) for x in scale], "zero_point": [0] * cols, "quantized_dimension": 0}},
                {"name": "output", "shape": [1, cols], "type": 0}], [(9, [0, 1, -1], [2])])
    return {"tfjs": rmse(got[("tfjs", "src")], got[("tfjs", "tgt")], rows), "tflite": rmse(got[("tflite", "src")], got[("tflite", "tgt")], cols)}


def main():
    a, src, tgt, out = setup()
    rows, cols = src.shape
    config = {"class_name": "Sequential", "config": {"name": "m", "layers": [{"class_name": "Dense", "config": {"name": "dense", "units": cols, "use_bias": False}}]}}
    for tag, w in (("src", src), ("tgt", tgt)):
        if not os.path.exists(out(f"stream-{tag}.keras")):
            # .keras: model.weights.h5 written to a temp file first (a gigabyte in BytesIO is wasteful).
            h5path = out(f"stream-{tag}.weights.tmp.h5")
            with h5py.File(h5path, "w") as f:
                f.create_dataset("layers/dense/vars/0", data=w)
            with zipfile.ZipFile(out(f"stream-{tag}.keras"), "w") as z:
                z.writestr("metadata.json", json.dumps({"keras_version": "3.3.3"}))
                z.writestr("config.json", json.dumps(config))
                z.write(h5path, "model.weights.h5")
            os.remove(h5path)
        if not os.path.exists(out(f"stream-{tag}.h5")):
            write_keras_h5(out(f"stream-{tag}.h5"), w, chunks=True, compression="gzip")
        if not os.path.exists(out(f"stream-{tag}.npz")):
            np.savez_compressed(out(f"stream-{tag}.npz"), **{"dense.kernel": w})
        if not os.path.exists(out(f"tfjs-{tag}/model.json")):
            write_shards(out(f"tfjs-{tag}"), w.tobytes(), {"name": "dense/kernel", "shape": [rows, cols], "dtype": "float32"}, config)
        # The same matrix as one safetensors tensor (what bench/generate_transposed.py writes, byte for byte).
        if not os.path.exists(out(f"plain-{tag}.safetensors")):
            write_safetensors(out(f"plain-{tag}.safetensors"), w)
    # Two layouts: the source as Keras stores a Dense kernel, the target as PyTorch stores a Linear weight.
    if not os.path.exists(out("dense-src.h5")):
        write_keras_h5(out("dense-src.h5"), src)
    if not os.path.exists(out("linear-tgt.safetensors")):
        write_safetensors(out("linear-tgt.safetensors"), np.ascontiguousarray(tgt.T), name="dense.weight")
    manifest = {"mb": a.mb, "rows": rows, "cols": cols, "bytes": int(src.nbytes), "chunks": list(h5py.File(out("stream-src.h5"), "r")["dense/dense/kernel:0"].chunks),
                "quantizedRmse": quantized(out, src, tgt, config)}
    with open(out("manifest-streamed.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
