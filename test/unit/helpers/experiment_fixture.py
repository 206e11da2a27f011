"""Writes a tiny replacement-experiment workspace into the folder given as argv[1]: a model whose
answers are known exactly, for test/unit/experiment.test.ts.

- source.pt: a 4-layer CNN trained on task A (3 classes of 8x8 pictures).
- target.pt: that model fine-tuned on task B with conv1 FROZEN: conv1's tensors in target.pt are
  the source's, bit for bit, so replacing conv1 must change nothing (delta exactly 0).
- data.pt: the evaluation batches; truth.json: the accuracies torch computes here (baseline, and
  with conv2 replaced), which the experiment must reproduce.
- factories.py: the factories, good and bad (each bad one for one error message).
"""
import json
import os
import sys

import torch
from torch import nn

out = sys.argv[1]
torch.manual_seed(0)
torch.set_num_threads(1)

FACTORIES = '''
import os
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.bn2(self.conv2(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class Renamed(nn.Module):
    """Same tensors under other names: the checkpoint does not fit it."""
    def __init__(self):
        super().__init__()
        self.first = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 3)


def build():
    return Tiny()


def build_renamed():
    return Renamed()


def data():
    x, y = torch.load(os.path.join(HERE, "data.pt"))
    return [(x[i:i + 16], y[i:i + 16]) for i in range(0, len(x), 16)]


def nothing():
    return []


def slow():
    """Endless batches, each a while in coming: the experiment runs until cancelled."""
    import time
    with open(os.path.join(HERE, "slow.pid"), "w") as f:
        f.write(str(os.getpid()))
    x, y = torch.load(os.path.join(HERE, "data.pt"))
    class Slow:
        def __iter__(self):
            while True:
                time.sleep(0.05)
                yield x[:4], y[:4]
    return Slow()
'''
with open(os.path.join(out, "factories.py"), "w") as f:
    f.write(FACTORIES)
with open(os.path.join(out, "broken.py"), "w") as f:
    f.write("import torch\nimport reuse_lens_no_such_module\n\ndef build():\n    return None\n")
sys.path.insert(0, out)
from factories import Tiny  # noqa: E402


def task(kind, n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=g) * (0.3 if kind == "A" else 1.0)
    y = torch.randint(0, 3, (n,), generator=g)
    for i in range(n):
        c = int(y[i])
        if kind == "A":  # a bar: horizontal, vertical, or a dot
            if c == 0: x[i, 0, 3:5, :] += 1
            elif c == 1: x[i, 0, :, 3:5] += 1
            else: x[i, 0, 3:5, 3:5] += 2
        else:  # B: a frame, a cross, or an empty picture
            if c == 0: x[i, 0, 1, 1:7] += 1; x[i, 0, 6, 1:7] += 1; x[i, 0, 1:7, 1] += 1; x[i, 0, 1:7, 6] += 1
            elif c == 1: x[i, 0, 3:5, 1:7] += 1; x[i, 0, 1:7, 3:5] += 1
    return x, y


def train(model, data, params, epochs):
    x, y = data
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    model.train()
    for _ in range(epochs):
        for i in range(0, len(x), 32):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[i:i + 32]), y[i:i + 32]).backward()
            opt.step()


@torch.no_grad()
def accuracy(model, x, y):
    model.eval()
    correct = 0
    for i in range(0, len(x), 16):
        correct += int((model(x[i:i + 16]).argmax(1) == y[i:i + 16]).sum())
    return correct / len(x) * 100.0


source = Tiny()
train(source, task("A", 512, 1), source.parameters(), 8)
torch.save(source.state_dict(), os.path.join(out, "source.pt"))

target = Tiny()
target.load_state_dict(source.state_dict())
for p in target.conv1.parameters():
    p.requires_grad_(False)
train(target, task("B", 256, 2), [p for p in target.parameters() if p.requires_grad], 8)
torch.save(target.state_dict(), os.path.join(out, "target.pt"))

x, y = task("B", 200, 3)
torch.save((x, y), os.path.join(out, "data.pt"))
baseline = accuracy(target, x, y)
mixed = Tiny()
state = dict(target.state_dict())
state["conv2.weight"] = source.state_dict()["conv2.weight"]
mixed.load_state_dict(state)
with open(os.path.join(out, "truth.json"), "w") as f:
    json.dump({"baseline": baseline, "conv2Replaced": accuracy(mixed, x, y), "samples": len(y),
               "conv1Equal": all(torch.equal(source.state_dict()[k], target.state_dict()[k]) for k in ("conv1.weight", "conv1.bias"))}, f)
