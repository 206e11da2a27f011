#!/usr/bin/python3
"""Writes the demo's source and fine-tuned models (runs/pretrained/*.pt) in two more formats, so
the demo shows Reuse Lens on them too:

  runs/keras/source.h5, runs/keras/finetuned.h5   Keras full models (`model.save`: config and weights)
  data/target_test.npz                            the target task's test pictures for them (x NHWC, y)
  runs/onnx/source.onnx, runs/onnx/finetuned.onnx ONNX exports (torch.onnx.export)

Run with Debian's Python (torch, h5py, onnx): /usr/bin/python3 demo/export_formats.py
(demo/train.py runs it at its end). No TensorFlow is needed: the .h5 files are written with h5py
in the layout tf.keras 2.x's model.save writes (the model's config as the `model_config`
attribute, the weights in a `model_weights` group, one group per layer, `<layer>/<layer>/kernel:0`,
attributes layer_names / weight_names), and the weights in Keras's own layouts: conv kernels
HWIO, dense kernels [in, out], batch norm gamma/beta/moving_mean/moving_variance. Layers keep the
PyTorch names (Keras users name their layers too). The config is ShapeNet's network in Keras
layers, so a replacement experiment runs on these files with no Python (TensorFlow.js builds it),
on target_test.npz: the first 256 of the target task's 1000 test pictures, channels-last, as
float16 to keep the demo small.
"""
import json
import os
import sys

import h5py
import numpy as np
import torch

sys.dont_write_bytecode = True  # no __pycache__ in the demo workspace
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import ShapeNet  # noqa: E402
from train import dataset, draw_target  # noqa: E402

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


def keras_config(classes):
    """ShapeNet (model.py) as a tf.keras 2.x functional model's config: conv (no bias, same
    padding), batch norm (epsilon as PyTorch's), ReLU, 2x2 max pooling after blocks 2-4, global
    average pooling, dense head."""
    layers = [("input_1", "InputLayer", {"batch_input_shape": [None, 32, 32, 3], "dtype": "float32"})]
    for i, (filters, pool) in enumerate([(16, False), (32, True), (32, True), (64, True), (64, False)], start=1):
        layers += [(f"conv{i}", "Conv2D", {"filters": filters, "kernel_size": [3, 3], "padding": "same", "use_bias": False}),
                   (f"bn{i}", "BatchNormalization", {"axis": -1, "epsilon": 1e-5, "momentum": 0.9}),
                   (f"relu{i}", "Activation", {"activation": "relu"})]
        if pool:
            layers.append((f"pool{i}", "MaxPooling2D", {"pool_size": [2, 2]}))
    layers += [("gap", "GlobalAveragePooling2D", {}), ("fc", "Dense", {"units": classes})]
    config, prev = [], None
    for name, cls, cfg in layers:
        config.append({"class_name": cls, "name": name, "config": {**cfg, "name": name, "trainable": True},
                       "inbound_nodes": [] if prev is None else [[[prev, 0, 0, {}]]]})
        prev = name
    return {"class_name": "Functional", "config": {"name": "shapenet", "layers": config,
                                                   "input_layers": [["input_1", 0, 0]], "output_layers": [["fc", 0, 0]]}}


def save_keras_model(state, classes, path):
    layers = keras_weights(state)
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.13.1"
        f.attrs["model_config"] = json.dumps(keras_config(classes)).encode()
        groups = f.create_group("model_weights")
        groups.attrs["backend"] = b"tensorflow"
        groups.attrs["keras_version"] = b"2.13.1"
        groups.attrs["layer_names"] = np.array([name.encode() for name, _ in layers])
        for name, weights in layers:
            g = groups.create_group(name)
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
        save_keras_model(state, classes, os.path.join(RUNS, "keras", f"{stem}.h5"))
        save_onnx(state, classes, os.path.join(RUNS, "onnx", f"{stem}.onnx"))
    x, y = dataset(draw_target, 4, 1000, seed=4)
    # In data/, not runs/keras/: an .npz there would be a third "checkpoint" of that folder.
    os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
    np.savez_compressed(os.path.join(HERE, "data", "target_test.npz"),
                        x=x[:256].numpy().transpose(0, 2, 3, 1).astype(np.float16), y=y[:256].numpy())
    print("wrote runs/keras/{source,finetuned}.h5, data/target_test.npz and runs/onnx/{source,finetuned}.onnx")


if __name__ == "__main__":
    main()
