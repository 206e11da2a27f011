#!/usr/bin/python3
"""Writes the benchmark checkpoint pair (deterministic) into a folder.

    /usr/bin/python3 bench/generate.py OUTDIR [--mb 1000] [--half-mb 250]

Writes, for a VGG-like network with batch norm (~60 tensors, realistic conv and linear
shapes) whose width is scaled so that one float32 checkpoint is about --mb megabytes:

    src.safetensors, tgt.safetensors   float32, written by hand (header + bytes)
    src.pt, tgt.pt                     the same tensors, torch.save (zip format)
and, for the per-element cost of half-float conversion, a narrower network of about
--half-mb megabytes of float32 saved three ways:
    half-src.f32.safetensors  half-tgt.f32.safetensors
    half-src.f16.safetensors  half-tgt.f16.safetensors
    half-src.bf16.safetensors half-tgt.bf16.safetensors
and manifest.json (the parameters, so bench/run.mjs can reuse a folder it made before).

target = source + noise, with the noise growing with depth (early layers nearly equal,
the classifier far apart), as after fine-tuning on a new task.
"""
import argparse
import json
import math
import os
import struct
import sys

import torch

SEED = 20240601


def template(width):
    """(name, shape) of every parameter, channels scaled by `width`."""
    def ch(c):
        return max(1, int(round(c * width)))

    cfg = [64, 64, 128, 128, 256, 256, 512, 512, 1024, 1024, 1024]
    shapes = []
    cin = 3
    for i, c in enumerate(cfg):
        co = ch(c)
        shapes.append((f"features.{i}.conv.weight", [co, cin, 3, 3]))
        shapes.append((f"features.{i}.bn.weight", [co]))
        shapes.append((f"features.{i}.bn.bias", [co]))
        shapes.append((f"features.{i}.bn.running_mean", [co]))
        shapes.append((f"features.{i}.bn.running_var", [co]))
        cin = co
    # Classifier after a 2x2 adaptive pool: large linear layers, but not one tensor holding most bytes.
    hid = ch(4096)
    shapes.append(("classifier.0.weight", [hid, cin * 2 * 2]))
    shapes.append(("classifier.0.bias", [hid]))
    shapes.append(("classifier.3.weight", [hid, hid]))
    shapes.append(("classifier.3.bias", [hid]))
    shapes.append(("classifier.6.weight", [1000, hid]))
    shapes.append(("classifier.6.bias", [1000]))
    return shapes


def total_bytes(shapes, size=4):
    return sum(math.prod(s) for _, s in shapes) * size


def fit(mb):
    """Width whose float32 checkpoint is closest to `mb` megabytes (bisection; size grows with width)."""
    lo, hi = 0.01, 8.0
    target = mb * 1e6
    for _ in range(60):
        mid = (lo + hi) / 2
        if total_bytes(template(mid)) < target:
            lo = mid
        else:
            hi = mid
    return template((lo + hi) / 2)


def pair(shapes, index):
    """Source and target tensors of parameter `index`, each from its own seeded generator."""
    name, shape = shapes[index]
    g = torch.Generator().manual_seed(SEED + index)
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
    scale = 1.0 / math.sqrt(fan_in) if len(shape) > 1 else 0.1
    src = torch.randn(shape, generator=g, dtype=torch.float32) * scale
    if name.endswith("running_var"):
        src = src.abs() + 0.5
    depth = index / max(1, len(shapes) - 1)
    rel_noise = 0.01 * (100 ** depth)  # 1% at the input, 100% at the classifier
    tgt = src + torch.randn(shape, generator=g, dtype=torch.float32) * (scale * rel_noise)
    return name, src, tgt


def raw_bytes(t, dtype):
    t = t.to(dtype).contiguous()
    if dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
ELEM = {torch.float32: 4, torch.float16: 2, torch.bfloat16: 2}


def write_safetensors_pair(shapes, src_path, tgt_path, dtype):
    """Streams one tensor at a time, so memory stays at one tensor pair."""
    header = {}
    off = 0
    for name, shape in shapes:
        n = math.prod(shape) * ELEM[dtype]
        header[name] = {"dtype": ST_DTYPE[dtype], "shape": shape, "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = {"format": "pt", "generator": "reuse-lens bench/generate.py"}
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)  # safetensors pads the header so data is 8-aligned
    with open(src_path, "wb") as fs, open(tgt_path, "wb") as ft:
        for f in (fs, ft):
            f.write(struct.pack("<Q", len(hb)))
            f.write(hb)
        for i in range(len(shapes)):
            _, s, t = pair(shapes, i)
            fs.write(raw_bytes(s, dtype))
            ft.write(raw_bytes(t, dtype))


def write_torch_pair(shapes, src_path, tgt_path):
    for which, path in ((1, src_path), (2, tgt_path)):
        sd = {}
        for i in range(len(shapes)):
            name, s, t = pair(shapes, i)
            sd[name] = s if which == 1 else t
            del s, t
        torch.save(sd, path)
        del sd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--mb", type=float, default=1000)
    ap.add_argument("--half-mb", type=float, default=None, help="float32 size of the half-float set (default mb/4)")
    args = ap.parse_args()
    half_mb = args.half_mb if args.half_mb is not None else args.mb / 4
    os.makedirs(args.outdir, exist_ok=True)
    torch.set_num_threads(os.cpu_count() or 1)
    out = lambda n: os.path.join(args.outdir, n)

    shapes = fit(args.mb)
    write_safetensors_pair(shapes, out("src.safetensors"), out("tgt.safetensors"), torch.float32)
    write_torch_pair(shapes, out("src.pt"), out("tgt.pt"))
    half = fit(half_mb)
    for dtype, tag in ((torch.float32, "f32"), (torch.float16, "f16"), (torch.bfloat16, "bf16")):
        write_safetensors_pair(half, out(f"half-src.{tag}.safetensors"), out(f"half-tgt.{tag}.safetensors"), dtype)

    manifest = {
        "mb": args.mb, "halfMb": half_mb, "seed": SEED,
        "tensors": len(shapes), "elements": sum(math.prod(s) for _, s in shapes),
        "halfTensors": len(half), "halfElements": sum(math.prod(s) for _, s in half),
        "bytesF32": total_bytes(shapes),
    }
    with open(out("manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps(manifest))


if __name__ == "__main__":
    sys.exit(main())
