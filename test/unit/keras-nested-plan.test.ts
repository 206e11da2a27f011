// The Keras reuse plan on nested models: a layer named `backbone/conv2d` is the layer `conv2d` of
// the nested model `backbone` (or of a custom layer holding layers), reached as Keras code reaches
// it, not `backbone` as a whole (whose set_weights would also copy the layers judged retrain).
// The plan, from the sources and from `dist/cli.js compare --plan keras`, runs on the tf.keras
// .h5 pairs of test/fixtures/codemap against stand-in Keras objects (no TensorFlow here) that keep
// Keras's rules: get_layer on models only, a custom layer's layers in _flatten_layers, a
// container's set_weights setting all its layers, trainable=False freezing everything below.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { analyzePaths } from '../../src/core/analysis/engine';
import { planKeras } from '../../src/core/shared/exports';
import { DIST, ensureProductionBuild, ROOT } from './helpers/shippedBundles';

const PY = '/usr/bin/python3';
const DIR = join(ROOT, 'test', 'fixtures', 'codemap', 'checkpoints');

before(() => ensureProductionBuild());

/** Keras-like objects and a model tree built from a spec: [name, 'model' | 'layer', children]. */
const STAND_IN = `
import json
class Layer:
    def __init__(self, name, children=(), tag=""):
        self.name, self.children, self.trainable = name, list(children), True
        self.own = [f"{tag}:{name}"] if not children else []
    def _flatten_layers(self, include_self=True, recursive=True):
        if include_self:
            yield self
        for c in self.children:
            if recursive:
                yield from c._flatten_layers(True, True)
            else:
                yield c
    def get_weights(self):
        return self.own + [w for c in self.children for w in c.get_weights()]
    def set_weights(self, ws):
        ws = list(ws)
        self.own, rest = ws[:len(self.own)], ws[len(self.own):]
        for c in self.children:
            n = len(c.get_weights())
            c.set_weights(rest[:n])
            rest = rest[n:]
class Model(Layer):
    def get_layer(self, name):
        for c in self.children:
            if c.name == name:
                return c
        raise ValueError(f"No such layer: {name}")
def build(spec, tag):
    name, kind, children = spec
    return (Model if kind == "model" else Layer)(name, [build(c, tag) for c in children], tag)
def frozen(layer, path="", parent_frozen=False):
    out = []
    for c in layer.children:
        f = parent_frozen or not c.trainable
        p = f"{path}{c.name}"
        if f and not c.children:
            out.append(p)
        out += frozen(c, p + "/", f)
    return out
def weights(layer, path=""):
    out = {}
    for c in layer.children:
        p = f"{path}{c.name}"
        if not c.children:
            out[p] = c.own[0].split(":")[0]
        out.update(weights(c, p + "/"))
    return out
`;

interface Case { label: string; source: string; target: string; tree: unknown; copied: string[]; frozen: string[] }
const CASES: Case[] = [{
  label: 'a functional backbone and a Sequential head inside a functional model',
  source: 'keras_nested_source.h5', target: 'keras_nested_target.h5',
  tree: ['model', 'model', [['input_2', 'layer', []],
    ['backbone', 'model', [['conv2d', 'layer', []], ['batch_normalization', 'layer', []], ['conv2d_1', 'layer', []]]],
    ['head', 'model', [['dense', 'layer', []], ['dropout', 'layer', []], ['dense_1', 'layer', []]]]]],
  // conv2d reuse, batch_normalization fine-tune (copied, trainable), conv2d_1 retrain, head/dense reuse, head/dense_1 incompatible.
  copied: ['backbone/batch_normalization', 'backbone/conv2d', 'head/dense'],
  frozen: ['backbone/conv2d', 'head/dense'],
}, {
  label: 'a subclassed model holding a Sequential and custom layers with layers of their own',
  source: 'keras_subclassed_nested_source.h5', target: 'keras_subclassed_nested_target.h5',
  tree: ['classifier', 'model', [['sequential', 'model', [['conv2d', 'layer', []], ['max_pooling2d', 'layer', []]]],
    ['block1', 'layer', [['conv2d_1', 'layer', []], ['batch_normalization', 'layer', []]]],
    ['conv_block', 'layer', [['conv2d_2', 'layer', []], ['batch_normalization_1', 'layer', []]]],
    ['global_average_pooling2d', 'layer', []], ['dense', 'layer', []], ['dense_1', 'layer', []], ['dense_2', 'layer', []]]],
  // The blocks' convs reuse, their BatchNormalizations retrain; dense reuse, dense_1 fine-tune, dense_2 incompatible.
  copied: ['block1/conv2d_1', 'conv_block/conv2d_2', 'dense', 'dense_1', 'sequential/conv2d'],
  frozen: ['block1/conv2d_1', 'conv_block/conv2d_2', 'dense', 'sequential/conv2d'],
}];

/** Runs the plan on stand-in source/target trees: which target layers hold the source's weights, which are frozen. */
function runPlan(code: string, tree: unknown): { copied: string[]; frozen: string[]; missing: string } {
  const check = `${STAND_IN}
${code}
tree = json.loads(${JSON.stringify(JSON.stringify(tree))})
source, target = build(tree, "src"), build(tree, "tgt")
apply_reuse_plan(target, source)
print(json.dumps({"copied": sorted(p for p, t in weights(target).items() if t == "src"), "frozen": sorted(frozen(target))}))
`;
  const run = spawnSync(PY, ['-c', check], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  return { ...JSON.parse(lines.at(-1)!), missing: lines.slice(0, -1).join('\n') };
}

for (const c of CASES) {
  test(`the Keras plan copies and freezes the nested layers themselves (${c.label}), from the sources and from dist/cli.js`, async () => {
    const report = await analyzePaths(join(DIR, c.source), join(DIR, c.target));
    const cli = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'compare', join(DIR, c.source), join(DIR, c.target), '--plan', 'keras'], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    for (const [from, code] of [['sources', planKeras(report)], ['dist/cli.js', cli.stdout]]) {
      const got = runPlan(code, c.tree);
      assert.equal(got.missing, '', `${from}: every planned layer is found`);
      assert.deepEqual(got.copied, c.copied, `${from}: layers holding the source's weights`);
      assert.deepEqual(got.frozen, c.frozen, `${from}: frozen layers`);
    }
  });
}
