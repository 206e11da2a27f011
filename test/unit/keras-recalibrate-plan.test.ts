// The Keras plan's recalibrate_bn (src/core/shared/exports.ts) on the AdaBN pair's report: no
// TensorFlow or Keras exists here (neither in Debian nor on npm for Python), so it runs against a
// stand-in `keras` module whose BatchNormalization follows Keras's documented rule (with
// training=True and trainable=True: moving = momentum·moving + (1 − momentum)·batch statistic;
// trainable=False: inference mode, nothing updated). What it shows: the plan's momentum schedule
// makes the statistics the average over the target batches, only the recalibrate layers move, and
// every layer's trainable flag and momentum are put back. Whether real Keras behaves as the
// stand-in does is not shown here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { analyzePaths } from '../../src/core/analysis/engine';
import { planKeras } from '../../src/core/shared/exports';

const PY = '/usr/bin/python3';
const DIR = join(__dirname, '..', 'fixtures', 'verdicts', 'adabn');

const STAND_IN = `
import sys, types
import numpy as np
keras = types.ModuleType("keras")
keras.layers = types.SimpleNamespace()
class Var:
    def __init__(self, v): self.v = np.array(v, dtype=np.float64)
    @property
    def shape(self): return self.v.shape
    def assign(self, v): self.v = np.array(v, dtype=np.float64)
class BatchNormalization:
    def __init__(self, name, c):
        self.name, self.trainable, self.momentum = name, True, 0.99
        self.moving_mean, self.moving_variance = Var(np.full(c, 5.0)), Var(np.full(c, 7.0))
    def __call__(self, x, training=False):
        if training and self.trainable:
            m = self.momentum
            self.moving_mean.assign(m * self.moving_mean.v + (1 - m) * x.mean(axis=0))
            self.moving_variance.assign(m * self.moving_variance.v + (1 - m) * x.var(axis=0))
        return x
keras.layers.BatchNormalization = BatchNormalization
sys.modules["keras"] = keras
`;

test('the Keras plan\'s recalibrate_bn makes the recalibrate layers\' statistics the target batches\' average and touches nothing else (stand-in Keras)', async (t) => {
  if (spawnSync(PY, ['-c', 'import numpy'], { encoding: 'utf8' }).status !== 0) { t.skip(`${PY} lacks numpy`); return; }
  const report = await analyzePaths(join(DIR, 'source.pt'), join(DIR, 'target.pt'));
  const recalibrate = report.layers.filter((l) => l.verdict === 'recalibrate').map((l) => l.name);
  assert.ok(recalibrate.length > 0, 'the AdaBN pair has recalibrate layers');
  const code = planKeras(report);
  const check = `${STAND_IN}
${code}
names = list(RECALIBRATE_LAYERS)
assert names, "RECALIBRATE_LAYERS is empty"
class Model:
    def __init__(self):
        self.layers = [BatchNormalization(n, 4) for n in names] + [BatchNormalization("other_bn", 4)]
        self.layers[-1].trainable = False  # a frozen one stays frozen
    def get_layer(self, n): return next(l for l in self.layers if l.name == n)
    def __call__(self, x, training=False):
        for l in self.layers: x = l(x, training=training)
        return x
rng = np.random.default_rng(0)
batches = [(rng.normal(3.0, 2.0, (16, 4)), None) for _ in range(5)]
model = Model()
recalibrate_bn(model, batches)
for n in names:
    l = model.get_layer(n)
    assert np.allclose(l.moving_mean.v, np.mean([b.mean(axis=0) for b, _ in batches], axis=0)), n
    assert np.allclose(l.moving_variance.v, np.mean([b.var(axis=0) for b, _ in batches], axis=0)), n
    assert l.trainable is True and l.momentum == 0.99, n
o = model.get_layer("other_bn")
assert (o.moving_mean.v == 5.0).all() and (o.moving_variance.v == 7.0).all() and o.trainable is False
print(len(names))
`;
  const run = spawnSync(PY, ['-c', check], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(Number(run.stdout.trim()), new Set(recalibrate.map((n) => n.split('/')[0])).size);
});
