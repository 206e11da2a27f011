// Inline reuse hints: which lines of training code name a layer of the analysed model, and
// what the hint on that line says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { findLayerLines, hintFor, layersFor } from '../../src/extension/hints/pythonLayers';
import type { Report } from '../../src/core/shared/reportTypes';

const report = (): Report => JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'report', 'sample-report.json'), 'utf8'));

const CODE = `import torch.nn as nn
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU())
        # self.old = nn.Linear(1, 2)
        self.classifier = nn.Linear(64, 10)
        self.count = 0
x = layers.Conv2D(32, 3, name="conv1")(x)
model.load_state_dict(torch.load("source.pt"))
`;

test('finds PyTorch layer attributes, Keras named layers and load_state_dict calls, not comments or plain attributes', () => {
  const found = findLayerLines(CODE).map((l) => `${l.line}:${l.kind}:${l.name}`);
  assert.deepEqual(found, ['4:attr:features', '6:attr:classifier', '8:keras:conv1', '9:load:']);
});

test('a Sequential attribute gets a summary of the layers under it; a load call the network verdict', () => {
  const r = report();
  const under = layersFor('features', r);
  assert.ok(under.length > 1 && under.every((l) => l.name.startsWith('features.')));
  const lines = findLayerLines(CODE);
  const h = hintFor(lines[0], r)!;
  assert.match(h.title, new RegExp(`^Reuse Lens: ${under.length} layers: `));
  const load = hintFor(lines[3], r)!;
  assert.match(load.title, /network (reusable|partly reusable|not reusable)/);
});

test('a layer defined in code but absent from the analysis gets no hint', () => {
  assert.equal(hintFor({ line: 0, column: 0, name: 'nothing_like_this', kind: 'attr' }, report()), undefined);
});

test('a single matching layer shows its verdict and relative RMSE', () => {
  const r = report();
  const l = r.layers[0];
  const h = hintFor({ line: 0, column: 0, name: l.name, kind: 'attr' }, r)!;
  assert.match(h.title, new RegExp(`^Reuse Lens: ${l.verdict}`));
  assert.equal(h.layer, l.name);
});
