// Folders given as checkpoints: one model in a folder is that model; several are listed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openCheckpoint, listCheckpointsInFolder } from '../../src/core/formats/open';
import { CheckpointError } from '../../src/core/common/errors';

const fx = join(__dirname, '..', 'fixtures');
const dir = join(fx, 'folders');

test('a TF.js folder opens as its model.json', async () => {
  const ck = await openCheckpoint(join(fx, 'tfjs', 'cnn'));
  assert.equal(ck.format, 'tfjs');
  assert.equal(ck.tensors.length, 12);
});

test('a sharded safetensors folder opens as one checkpoint through its index', async () => {
  const ck = await openCheckpoint(join(dir, 'sharded'));
  assert.equal(ck.format, 'safetensors-sharded');
  assert.deepEqual(ck.tensors.map((t) => t.name).sort(), ['layer1.bias', 'layer1.weight', 'layer2.weight']);
});

test('a folder with one checkpoint file (and a README) opens as that file', async () => {
  const ck = await openCheckpoint(join(dir, 'single'));
  assert.equal(ck.path, join(dir, 'single', 'weights.h5'));
  assert.deepEqual(ck.tensors.map((t) => t.name), ['dense/kernel', 'dense/bias']);
});

test('a SavedModel-like tree whose weights are one Keras file under variables/ opens as that file', async () => {
  const ck = await openCheckpoint(join(dir, 'savedmodel_like'));
  assert.equal(ck.path, join(dir, 'savedmodel_like', 'variables', 'variables.h5'));
  assert.equal(ck.format, 'keras-h5');
});

test('a TensorFlow SavedModel with tensor-bundle variables is a CheckpointError that says what to save instead', async () => {
  await assert.rejects(openCheckpoint(join(dir, 'tf_savedmodel')),
    (e: unknown) => e instanceof CheckpointError && /SavedModel/.test(e.message) && /model\.keras/.test(e.message));
});

test('lists the checkpoints of a folder holding several, shards and notes not counted', async () => {
  const list = await listCheckpointsInFolder(join(dir, 'several'));
  assert.deepEqual(list.map((e) => e.name), ['a.h5', 'b.onnx', 'web_model/']);
  assert.equal(list[2].main, join(dir, 'several', 'web_model', 'model.json'));
});

test('opening a folder holding several checkpoints asks to name one, listing them', async () => {
  await assert.rejects(openCheckpoint(join(dir, 'several')),
    (e: unknown) => e instanceof CheckpointError && /folder holds 3 checkpoints: a\.h5, b\.onnx, web_model\/; name one/.test(e.message));
});
