#!/usr/bin/python3
"""Writes the demo checkpoints of Reuse Lens: a small CNN trained on a source task, a copy
fine-tuned on a related target task, and a copy trained on the target task from scratch.

Run with Debian's Python (it has torch): /usr/bin/python3 demo/train.py   (or npm run demo:train)
CPU only, about a minute. Images are synthetic, drawn by this script, so nothing is downloaded.

Source task (6 classes): which single stroke or blob is in the picture: horizontal bar,
vertical bar, diagonal, anti-diagonal, disc, ring.
Target task (4 classes, 10x fewer samples): which composite figure: plus, cross, square
frame, triangle. It needs the same edges and colours (early layers) but different part
combinations (late layers), so fine-tuning should keep the early kernels and move the late
ones: the pattern of Wang et al. (2020) that the demo shows.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

sys.dont_write_bytecode = True  # no __pycache__ in the demo workspace
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import ShapeNet, load_pretrained  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = os.path.join(HERE, "runs")
SIZE = 32
torch.manual_seed(0)


# ---------------------------------------------------------------- synthetic images

def _canvas(rng):
    img = rng.normal(0.0, 0.08, (3, SIZE, SIZE)).astype(np.float32)
    return img + rng.uniform(-0.2, 0.2, (3, 1, 1)).astype(np.float32)


def _colour(rng):
    c = rng.uniform(0.3, 1.0, 3)
    c[rng.integers(3)] = rng.uniform(0.8, 1.2)
    return c.astype(np.float32)


def _grid():
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    return y, x


def _segment_mask(y, x, y0, x0, y1, x1, width):
    """Pixels within width/2 of the segment (y0,x0)-(y1,x1)."""
    dy, dx = y1 - y0, x1 - x0
    length2 = dy * dy + dx * dx + 1e-6
    t = np.clip(((y - y0) * dy + (x - x0) * dx) / length2, 0.0, 1.0)
    d2 = (y - (y0 + t * dy)) ** 2 + (x - (x0 + t * dx)) ** 2
    return d2 <= (width / 2.0) ** 2


def draw_source(cls, rng):
    img = _canvas(rng)
    y, x = _grid()
    cy, cx = rng.uniform(10, 22, 2)
    half = rng.uniform(7, 12)
    w = rng.uniform(2.0, 4.0)
    if cls == 0:
        mask = _segment_mask(y, x, cy, cx - half, cy, cx + half, w)
    elif cls == 1:
        mask = _segment_mask(y, x, cy - half, cx, cy + half, cx, w)
    elif cls == 2:
        mask = _segment_mask(y, x, cy + half * 0.7, cx - half * 0.7, cy - half * 0.7, cx + half * 0.7, w)
    elif cls == 3:
        mask = _segment_mask(y, x, cy - half * 0.7, cx - half * 0.7, cy + half * 0.7, cx + half * 0.7, w)
    elif cls == 4:
        mask = (y - cy) ** 2 + (x - cx) ** 2 <= (half * 0.6) ** 2
    else:
        r2 = (y - cy) ** 2 + (x - cx) ** 2
        mask = (r2 <= (half * 0.75) ** 2) & (r2 >= (half * 0.75 - w) ** 2)
    img[:, mask] += _colour(rng)[:, None]
    return img


def draw_target(cls, rng):
    img = _canvas(rng)
    y, x = _grid()
    cy, cx = rng.uniform(11, 21, 2)
    h = rng.uniform(6, 10)
    w = rng.uniform(2.0, 3.5)
    if cls == 0:  # plus
        mask = _segment_mask(y, x, cy, cx - h, cy, cx + h, w) | _segment_mask(y, x, cy - h, cx, cy + h, cx, w)
    elif cls == 1:  # cross
        a = h * 0.75
        mask = _segment_mask(y, x, cy - a, cx - a, cy + a, cx + a, w) | _segment_mask(y, x, cy + a, cx - a, cy - a, cx + a, w)
    elif cls == 2:  # square frame
        a = h * 0.8
        mask = ((np.abs(y - cy) <= a) & (np.abs(x - cx) <= a)) & ~((np.abs(y - cy) <= a - w) & (np.abs(x - cx) <= a - w))
    else:  # triangle outline
        top, bl, br = (cy - h, cx), (cy + h * 0.7, cx - h), (cy + h * 0.7, cx + h)
        mask = (_segment_mask(y, x, *top, *bl, w) | _segment_mask(y, x, *bl, *br, w)
                | _segment_mask(y, x, *br, *top, w))
    img[:, mask] += _colour(rng)[:, None]
    return img


def dataset(draw, classes, n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    images = np.stack([draw(int(c), rng) for c in labels])
    return torch.from_numpy(images), torch.from_numpy(labels).long()


def target_test_loader(batch=100):
    """The target task's test set as batches of (images, labels): the evaluation data of Reuse
    Lens's replacement experiment (the same 1000 pictures main() reports accuracy on)."""
    x, y = dataset(draw_target, 4, 1000, seed=4)
    return [(x[i:i + batch], y[i:i + batch]) for i in range(0, len(x), batch)]


