#!/usr/bin/python3
"""Writes a mixture-of-experts-shaped state dict pair with many small tensors (deterministic).

    /usr/bin/python3 bench/generate_many.py OUTDIR --blocks 61 --experts 256 [--dim 8]

Per block: an attention projection, a norm, and `experts` experts of 3 projections
(gate [4d, d], up [4d, d], down [d, 4d]) — 61 × 256 × 3 = 46,848 expert tensors, the
shape of today's MoE checkpoints, with tensors small enough that bytes do not dominate.
Writes four safetensors files (header + float32 bytes, no torch needed):

    src.safetensors      the source
    same.safetensors     the same names, source + small noise (pairs by name)
    renamed.safetensors  the same shapes in the same order, every name different (order+shape)
    other.safetensors    an unrelated network of the same size: other shapes, other names

The tensors are written in network order (safetensors sorts keys on save in most writers;
here the header lists them in network order and the readers keep the file's order).
"""
import argparse
import json
import os
import struct

import numpy as np


def layout(blocks, experts, dim, prefix='model.layers', shape_shift=0):
    d = dim + shape_shift
    h = 4 * d
    out = []
    for b in range(blocks):
        out.append((f'{prefix}.{b}.attn.proj.weight', [d, d]))
        out.append((f'{prefix}.{b}.post_norm.weight', [d]))
        for e in range(experts):
            out.append((f'{prefix}.{b}.mlp.experts.{e}.gate_proj.weight', [h, d]))
            out.append((f'{prefix}.{b}.mlp.experts.{e}.up_proj.weight', [h, d]))
            out.append((f'{prefix}.{b}.mlp.experts.{e}.down_proj.weight', [d, h]))
    return out


def write(path, tensors):
    header = {}
    off = 0
    for name, arr in tensors:
        n = arr.nbytes
        header[name] = {'dtype': 'F32', 'shape': list(arr.shape), 'data_offsets': [off, off + n]}
        off += n
    hb = json.dumps(header, separators=(',', ':')).encode()
    hb += b' ' * (-len(hb) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hb)))
        f.write(hb)
        for _, arr in tensors:
            f.write(np.ascontiguousarray(arr, dtype='<f4').tobytes())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--blocks', type=int, default=61)
    ap.add_argument('--experts', type=int, default=256)
    ap.add_argument('--dim', type=int, default=8)
    ap.add_argument('--drift', action='store_true',
                    help='same.safetensors drifts more the deeper the block (and per expert), so its '
                         'verdicts run from reuse through fine-tune to retrain (the report panel bench and e2e)')
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(20251206)
    src_layout = layout(a.blocks, a.experts, a.dim)
    src = [(n, rng.standard_normal(s).astype(np.float32)) for n, s in src_layout]
    write(os.path.join(a.out, 'src.safetensors'), src)
    def noise(name):
        if not a.drift:
            return 0.01
        block = int(name.split('.')[2])
        expert = int(name.split('.')[5]) if '.experts.' in name else 0
        # Relative RMSE about 0.02 in the first block to about 1.2 in the last, experts apart.
        return 0.02 + 1.2 * (block / max(1, a.blocks - 1)) * (0.5 + (expert * 37 % 64) / 64)
    write(os.path.join(a.out, 'same.safetensors'), [(n, x + noise(n) * rng.standard_normal(x.shape).astype(np.float32)) for n, x in src])
    renamed = [(n.replace('model.layers', 'backbone.blocks').replace('experts', 'ffn').replace('_proj', '_lin'), x) for n, x in src]
    write(os.path.join(a.out, 'renamed.safetensors'), renamed)
    other = layout(a.blocks, a.experts, a.dim, prefix='net.h', shape_shift=1)
    write(os.path.join(a.out, 'other.safetensors'), [(n, rng.standard_normal(s).astype(np.float32)) for n, s in other])
    with open(os.path.join(a.out, 'manifest.json'), 'w') as f:
        json.dump({'blocks': a.blocks, 'experts': a.experts, 'dim': a.dim, 'tensors': len(src)}, f)


if __name__ == '__main__':
    main()
