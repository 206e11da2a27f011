#!/usr/bin/python3
"""Does a small kernel RMSE predict that reusing a layer keeps accuracy? A reproducible study.

One command (`npm run study`, 5 seeds in ~5 minutes on 2 busy cores, CPU only, nothing downloaded):

1. A small CNN is trained on a synthetic SOURCE task (which stroke: horizontal, vertical,
   diagonal bar or disc), per seed.
2. Four targets per seed, each trained the same way (same optimiser, epochs, one learning rate):
   a RELATED task (composite figures of the same strokes: plus, cross, square frame) and an
   UNRELATED one (stripe textures of 3 periods: no shapes at all), each from the source
   weights (fine-tuned) and from scratch.
3. For each (source, target) pair the shipped CLI runs the RMSE analysis
   (`reuse-lens compare --json`) and the replacement experiment (`reuse-lens experiment
   --json`, this folder's factories), and the per-layer results are put side by side.

Writes results.json, scatter.svg (delta accuracy against kernel relative RMSE, one point per layer and
pair) and summary.md (the tables the README quotes) beside this file; checkpoints go to out/.
Usage:
    npm run study                 # builds dist/, then: /usr/bin/python3 bench/study/study.py
    /usr/bin/python3 bench/study/study.py --seeds 3 --out /tmp/study --results /tmp/study
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLI = os.path.join(ROOT, "dist", "cli.js")
SIZE = 16
# One thread: these nets are tiny, and on a shared machine torch's second thread spends its time
# waiting (a source training took 187 s with 2 threads at load 14, 8 s with 1).
torch.set_num_threads(1)
sys.dont_write_bytecode = True


class SmallCNN(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.conv3 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(32)
        self.conv4 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn4 = nn.BatchNorm2d(32)
        self.fc = nn.Linear(32, classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        x = torch.max_pool2d(torch.relu(self.bn3(self.conv3(x))), 2)
        x = torch.relu(self.bn4(self.conv4(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


# ---------------------------------------------------------------- synthetic tasks

def _segment(y, x, y0, x0, y1, x1, w):
    dy, dx = y1 - y0, x1 - x0
    t = np.clip(((y - y0) * dy + (x - x0) * dx) / (dy * dy + dx * dx + 1e-6), 0, 1)
    return (y - (y0 + t * dy)) ** 2 + (x - (x0 + t * dx)) ** 2 <= (w / 2) ** 2


def draw(task, cls, rng):
    img = rng.normal(0, 0.15, (3, SIZE, SIZE)).astype(np.float32)
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    cy, cx = rng.uniform(5, 11, 2)
    h, w = rng.uniform(3.5, 6), rng.uniform(1.5, 2.5)
    if task == "source":  # single strokes
        mask = [lambda: _segment(y, x, cy, cx - h, cy, cx + h, w), lambda: _segment(y, x, cy - h, cx, cy + h, cx, w),
                lambda: _segment(y, x, cy - h, cx - h, cy + h, cx + h, w), lambda: (y - cy) ** 2 + (x - cx) ** 2 <= (h * 0.7) ** 2][cls]()
    elif task == "related":  # composites of the same strokes
        if cls == 0:
            mask = _segment(y, x, cy, cx - h, cy, cx + h, w) | _segment(y, x, cy - h, cx, cy + h, cx, w)
        elif cls == 1:
            mask = _segment(y, x, cy - h, cx - h, cy + h, cx + h, w) | _segment(y, x, cy + h, cx - h, cy - h, cx + h, w)
        else:
            mask = ((abs(y - cy) <= h) & (abs(x - cx) <= h)) & ~((abs(y - cy) <= h - w) & (abs(x - cx) <= h - w))
    else:  # unrelated: stripe textures of period 2, 4 or 8 over the whole picture, any orientation
        period = [2, 4, 8][cls]
        a = rng.uniform(0, np.pi)
        phase = rng.uniform(0, 2 * np.pi)
        mask = np.sin(2 * np.pi * (x * np.cos(a) + y * np.sin(a)) / period + phase) > 0
    img[:, mask] += rng.uniform(0.5, 1.0, 3).astype(np.float32)[:, None]
    return img


def dataset(task, n, seed):
    rng = np.random.default_rng(seed)
    classes = 4 if task == "source" else 3
    labels = rng.integers(0, classes, n)
    return torch.from_numpy(np.stack([draw(task, int(c), rng) for c in labels])), torch.from_numpy(labels).long()


def train(model, data, epochs, lr, seed):
    x, y = data
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 64):
            idx = order[i:i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()
    return model


# ---------------------------------------------------------------- factories for the experiment

def build_target():
    """Model factory of the replacement experiment (`study.py:build_target`)."""
    return SmallCNN(3)


def eval_data():
    """Evaluation-data factory: the test set of the task named by REUSE_LENS_STUDY_TASK."""
    x, y = dataset(os.environ["REUSE_LENS_STUDY_TASK"], 600, seed=99)
    return [(x[i:i + 200], y[i:i + 200]) for i in range(0, len(x), 200)]


# ---------------------------------------------------------------- analysis

def cli(*args, env=None):
    r = subprocess.run([process_node(), CLI, *args], cwd=HERE, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"reuse-lens {args[0]} failed: {r.stderr.strip()}")
    return json.loads(r.stdout)


def process_node():
    return os.environ.get("NODE", "node")


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    out = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(a, b):
    if len(a) < 3:
        return None
    ra, rb = ranks(a), ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    sab = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    saa = sum((x - ma) ** 2 for x in ra)
    sbb = sum((y - mb) ** 2 for y in rb)
    return sab / math.sqrt(saa * sbb) if saa > 0 and sbb > 0 else None


COLOURS = {"related, fine-tuned": "#2ca02c", "related, scratch": "#9467bd", "unrelated, fine-tuned": "#ff7f0e", "unrelated, scratch": "#7f7f7f"}


PANELS = [
    ("conv kernels", "kernel relative RMSE", lambda p: p["relRmse"] if p["kind"] == "conv" else None),
    ("BN layers: γ/β", "γ/β relative RMSE", lambda p: p.get("gammaBetaRelRmse") if p["kind"] == "bn" else None),
    ("BN layers: running statistics", "running mean/var relative RMSE (larger)", lambda p: p["relRmse"] if p["kind"] == "bn" else None),
]


def scatter_svg(points, path):
    """Delta accuracy (y) against relative RMSE (x), one point per layer, pair and seed; a panel per role."""
    pw, h, left, gap, top, bottom, legend = 300, 400, 55, 30, 36, 45, 150
    w = left + len(PANELS) * pw + (len(PANELS) - 1) * gap + legend
    ymin = min(-5, min(p["delta"] for p in points) * 1.05)
    ymax = max(2, max(p["delta"] for p in points) * 1.1)
    sy = lambda v: top + (h - top - bottom) * (ymax - v) / (ymax - ymin)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<rect width="{w}" height="{h}" fill="white"/>']
    for k, (title, xlabel, xof) in enumerate(PANELS):
        x0 = left + k * (pw + gap)
        pts = [(xof(p), p) for p in points if xof(p) is not None]
        xmax = max([1.6] + [x * 1.05 for x, _ in pts])
        sx = lambda v, x0=x0, xmax=xmax: x0 + pw * v / xmax
        rho = spearman([x for x, _ in pts], [-p["delta"] for _, p in pts])
        out.append(f'<text x="{x0 + pw / 2}" y="{top - 20}" text-anchor="middle" font-weight="bold">{title}</text>')
        out.append(f'<text x="{x0 + pw / 2}" y="{top - 6}" text-anchor="middle">n = {len(pts)}, Spearman ρ = {"—" if rho is None else f"{rho:.2f}"}</text>')
        for t in np.linspace(0, xmax, 5):
            out.append(f'<line x1="{sx(t):.1f}" y1="{top}" x2="{sx(t):.1f}" y2="{h - bottom}" stroke="#eee"/><text x="{sx(t):.1f}" y="{h - bottom + 14}" text-anchor="middle">{t:.2f}</text>')
        for t in np.linspace(ymin, ymax, 6):
            out.append(f'<line x1="{x0}" y1="{sy(t):.1f}" x2="{x0 + pw}" y2="{sy(t):.1f}" stroke="#eee"/>')
            if k == 0:
                out.append(f'<text x="{x0 - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{t:.0f}</text>')
        out.append(f'<line x1="{x0}" y1="{sy(0):.1f}" x2="{x0 + pw}" y2="{sy(0):.1f}" stroke="#999"/>')
        out.append(f'<line x1="{sx(0.1):.1f}" y1="{top}" x2="{sx(0.1):.1f}" y2="{h - bottom}" stroke="#2ca02c" stroke-dasharray="4 3"/>')
        out.append(f'<line x1="{sx(0.6):.1f}" y1="{top}" x2="{sx(0.6):.1f}" y2="{h - bottom}" stroke="#d62728" stroke-dasharray="4 3"/>')
        for x, p in pts:
            c = COLOURS[p["condition"]]
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(p["delta"]):.1f}" r="3" fill="{c}" fill-opacity="0.6"/>')
        out.append(f'<text x="{x0 + pw / 2}" y="{h - 10}" text-anchor="middle">{xlabel}</text>')
    out.append(f'<text transform="translate(14 {(top + h - bottom) / 2}) rotate(-90)" text-anchor="middle">Δ accuracy, layer replaced alone (points)</text>')
    lx = w - legend + 10
    for i, (name, c) in enumerate(COLOURS.items()):
        out.append(f'<circle cx="{lx}" cy="{top + 10 + i * 18}" r="4" fill="{c}"/><text x="{lx + 8}" y="{top + 14 + i * 18}">{name}</text>')
    out.append(f'<line x1="{lx - 4}" y1="{top + 10 + 4 * 18}" x2="{lx + 4}" y2="{top + 10 + 4 * 18}" stroke="#2ca02c" stroke-dasharray="4 3"/><text x="{lx + 8}" y="{top + 14 + 4 * 18}">reuse &lt; 0.1</text>')
    out.append(f'<line x1="{lx - 4}" y1="{top + 10 + 5 * 18}" x2="{lx + 4}" y2="{top + 10 + 5 * 18}" stroke="#d62728" stroke-dasharray="4 3"/><text x="{lx + 8}" y="{top + 14 + 5 * 18}">retrain ≥ 0.6</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1")
    ap.add_argument("--seed-list", help="comma-separated seeds instead (to run seeds in parallel processes)")
    ap.add_argument("--combine", nargs="+", help="merge the results.json of earlier runs instead of running")
    ap.add_argument("--out", default=os.path.join(HERE, "out"), help="checkpoints (git-ignored)")
    ap.add_argument("--results", default=HERE, help="results.json, scatter.svg, summary.md (committed, quoted by the README)")
    args = ap.parse_args()
    if not os.path.exists(CLI):
        raise SystemExit("dist/cli.js is missing: run `npm run build` first (npm run study does)")
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.results, exist_ok=True)
    t0 = time.time()
    points, pairs = [], []
    if args.combine:
        runs = [json.load(open(os.path.join(d, "results.json"))) for d in args.combine]
        points = [p for r in runs for p in r["points"]]
        pairs = [p for r in runs for p in r["pairs"]]
        report(points, pairs, sorted({p["seed"] for p in pairs}), sum(r["seconds"] for r in runs), args.results)
        return
    seeds = [int(x) for x in args.seed_list.split(",")] if args.seed_list else list(range(args.seeds))
    for seed in seeds:
        torch.manual_seed(seed)
        source = train(SmallCNN(4), dataset("source", 3000, 100 + seed), epochs=6, lr=0.05, seed=seed)
        src_path = os.path.join(args.out, f"source-s{seed}.pt")
        torch.save(source.state_dict(), src_path)
        for task in ("related", "unrelated"):
            data = dataset(task, 400, 200 + seed + (50 if task == "unrelated" else 0))
            for init in ("fine-tuned", "scratch"):
                torch.manual_seed(1000 + seed)
                model = SmallCNN(3)
                if init == "fine-tuned":
                    own = model.state_dict()
                    model.load_state_dict({k: v for k, v in source.state_dict().items() if own[k].shape == v.shape}, strict=False)
                train(model, data, epochs=15, lr=0.02, seed=seed)
                tgt_path = os.path.join(args.out, f"{task}-{init}-s{seed}.pt")
                torch.save(model.state_dict(), tgt_path)
                condition = f"{task}, {init}"
                compared = cli("compare", src_path, tgt_path, "--json")
                env = {**os.environ, "REUSE_LENS_STUDY_TASK": task}
                x = cli("experiment", src_path, tgt_path, "--model", "study.py:build_target", "--data", "study.py:eval_data",
                        "--python", sys.executable, "--json", env=env)
                layers = {l["name"]: l for l in compared["layers"]}
                for r in x["layers"]:
                    l = layers[r["name"]]
                    if l["kernelRelRmse"] is None:
                        continue
                    # BN layers: the larger relative RMSE of the running statistics (the companion
                    # study: they matter more than γ/β), γ/β's beside.
                    stats = [q["relRmse"] for q in l["params"] if q["role"] in ("running_mean", "running_var") and q["relRmse"] is not None]
                    x_value = max(stats) if l["kind"] == "bn" and stats else l["kernelRelRmse"]
                    points.append({"seed": seed, "condition": condition, "layer": r["name"], "kind": l["kind"], "verdict": l["verdict"],
                                   "relRmse": x_value, "gammaBetaRelRmse": l["kernelRelRmse"] if l["kind"] == "bn" else None,
                                   "delta": r["delta"], "keeps": r["keeps"]})
                pairs.append({"seed": seed, "condition": condition, "baseline": x["baseline"]["value"], "network": x["network"],
                              "estimate": compared["summary"]["network"], "roles": {g["role"]: g["delta"] for g in x["roles"]},
                              "reuseSet": x["reuseSet"] and x["reuseSet"]["delta"]})
                print(f"seed {seed} {condition:24s} baseline {x['baseline']['value']:.1f} %  measured: {x['network']['verdict']:16s} "
                      f"estimate: {compared['summary']['network']['verdict']}  ({time.time() - t0:.0f} s)", flush=True)
    report(points, pairs, seeds, round(time.time() - t0), args.results)


def report(points, pairs, seeds, seconds, out):
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"points": points, "pairs": pairs, "seeds": seeds, "seconds": seconds}, f, indent=1)
    scatter_svg(points, os.path.join(out, "scatter.svg"))

    lines = [f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''}, {len(pairs)} source/target pairs, {len(points)} replaced layers; "
             f"{seconds} s of training and experiments.", ""]
    lines.append("| points | n | Spearman ρ (rel. RMSE vs accuracy lost) | RMSE says reuse (< 0.1) & keeps | says reuse & drops | says not reuse & keeps | says not reuse & drops |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")

    def row(name, pts):
        rho = spearman([p["relRmse"] for p in pts], [-p["delta"] for p in pts])
        c = lambda small, keeps: sum(1 for p in pts if (p["relRmse"] < 0.1) == small and p["keeps"] == keeps)
        lines.append(f"| {name} | {len(pts)} | {'—' if rho is None else f'{rho:.2f}'} | {c(True, True)} | {c(True, False)} | {c(False, True)} | {c(False, False)} |")

    row("all", points)
    for cond in COLOURS:
        row(cond, [p for p in points if p["condition"] == cond])
    row("conv layers", [p for p in points if p["kind"] == "conv"])
    bn = [p for p in points if p["kind"] == "bn"]
    row("BN layers (x: running statistics)", bn)
    row("BN layers (x: γ/β instead)", [{**p, "relRmse": p["gammaBetaRelRmse"]} for p in bn if p.get("gammaBetaRelRmse") is not None])
    # Per seed: does the ranking hold from one seed to the next, or is the pooled ρ one seed's luck?
    lines += ["", "| Spearman ρ per role | " + " | ".join(f"seed {s}" for s in seeds) + " | pooled | n pooled |",
              "|---|" + "---:|" * (len(seeds) + 2)]
    # Pooled, from-scratch layers (all far, all costly) and fine-tuned ones (near, mostly cheap)
    # make the ranking easy; within fine-tuned targets is where a user needs it.
    fine = ("conv kernels, fine-tuned targets only", None, lambda p: p["relRmse"] if p["kind"] == "conv" and p["condition"].endswith("fine-tuned") else None)
    for title, _, xof in PANELS + [fine]:
        cells = []
        for sd in seeds + [None]:
            pts = [(xof(p), p) for p in points if (sd is None or p["seed"] == sd) and xof(p) is not None]
            rho = spearman([x for x, _ in pts], [-p["delta"] for _, p in pts])
            cells.append("—" if rho is None else f"{rho:.2f}")
        n = sum(1 for p in points if xof(p) is not None)
        lines.append(f"| {title} | " + " | ".join(cells) + f" | {n} |")
    lines += ["", "| pair | baseline | measured network verdict | RMSE estimate | Δ all conv weights | Δ BN running stats |", "|---|---:|---|---|---:|---:|"]
    for p in pairs:
        lines.append(f"| s{p['seed']} {p['condition']} | {p['baseline']:.1f} % | {p['network']['verdict']} | {p['estimate']['verdict']} | "
                     f"{p['roles'].get('conv-weight', float('nan')):+.1f} | {p['roles'].get('bn-statistics', float('nan')):+.1f} |")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
