import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, ensureProductionBuild, ROOT } from './helpers/shippedBundles';

const CLI = join(DIST, 'cli.js');
const DIR = join(ROOT, 'test', 'fixtures', 'pairs');
const SRC = join(DIR, 'source.safetensors');
const TGT = join(DIR, 'target.safetensors');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// `npm test` builds the production bundles first; a lone run of this file builds them if it has to.
before(ensureProductionBuild);

test('compare prints a layer table in network order and the one-line summary, exit 0', () => {
  const r = cli('compare', SRC, TGT);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split('\n');
  const header = lines.findIndex((l) => /^#\s+layer\s+kind\s+matched by\s+kernel RMSE\s+rel\. RMSE\s+cosine\s+verdict\s+reason$/.test(l));
  assert.ok(header > 0, r.out);
  const rows = lines.slice(header + 2, header + 10);
  assert.deepEqual(rows.map((l) => l.split(/\s+/)[1]), ['features.0', 'features.1', 'features.3', 'features.4', 'features.6', 'features.7', 'classifier.0', 'classifier.2']);
  assert.match(rows[0], /reuse\s+kernel relative RMSE 0\.0185 with the scale removed \(it feeds features\.1, a BatchNorm.*raw relative RMSE 0\.0188.*\) < 0\.1: reuse as is/);
  assert.match(rows[7], /incompatible\s+weight shape \[10, 32\] in the source, \[5, 32\] in the target/);
  assert.match(r.out, /\nBN running statistics moved \(recalibrate, if γ\/β transfer\) at a mean shift ≥ 0\.1 source std or \|log variance ratio\| ≥ 0\.2\n/);
  assert.equal(lines.at(-1), '2 of 8 layers reusable (257 of 4584 parameters); 2 fine-tune, 3 retrain, 1 incompatible — network looks partly reusable (estimate)');
  assert.equal(r.err, '');
});

test('--json prints the reuse-lens/report@1 report with the fields DESIGN.md names', () => {
  const r = cli('compare', SRC, TGT, '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.schema, 'reuse-lens/report@1');
  for (const k of ['source', 'target', 'options', 'layers', 'unmatched', 'summary']) assert.ok(k in j, k);
  assert.deepEqual(Object.keys(j.source).sort(), ['format', 'order', 'parameters', 'path', 'tensors']);
  const l = j.layers[0];
  for (const k of ['name', 'kind', 'sourceName', 'targetName', 'matchedBy', 'verdict', 'reason', 'params']) assert.ok(k in l, k);
  for (const k of ['role', 'sourceName', 'targetName', 'shape', 'rmse', 'relRmse', 'cosine', 'maxAbsDiff']) assert.ok(k in l.params[0], k);
});

test('--md, --csv and --plan pytorch|keras|json print their exports', () => {
  const md = cli('compare', SRC, TGT, '--md');
  assert.equal(md.code, 0);
  assert.match(md.out, /^# Reuse Lens report/);
  assert.match(md.out, /\| 7 \| classifier\.2 \| linear \| name \|/);
  const csv = cli('compare', SRC, TGT, '--csv');
  assert.equal(csv.code, 0);
  assert.match(csv.out, /^layer_index,layer,kind,matched_by,verdict,role,/);
  assert.equal(csv.out.trimEnd().split('\r\n').length, 1 + 25);
  const py = cli('compare', SRC, TGT, '--plan', 'pytorch');
  assert.equal(py.code, 0);
  assert.match(py.out, /weights_only=True/);
  assert.match(py.out, /def apply_reuse_plan\(model/);
  const keras = cli('compare', SRC, TGT, '--plan', 'keras');
  assert.match(keras.out, /set_weights/);
  const json = JSON.parse(cli('compare', SRC, TGT, '--plan', 'json').out);
  assert.deepEqual(json.layers.freeze, ['features.0', 'features.1']);
});

test('thresholds, metric and prefix flags reach the verdicts', () => {
  const loose = JSON.parse(cli('compare', SRC, TGT, '--json', '--reuse-below', '0.5', '--fine-tune-below', '2').out);
  assert.equal(loose.layers.find((l: { name: string }) => l.name === 'features.3').verdict, 'reuse');
  assert.deepEqual(loose.options, { metric: 'relRmse', reuseBelow: 0.5, fineTuneBelow: 2, prefixRules: ['module.', '_orig_mod.'] });
  const abs = JSON.parse(cli('compare', SRC, TGT, '--json', '--metric', 'rmse', '--no-default-prefixes', '--prefix', 'net.').out);
  assert.deepEqual(abs.options.prefixRules, ['net.']);
  assert.equal(abs.options.metric, 'rmse');
  assert.match(abs.layers[0].reason, /kernel RMSE 0\.00199 with the scale removed .*raw RMSE 0\.00201.*\) < 0\.1/);
});

test('bad input exits 1 with one line on stderr naming the file and the problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reuse-cli-'));
  try {
    const junk = join(dir, 'junk.pt');
    writeFileSync(junk, 'this is not a checkpoint at all');
    for (const [args, file] of [[['compare', SRC, join(dir, 'missing.safetensors')], 'missing.safetensors'], [['compare', junk, TGT], 'junk.pt'], [['inspect', junk], 'junk.pt']] as const) {
      const r = cli(...args);
      assert.equal(r.code, 1, r.err);
      assert.equal(r.err.trimEnd().split('\n').length, 1, r.err);
      assert.ok(r.err.includes(file), r.err);
      assert.doesNotMatch(r.err, /\n\s+at /);
      assert.equal(r.out, '');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('wrong usage exits 2 with the usage on stderr', () => {
  for (const args of [[], ['compare', SRC], ['compare', SRC, TGT, '--bogus'], ['compare', SRC, TGT, '--plan', 'caffe'],
    ['compare', SRC, TGT, '--json', '--md'], ['compare', SRC, TGT, '--reuse-below', 'x'], ['inspect'], ['frobnicate']]) {
    const r = cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /Usage:\n {2}reuse-lens compare SOURCE TARGET/);
    assert.equal(r.out, '');
  }
});

test('--help and --version print to stdout and exit 0', () => {
  const h = cli('--help');
  assert.equal(h.code, 0);
  assert.match(h.out, /reuse-lens inspect FILE/);
  const v = cli('--version');
  assert.equal(v.code, 0);
  assert.match(v.out, /^\d+\.\d+\.\d+\n$/);
});

test('inspect lists layers and tensors; --stats adds min/max/mean/std/zeros; --json has the inspect schema', () => {
  const plain = cli('inspect', SRC);
  assert.equal(plain.code, 0, plain.err);
  assert.match(plain.out, /safetensors, 25 tensors, 4749 parameters, 8 layers/);
  assert.match(plain.out, /features\.0\s+conv\s+weight\s+features\.0\.weight\s+F32\s+\[8, 3, 3, 3\]\s+216/);
  const stats = cli('inspect', SRC, '--stats');
  assert.match(stats.out, /min\s+max\s+mean\s+std\s+zeros/);
  const j = JSON.parse(cli('inspect', SRC, '--json', '--stats').out);
  assert.equal(j.schema, 'reuse-lens/inspect@1');
  assert.equal(j.format, 'safetensors');
  for (const k of ['min', 'max', 'mean', 'std', 'zeros']) assert.ok(k in j.tensors[0].stats, k);
  assert.ok(Array.isArray(j.layers) && Array.isArray(j.entries));
});

test('inspect of a folder holding several checkpoints lists them, and inspects a folder that is one model', () => {
  const several = join(ROOT, 'test', 'fixtures', 'folders', 'several');
  const r = cli('inspect', several);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /folder holds 3 checkpoints/);
  assert.match(r.out, /a\.h5[\s\S]*b\.onnx[\s\S]*web_model\//);
  const j = JSON.parse(cli('inspect', several, '--json').out);
  assert.equal(j.schema, 'reuse-lens/folder@1');
  assert.deepEqual(j.checkpoints.map((c: { name: string }) => c.name), ['a.h5', 'b.onnx', 'web_model/']);
  const one = JSON.parse(cli('inspect', join(ROOT, 'test', 'fixtures', 'folders', 'sharded'), '--json').out);
  assert.equal(one.schema, 'reuse-lens/inspect@1');
  assert.equal(one.format, 'safetensors-sharded');
});

test('output piped into a reader that stops early (| head) ends quietly, without a stack trace', () => {
  // 4000 one-element tensors: inspect prints far more than a pipe's 64 KB buffer, so writes hit the closed pipe.
  const dir = mkdtempSync(join(tmpdir(), 'rl-pipe-'));
  try {
    const header: Record<string, unknown> = {};
    for (let i = 0; i < 4000; i++) header[`block${i}.conv.weight`] = { dtype: 'F32', shape: [1], data_offsets: [i * 4, i * 4 + 4] };
    const h = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(h.length));
    const file = join(dir, 'many.safetensors');
    writeFileSync(file, Buffer.concat([len, h, Buffer.alloc(4000 * 4)]));
    const r = spawnSync('bash', ['-c', `set -o pipefail; node "${CLI}" inspect "${file}" | head -c 10 > /dev/null`], { encoding: 'utf8', cwd: ROOT });
    assert.doesNotMatch(r.stderr, /EPIPE|Unhandled|at /, r.stderr);
    assert.equal(r.status, 0, r.stderr);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('the CLI starts from the code cache the build saved, and still works when the cache is missing or damaged', () => {
  assert.ok(existsSync(join(ROOT, 'dist', 'cli-bundle.cache')), 'the build saved a code cache');
  const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-cli-cache-'));
  try {
    for (const f of ['cli.js', 'cli-bundle.js']) copyFileSync(join(ROOT, 'dist', f), join(dir, f));
    const pair = [join(ROOT, 'test/fixtures/pairs/source.pt'), join(ROOT, 'test/fixtures/pairs/target.safetensors')];
    const expected = spawnSync(process.execPath, [CLI, 'compare', ...pair, '--csv'], { encoding: 'utf8' });
    assert.equal(expected.status, 0, expected.stderr);
    const good = readFileSync(join(ROOT, 'dist', 'cli-bundle.cache'));
    for (const cache of [undefined, Buffer.from('not a V8 code cache'), good.subarray(0, 100), good]) {
      rmSync(join(dir, 'cli-bundle.cache'), { force: true });
      if (cache) writeFileSync(join(dir, 'cli-bundle.cache'), cache);
      const r = spawnSync(process.execPath, [join(dir, 'cli.js'), 'compare', ...pair, '--csv'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, expected.stdout);
    }
    // A bundle of the same length but other content (a rebuild) must not run the old code:
    // V8 checks only the length, the cache file's SHA-256 header checks the content.
    const bundle = readFileSync(join(dir, 'cli-bundle.js'), 'utf8');
    const at = bundle.indexOf("'0.1.0'") >= 0 ? bundle.indexOf("'0.1.0'") : bundle.indexOf('"0.1.0"');
    assert.ok(at > 0, 'the bundle holds the version string');
    writeFileSync(join(dir, 'cli-bundle.js'), bundle.slice(0, at + 1) + '9.9.9' + bundle.slice(at + 6));
    writeFileSync(join(dir, 'cli-bundle.cache'), good);
    const v = spawnSync(process.execPath, [join(dir, 'cli.js'), '--version'], { encoding: 'utf8' });
    assert.equal(v.stdout.trim(), '9.9.9');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
