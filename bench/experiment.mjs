#!/usr/bin/env node
// `npm run bench` (after the compare bench): the replacement experiment on the demo model, as a
// user runs it from the CLI in the demo folder: compare, then the baseline and every replacement
// (10 layers, 3 roles, the reuse set) on the 1000 test pictures, in Debian's PyTorch.
// Target: the whole process < 30 s on this machine (2 cores). Exit 1 when missed.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const GOAL_S = 30;
const t0 = process.hrtime.bigint();
const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli.js'), 'experiment', 'runs/pretrained/source.pt', 'runs/pretrained/finetuned.pt',
  '--model', 'model.py:build_target_model', '--data', 'train.py:target_test_loader', '--python', '/usr/bin/python3', '--json'],
{ cwd: join(ROOT, 'demo'), encoding: 'utf8' });
const s = Number(process.hrtime.bigint() - t0) / 1e9;
if (r.status !== 0) {
  process.stderr.write(`experiment bench failed: ${r.stderr}`);
  process.exit(1);
}
const x = JSON.parse(r.stdout);
const evaluations = 1 + x.layers.length + x.roles.length + (x.reuseSet ? 1 : 0);
const ok = s < GOAL_S;
process.stdout.write([
  `Replacement experiment on the demo model (${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}, torch ${x.torch} on ${x.device}): ${evaluations} evaluations of ${x.samples} samples.`,
  '',
  '| Target | Measured | Goal | |',
  '|---|---:|---:|---|',
  `| \`reuse-lens experiment\` on demo/runs/pretrained, whole process | ${s.toFixed(1)} s (${(s / evaluations).toFixed(2)} s per evaluation) | < ${GOAL_S} s | ${ok ? 'met' : '**not met**'} |`,
  '',
].join('\n'));
if (!ok) process.exitCode = 1;
