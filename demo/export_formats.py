#!/usr/bin/python3
"""Writes the demo's source and fine-tuned models (runs/pretrained/*.pt) in two more formats, so
the demo shows Reuse Lens on them too:

  runs/keras/source.h5, runs/keras/finetuned.h5   Keras `model.save_weights` .h5 files
  runs/onnx/source.onnx, runs/onnx/finetuned.onnx ONNX exports (torch.onnx.export)

Run with Debian's Python (torch, h5py, onnx): /usr/bin/python3 demo/export_formats.py
(demo/train.py runs it at its end). No TensorFlow is needed: the .h5 files are written with h5py
in the layout tf.keras 2.x writes for a Sequential model's save_weights (one group per layer,
`<layer>/<layer>/kernel:0`, attributes layer_names / weight_names), and the weights in Keras's
own layouts: conv kernels HWIO, dense kernels [in, out], batch norm gamma/beta/moving_mean/
moving_variance. Layers keep the PyTorch names (Keras users name their layers too).
"""
import os
import sys

import h5py
import numpy as np
import torch

sys.dont_write_bytecode = True  # no __pycache__ in the demo workspace
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import ShapeNet  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = os.path.join(HERE, "runs")
MODELS = (("source", 6), ("finetuned", 4))  # file stem, number of classes of the head


def keras_weights(state):
    """(layer name, [(weight name, array in Keras layout)]) in network order."""
    layers = []
    for i in range(1, 6):
        conv = state[f"conv{i}.weight"].numpy()  # [out, in, kh, kw] -> [kh, kw, in, out]
        layers.append((f"conv{i}", [("kernel:0", conv.transpose(2, 3, 1, 0))]))
        layers.append((f"bn{i}", [("gamma:0", state[f"bn{i}.weight"].numpy()), ("beta:0", state[f"bn{i}.bias"].numpy()),
                                  ("moving_mean:0", state[f"bn{i}.running_mean"].numpy()),
                                  ("moving_variance:0", state[f"bn{i}.running_var"].numpy())]))
    layers.append(("fc", [("kernel:0", state["fc.weight"].numpy().T), ("bias:0", state["fc.bias"].numpy())]))
    return layers


def save_keras_weights(state, path):
    layers = keras_weights(state)
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.13.1"
        f.attrs["layer_names"] = np.array([name.encode() for name, _ in layers])
        for name, weights in layers:
            g = f.create_group(name)
            g.attrs["weight_names"] = np.array([f"{name}/{w}".encode() for w, _ in weights])
            inner = g.create_group(name)
            for w, a in weights:
                inner.create_dataset(w, data=np.ascontiguousarray(a, dtype="<f4"))


def save_onnx(state, classes, path):
    model = ShapeNet(num_classes=classes)
    model.load_state_dict(state)
    model.eval()
    # Batch norm kept as its own nodes (no folding into the convs), so its statistics stay
    # separate initializers named as in PyTorch.
    torch.onnx.export(model, torch.zeros(1, 3, 32, 32), path, opset_version=13, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE, input_names=["image"], output_names=["logits"])


def main():
    for d in ("keras", "onnx"):
        os.makedirs(os.path.join(RUNS, d), exist_ok=True)
    for stem, classes in MODELS:
        state = torch.load(os.path.join(RUNS, "pretrained", f"{stem}.pt"), map_location="cpu")
        save_keras_weights(state, os.path.join(RUNS, "keras", f"{stem}.h5"))
        save_onnx(state, classes, os.path.join(RUNS, "onnx", f"{stem}.onnx"))
    print("wrote runs/keras/{source,finetuned}.h5 and runs/onnx/{source,finetuned}.onnx")


if __name__ == "__main__":
    main()