# ---------------------------------------------------------------- training

def train(model, data, param_groups, epochs, batch=64, frozen_bn=()):
    x, y = data
    opt = torch.optim.SGD(param_groups, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(1)
    model.train()
    # Early BN layers keep the source's running statistics (a common fine-tuning practice:
    # the small target set would otherwise re-estimate them noisily).
    for name in frozen_bn:
        getattr(model, name).eval()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()


@torch.no_grad()
def accuracy(model, data):
    model.eval()
    x, y = data
    return (model(x).argmax(1) == y).float().mean().item()


def rel_rmse(a, b):
    return (torch.sqrt(torch.mean((a - b) ** 2)) / torch.sqrt(torch.mean(a ** 2))).item()


# ---------------------------------------------------------------- safetensors (no library needed)

def save_safetensors(state, path):
    header, chunks, offset = {}, [], 0
    for name, t in state.items():
        arr = t.detach().cpu().contiguous().numpy().astype("<f4")
        data = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt", "written_by": "demo/train.py"}
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for c in chunks:
            f.write(c)


def float_state(model):
    # safetensors copies keep the float tensors only; the num_batches_tracked counters stay in .pt.
    return {k: v for k, v in model.state_dict().items() if v.is_floating_point()}


def main():
    # Training only: importing this module (the experiment's data factory) leaves torch's threads
    # to the experiment driver, which fits them to the idle cores.
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for d in ("pretrained", "scratch", "exported", "broken"):
        os.makedirs(os.path.join(RUNS, d), exist_ok=True)

    src_train = dataset(draw_source, 6, 6000, seed=1)
    src_test = dataset(draw_source, 6, 1000, seed=2)
    tgt_train = dataset(draw_target, 4, 600, seed=3)
    tgt_test = dataset(draw_target, 4, 1000, seed=4)

    source = ShapeNet(num_classes=6)
    train(source, src_train, [{"params": source.parameters(), "lr": 0.05}], epochs=6)
    print(f"source model: {accuracy(source, src_test):.1%} on the source task")
    source_path = os.path.join(RUNS, "pretrained", "source.pt")
    torch.save(source.state_dict(), source_path)

    # Fine-tuning with discriminative learning rates, as is usual for transfer learning:
    # small steps for the general early layers, large ones for the task-specific late layers.
    finetuned = load_pretrained(source_path, num_classes=4)
    lr = {"conv1": 0.002, "bn1": 0.002, "conv2": 0.004, "bn2": 0.004, "conv3": 0.03, "bn3": 0.03,
          "conv4": 0.3, "bn4": 0.3, "conv5": 0.5, "bn5": 0.5, "fc": 0.05}
    groups = [{"params": list(getattr(finetuned, name).parameters()), "lr": r} for name, r in lr.items()]
    train(finetuned, tgt_train, groups, epochs=30, frozen_bn=("bn1", "bn2"))
    print(f"fine-tuned model: {accuracy(finetuned, tgt_test):.1%} on the target task")
    torch.save(finetuned.state_dict(), os.path.join(RUNS, "pretrained", "finetuned.pt"))

    scratch = ShapeNet(num_classes=4)
    torch.manual_seed(7)
    train(scratch, tgt_train, [{"params": scratch.parameters(), "lr": 0.05}], epochs=30)
    print(f"from-scratch model: {accuracy(scratch, tgt_test):.1%} on the target task")
    torch.save(scratch.state_dict(), os.path.join(RUNS, "scratch", "scratch.pt"))

    save_safetensors(float_state(source), os.path.join(RUNS, "exported", "source.safetensors"))

    # A checkpoint cut short (as by a full disk or an interrupted copy): the UI must show it
    # as an error item with the reason, and keep working for the rest.
    with open(os.path.join(RUNS, "pretrained", "finetuned.pt"), "rb") as f:
        blob = f.read()
    with open(os.path.join(RUNS, "broken", "corrupt.pt"), "wb") as f:
        f.write(blob[: len(blob) // 2])

    # The same two models as Keras .h5 and ONNX files (runs/keras, runs/onnx).
    import export_formats
    export_formats.main()

    print("kernel relative RMSE, source -> fine-tuned:")
    s, t = float_state(source), float_state(finetuned)
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5"):
        print(f"  {name}: {rel_rmse(s[name + '.weight'], t[name + '.weight']):.3f}")


if __name__ == "__main__":
    main()
