#!/usr/bin/python3
"""What a NumPy user would write: memory-map both safetensors files, RMSE per tensor.

    /usr/bin/python3 bench/baseline_numpy.py SRC.safetensors TGT.safetensors
The header is parsed by hand (8-byte length + JSON), each tensor is an np.memmap view at
its offset, and the RMSE is what a user writes first: np.sqrt(np.mean((s - t) ** 2)) in
float32 (NumPy sums float32 pairwise, so this is accurate enough and the fastest).
With --f64 the difference is taken in float64 instead, as a careful user might.
A `*.safetensors.index.json` (sharded checkpoint) maps every shard; BF16 tensors are widened
to float32 (NumPy has no bfloat16: the 16 bits become a float32's high half).
Prints one JSON line like bench/baseline_torch.py (plus `cpu`: the whole process's CPU seconds).
"""
import json
import os
import resource
import struct
import sys
import time

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "BF16": np.uint16}


def tensors(path):
    if path.endswith(".index.json"):
        with open(path) as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        out = {}
        for shard in shards:
            out.update(tensors(os.path.join(os.path.dirname(path), shard)))
        return out
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = (info["dtype"], mm[base + a: base + b].view(DTYPES[info["dtype"]]).reshape(info["shape"]))
    return out


def widened(dtype, x):
    return (x.astype(np.uint32) << 16).view(np.float32) if dtype == "BF16" else x


def main(src_path, tgt_path):
    t0 = time.perf_counter()
    src = tensors(src_path)
    tgt = tensors(tgt_path)
    rmse = {}
    for name, (ds, s) in src.items():
        dt, t = tgt.get(name, (None, None))
        if t is None or t.shape != s.shape:
            continue
        s, t = widened(ds, s), widened(dt, t)
        if F64:
            d = s.astype(np.float64) - t.astype(np.float64)
            rmse[name] = float(np.sqrt(np.mean(d * d)))
        else:
            rmse[name] = float(np.sqrt(np.mean((s - t) ** 2)))
    t1 = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "wall": t1 - t0,
        # CPU time of the whole process (interpreter, import numpy, every thread), as ours is counted.
        "cpu": usage.ru_utime + usage.ru_stime,
        "peakRssMB": usage.ru_maxrss / 1024,
        "tensors": len(rmse), "checksum": sum(rmse.values()), "accumulation": "float64" if F64 else "float32",
    }))


F64 = "--f64" in sys.argv

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(args[0], args[1])
