#!/usr/bin/python3
"""Writes an LLM-shaped checkpoint pair in bfloat16, sharded like Hugging Face saves it.

    /usr/bin/python3 bench/generate_llm.py OUTDIR --gb 4 [--shards 4]

Per side: model.embed_tokens, `L` decoder layers (q/k/v/o projections 4096², gate/up/down
4096×11008, two RMSNorms; Llama-7B's shapes), model.norm and lm_head, with L chosen so a side
holds about --gb GB; written as OUTDIR/{src,tgt}/model-0000k-of-0000n.safetensors plus
model.safetensors.index.json. The source's values are normal(0, 0.02) rounded to bfloat16;
the target flips the lowest mantissa bit of about one value in eight (a fine-tuned model's
relative RMSE of ~1e-3). Values come from one random block reused at shifting offsets, so
writing 15 GB costs about what the disk takes, not hours of random numbers.
"""
import argparse
import json
import os
import struct

import numpy as np

HIDDEN, INTER, VOCAB = 4096, 11008, 32000


def layout(layers):
    out = [('model.embed_tokens.weight', [VOCAB, HIDDEN])]
    for i in range(layers):
        p = f'model.layers.{i}'
        out += [(f'{p}.input_layernorm.weight', [HIDDEN])]
        out += [(f'{p}.self_attn.{x}_proj.weight', [HIDDEN, HIDDEN]) for x in 'qkvo']
        out += [(f'{p}.post_attention_layernorm.weight', [HIDDEN])]
        out += [(f'{p}.mlp.gate_proj.weight', [INTER, HIDDEN]), (f'{p}.mlp.up_proj.weight', [INTER, HIDDEN]), (f'{p}.mlp.down_proj.weight', [HIDDEN, INTER])]
    out += [('model.norm.weight', [HIDDEN]), ('lm_head.weight', [VOCAB, HIDDEN])]
    return out


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--gb', type=float, default=4)
    ap.add_argument('--shards', type=int, default=4)
    a = ap.parse_args()
    per_layer = 2 * (4 * HIDDEN * HIDDEN + 3 * HIDDEN * INTER + 2 * HIDDEN)
    fixed = 2 * (2 * VOCAB * HIDDEN + HIDDEN)
    # 0 layers (embeddings and head only, ~0.5 GB) for the smallest pair of the README's table.
    layers = max(0, round((a.gb * 1e9 - fixed) / per_layer))
    tensors = layout(layers)
    rng = np.random.default_rng(20251206)
    block = (rng.standard_normal(1 << 26, dtype=np.float32) * 0.02).view(np.uint32)
    block = ((block + 0x8000) >> 16).astype(np.uint16)  # round to nearest bfloat16
    flips = (rng.random(1 << 26) < 0.125).astype(np.uint16)
    # Shards of about equal bytes, tensors in network order.
    total = sum(2 * numel(s) for _, s in tensors)
    per_shard = total / a.shards
    shards, acc = [[]], 0
    for name, shape in tensors:
        if acc >= per_shard * len(shards) and len(shards) < a.shards:
            shards.append([])
        shards[-1].append((name, shape))
        acc += 2 * numel(shape)
    for side in ('src', 'tgt'):
        d = os.path.join(a.out, side)
        os.makedirs(d, exist_ok=True)
        weight_map = {}
        offset = 0
        for k, shard in enumerate(shards):
            fname = f'model-{k + 1:05d}-of-{len(shards):05d}.safetensors'
            header, pos = {}, 0
            for name, shape in shard:
                n = 2 * numel(shape)
                header[name] = {'dtype': 'BF16', 'shape': shape, 'data_offsets': [pos, pos + n]}
                pos += n
                weight_map[name] = fname
            hb = json.dumps(header, separators=(',', ':')).encode()
            hb += b' ' * (-len(hb) % 8)
            with open(os.path.join(d, fname), 'wb') as f:
                f.write(struct.pack('<Q', len(hb)))
                f.write(hb)
                for name, shape in shard:
                    n = numel(shape)
                    done = 0
                    while done < n:
                        m = min(n - done, len(block) // 2)
                        start = (offset * 7919) % (len(block) - m + 1)
                        chunk = block[start:start + m]
                        if side == 'tgt':
                            chunk = chunk ^ flips[start:start + m]
                        f.write(chunk.tobytes())
                        done += m
                        offset += 1
        with open(os.path.join(d, 'model.safetensors.index.json'), 'w') as f:
            json.dump({'metadata': {'total_size': total}, 'weight_map': weight_map}, f)
    with open(os.path.join(a.out, 'manifest.json'), 'w') as f:
        json.dump({'gb': a.gb, 'layers': layers, 'shards': len(shards), 'bytesPerSide': total, 'tensors': len(tensors)}, f)


if __name__ == '__main__':
    main()
