#!/usr/bin/python3
"""What a PyTorch user would write: load both checkpoints, RMSE per tensor in float32 on all cores.

    /usr/bin/python3 bench/baseline_torch.py SRC.pt TGT.pt
Prints one JSON line: wall seconds (load + compare, after interpreter and torch import),
peak RSS in MB (ru_maxrss of this process), tensors compared, and a checksum of the RMSEs.
"""
import json
import os
import resource
import sys
import time

import torch

torch.set_num_threads(os.cpu_count() or 1)


def main(src_path, tgt_path):
    t0 = time.perf_counter()
    src = torch.load(src_path, map_location="cpu")
    tgt = torch.load(tgt_path, map_location="cpu")
    t1 = time.perf_counter()
    rmse = {}
    with torch.no_grad():
        for name, s in src.items():
            t = tgt.get(name)
            if t is None or t.shape != s.shape:
                continue
            rmse[name] = torch.sqrt(torch.mean((s.float() - t.float()) ** 2)).item()
    t2 = time.perf_counter()
    print(json.dumps({
        "wall": t2 - t0, "load": t1 - t0, "compute": t2 - t1,
        "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tensors": len(rmse), "checksum": sum(rmse.values()),
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
