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
and manifest-streamed.json. target = source + noise.
"""
import json
import os
import zipfile

import h5py
import numpy as np

from generate_transposed import setup, write_keras_h5, write_safetensors

SHARD_BYTES = 4 * 1024 * 1024


def main():
    a, src, tgt, out = setup()
    rows, cols = src.shape
    config = {"class_name": "Sequential", "config": {"name": "m", "layers": [{"class_name": "Dense", "config": {"name": "dense", "units": cols, "use_bias": False}}]}}
    for tag, w in (("src", src), ("tgt", tgt)):
        # .keras: model.weights.h5 written to a temp file first (a gigabyte in BytesIO is wasteful).
        h5path = out(f"stream-{tag}.weights.tmp.h5")
        with h5py.File(h5path, "w") as f:
            f.create_dataset("layers/dense/vars/0", data=w)
        with zipfile.ZipFile(out(f"stream-{tag}.keras"), "w") as z:
            z.writestr("metadata.json", json.dumps({"keras_version": "3.3.3"}))
            z.writestr("config.json", json.dumps(config))
            z.write(h5path, "model.weights.h5")
        os.remove(h5path)
        write_keras_h5(out(f"stream-{tag}.h5"), w, chunks=True, compression="gzip")
        np.savez_compressed(out(f"stream-{tag}.npz"), **{"dense.kernel": w})
        d = out(f"tfjs-{tag}")
        os.makedirs(d, exist_ok=True)
        blob = w.tobytes()
        paths = []
        n = (len(blob) + SHARD_BYTES - 1) // SHARD_BYTES
        for i in range(n):
            name = f"group1-shard{i + 1}of{n}.bin"
            with open(os.path.join(d, name), "wb") as f:
                f.write(blob[i * SHARD_BYTES:(i + 1) * SHARD_BYTES])
            paths.append(name)
        with open(os.path.join(d, "model.json"), "w") as f:
            json.dump({"format": "layers-model", "modelTopology": config,
                       "weightsManifest": [{"paths": paths, "weights": [{"name": "dense/kernel", "shape": [rows, cols], "dtype": "float32"}]}]}, f)
        # The same matrix as one safetensors tensor (what bench/generate_transposed.py writes, byte for byte).
        if not os.path.exists(out(f"plain-{tag}.safetensors")):
            write_safetensors(out(f"plain-{tag}.safetensors"), w)
    manifest = {"mb": a.mb, "rows": rows, "cols": cols, "bytes": int(src.nbytes), "chunks": list(h5py.File(out("stream-src.h5"), "r")["dense/dense/kernel:0"].chunks)}
    with open(out("manifest-streamed.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
