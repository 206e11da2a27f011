#!/usr/bin/python3
"""Models for bench/experiment-runtimes.mjs, written to the folder given (random weights; the
runtimes' speed does not depend on them):

- demo_tfjs_{source,target}/model.json: the demo's ShapeNet (demo/model.py: five conv+BN blocks,
  a linear head; 32x32 inputs) as a TF.js layers model, with demo_val_nhwc.npz (512 samples);
- demo_{source,target}.onnx: the same network exported by torch.onnx.export, demo_val_nchw.npz;
- mobilenet_tfjs_{source,target}/model.json: MobileNet v1 (alpha 1.0, 4.2 M parameters, 28 conv
  layers, 27 BN) at 128x128, with mobilenet_val.npz (16 samples).
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'demo'))
from gen_experiments import write_tfjs_layers  # noqa: E402
from model import ShapeNet  # noqa: E402

OUT = sys.argv[1]
rng = np.random.default_rng(5)


def w(*shape, scale=0.1):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def bn(name, c):
    return (name, 'BatchNormalization', {'axis': -1, 'epsilon': 1e-5},
            [('gamma', 1 + w(c)), ('beta', w(c)), ('moving_mean', w(c)), ('moving_variance', (np.abs(w(c)) + 0.5).astype(np.float32))])


def relu(name):
    return (name, 'Activation', {'activation': 'relu'}, [])


def shapenet_layers(classes=4):
    layers = [('input_1', 'InputLayer', {'batch_input_shape': [None, 32, 32, 3], 'dtype': 'float32'}, [])]
    cin = 3
    for i, (cout, pool) in enumerate([(16, False), (32, True), (32, True), (64, True), (64, False)], start=1):
        layers.append((f'conv{i}', 'Conv2D', {'filters': cout, 'kernel_size': [3, 3], 'padding': 'same', 'use_bias': False}, [('kernel', w(3, 3, cin, cout))]))
        layers += [bn(f'bn{i}', cout), relu(f'relu{i}')]
        if pool:
            layers.append((f'pool{i}', 'MaxPooling2D', {'pool_size': [2, 2]}, []))
        cin = cout
    layers.append(('gap', 'GlobalAveragePooling2D', {}, []))
    layers.append(('fc', 'Dense', {'units': classes}, [('kernel', w(64, classes)), ('bias', w(classes))]))
    return layers


def mobilenet_layers(size=128):
    layers = [('input_1', 'InputLayer', {'batch_input_shape': [None, size, size, 3], 'dtype': 'float32'}, []),
              ('conv1', 'Conv2D', {'filters': 32, 'kernel_size': [3, 3], 'strides': [2, 2], 'padding': 'same', 'use_bias': False}, [('kernel', w(3, 3, 3, 32))]),
              bn('conv1_bn', 32), relu('conv1_relu')]
    cin = 32
    for i, (cout, stride) in enumerate([(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)], start=1):
        layers.append((f'conv_dw_{i}', 'DepthwiseConv2D', {'kernel_size': [3, 3], 'strides': [stride, stride], 'padding': 'same', 'use_bias': False},
                       [('depthwise_kernel', w(3, 3, cin, 1))]))
        layers += [bn(f'conv_dw_{i}_bn', cin), relu(f'conv_dw_{i}_relu')]
        layers.append((f'conv_pw_{i}', 'Conv2D', {'filters': cout, 'kernel_size': [1, 1], 'padding': 'same', 'use_bias': False}, [('kernel', w(1, 1, cin, cout))]))
        layers += [bn(f'conv_pw_{i}_bn', cout), relu(f'conv_pw_{i}_relu')]
        cin = cout
    layers.append(('gap', 'GlobalAveragePooling2D', {}, []))
    layers.append(('predictions', 'Dense', {'units': 1000}, [('kernel', w(1024, 1000)), ('bias', w(1000))]))
    return layers


def perturbed(layers):
    return [(n, c, cfg, [(r, (a + w(*a.shape, scale=0.02)).astype(np.float32)) for r, a in ws]) for n, c, cfg, ws in layers]


def main():
    os.makedirs(OUT, exist_ok=True)
    demo = shapenet_layers()
    write_tfjs_layers(os.path.join(OUT, 'demo_tfjs_source'), demo)
    write_tfjs_layers(os.path.join(OUT, 'demo_tfjs_target'), perturbed(demo))
    x = rng.standard_normal((512, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 4, 512).astype(np.int64)
    np.savez(os.path.join(OUT, 'demo_val_nhwc.npz'), x=x, y=y)
    np.savez(os.path.join(OUT, 'demo_val_nchw.npz'), x=x.transpose(0, 3, 1, 2).copy(), y=y)
    for side in ('source', 'target'):
        m = ShapeNet(4).eval()
        torch.onnx.export(m, torch.zeros(1, 3, 32, 32), os.path.join(OUT, f'demo_{side}.onnx'), opset_version=13, input_names=['input'],
                          output_names=['logits'], dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
    mobile = mobilenet_layers()
    write_tfjs_layers(os.path.join(OUT, 'mobilenet_tfjs_source'), mobile)
    write_tfjs_layers(os.path.join(OUT, 'mobilenet_tfjs_target'), perturbed(mobile))
    np.savez(os.path.join(OUT, 'mobilenet_val.npz'), x=rng.standard_normal((16, 128, 128, 3)).astype(np.float32), y=rng.integers(0, 1000, 16).astype(np.int64))
    print('ok')


if __name__ == '__main__':
    main()
