import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzePaths } from '../../src/core/analysis/engine';
import { toMarkdown, toCsv, reusePlan, planJson, planPytorch, planKeras, csvField } from '../../src/core/shared/exports';
import { Report } from '../../src/core/shared/reportTypes';

const FIXTURES = join(__dirname, '..', 'fixtures');
const DIR = join(FIXTURES, 'pairs');
const PY = '/usr/bin/python3';
let cached: Report | undefined;
async function report(): Promise<Report> {
  return (cached ??= await analyzePaths(join(DIR, 'source.safetensors'), join(DIR, 'target.safetensors')));
}

/** RFC 4180 reader, to check that what toCsv writes reads back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []; let row: string[] = []; let field = ''; let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) { if (c === '"') { if (text[i + 1] === '"') { field += '"'; i++; } else q = false; } else field += c; }
    else if (c === '"') q = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\r') { /* part of CRLF */ }
    else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else field += c;
  }
  return rows;
}

function python(module?: string): string | false {
  const r = spawnSync(PY, ['-c', module ? `import ${module}` : 'pass'], { encoding: 'utf8' });
  return r.status === 0 ? false : `${PY} ${module ? `lacks ${module}` : 'is not available'}`;
}

test('Markdown export is a table with one row per layer in network order and the summary', async () => {
  const r = await report();
  const md = toMarkdown(r);
  const rows = md.split('\n').filter((l) => /^\| \d+ \|/.test(l));
  assert.equal(rows.length, r.layers.length);
  assert.match(rows[0], /^\| 0 \| features\.0 \| conv \| name \| 0\.00199 \| 0\.0185 \| 1 \| \*\*reuse\*\* \| kernel relative RMSE 0\.0185 with the scale removed .*raw relative RMSE 0\.0188/);
  assert.ok(md.includes(r.summary.text));
  const piped = toMarkdown({ ...r, layers: [{ ...r.layers[0], name: 'a|b' }] });
  assert.match(piped, /\| a\\\|b \|/);
});

test('CSV export has one row per parameter and quotes fields with commas, quotes and line breaks', async () => {
  const r = await report();
  const rows = parseCsv(toCsv(r));
  assert.equal(rows.length - 1, r.layers.reduce((n, l) => n + l.params.length, 0));
  assert.ok(rows.every((row) => row.length === rows[0].length), 'every row has the header\'s columns');
  assert.deepEqual(rows[1].slice(0, 9), ['0', 'features.0', 'conv', 'name', 'reuse', 'weight', 'features.0.weight', 'features.0.weight', '8x3x3x3']);
  assert.equal(Number(rows[1][12]), r.layers[0].params[0].relRmse);
  const odd = 'say "hi", then\nleave';
  const back = parseCsv(toCsv({ ...r, layers: [{ ...r.layers[0], reason: odd }] }));
  assert.equal(back[1][back[0].indexOf('reason')], odd);
  assert.equal(csvField('plain'), 'plain');
});

test('the JSON reuse plan copies reuse and fine-tune layers, freezes reuse layers, re-initialises the rest', async () => {
  const plan = reusePlan(await report());
  assert.equal(JSON.parse(planJson(await report())).schema, 'reuse-lens/plan@1');
  const copied = plan.copy.map((c) => c.target);
  assert.ok(copied.includes('features.0.weight') && copied.includes('features.4.running_var'));
  assert.ok(!copied.some((n) => n.startsWith('features.6') || n.startsWith('classifier')));
  assert.deepEqual(plan.freeze, ['features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias',
    'features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked']);
  assert.ok(plan.reinit.includes('classifier.2.weight') && plan.reinit.includes('features.6.weight'));
  assert.deepEqual(plan.layers.freeze, ['features.0', 'features.1']);
});

test('the PyTorch plan runs in Python on the real model: copies source tensors, freezes reused layers, maps module. names', async (t) => {
  const skip = python('torch');
  if (skip) { t.skip(skip); return; }
  // A DataParallel training checkpoint as the target: its tensor names carry `module.`, the model's do not.
  const wrapped = await analyzePaths(join(DIR, 'source.pt'), join(DIR, 'target_wrapped.pt'));
  assert.ok(wrapped.layers[0].params[0].targetName!.startsWith('module.'));
  const dir = mkdtempSync(join(tmpdir(), 'reuse-plan-'));
  try {
    writeFileSync(join(dir, 'plan.py'), planPytorch(wrapped));
    const check = `
import json, sys, torch
sys.path.insert(0, ${JSON.stringify(FIXTURES)})
from gen_pairs import Net
exec(open(${JSON.stringify(join(dir, 'plan.py'))}).read())
torch.manual_seed(99)
model = Net(5)
head_before = model.classifier[2].weight.clone()
apply_reuse_plan(model)
source = torch.load(SOURCE_CHECKPOINT, weights_only=True)
state = model.state_dict()
copied = [k for k in source if k in state and state[k].shape == source[k].shape and torch.equal(state[k], source[k])]
frozen = sorted(n for n, p in model.named_parameters() if not p.requires_grad)
print(json.dumps({"copied": copied, "frozen": frozen, "head_kept": bool(torch.equal(model.classifier[2].weight, head_before))}))
`;
    const run = spawnSync(PY, ['-c', check], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    assert.deepEqual(out.frozen, ['features.0.bias', 'features.0.weight', 'features.1.bias', 'features.1.weight']);
    for (const n of ['features.0.weight', 'features.1.running_var', 'features.3.weight', 'features.4.running_mean']) assert.ok(out.copied.includes(n), `${n} copied`);
    assert.ok(!out.copied.includes('features.6.weight'), 'retrain layer left as initialised');
    assert.equal(out.head_kept, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Keras plan is valid Python that sets weights by layer name and freezes reused layers', async (t) => {
  const skip = python();
  if (skip) { t.skip(skip); return; }
  const code = planKeras(await report());
  assert.match(code, /COPY_LAYERS = \{\n {4}"features\.0": "features\.0",/);
  assert.match(code, /FREEZE_LAYERS = \[\n {4}"features\.0",\n {4}"features\.1",\n\]/);
  assert.match(code, /\.trainable = False/);
  // Run it against stand-in model objects: no Keras is installed, the calls are what matter.
  const check = `
${code}
class L:
    def __init__(self, n): self.n, self.w, self.trainable = n, [n], True
    def get_weights(self): return self.w
    def set_weights(self, w): self.w = ["copied:" + x for x in w]
class M:
    def __init__(self): self.layers = {}
    def get_layer(self, n): return self.layers.setdefault(n, L(n))
target, source = M(), M()
apply_reuse_plan(target, source)
print(sorted(n for n, l in target.layers.items() if not l.trainable), target.get_layer("features.3").w)
`;
  const run = spawnSync(PY, ['-c', check], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), "['features.0', 'features.1'] ['copied:features.3']");
});
