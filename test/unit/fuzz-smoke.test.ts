// The CI short pass of the fuzzer: a few hundred seeded mutants of the committed fixtures,
// through the worker's entry points in a child process, end with no finding (every input a
// result or a CheckpointError, in time, in bounded memory, no descriptor left open).
// `npm run fuzz` runs the long version; test/fuzz/runner.ts has the rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz, formatSummary, Child } from '../fuzz/runner';

test('300 seeded mutants of safetensors, NumPy, PyTorch (pickle opcodes included), Keras, TF.js (quantized included), ONNX and TFLite (int8 per channel, float16) fixtures end in a result or a clean error', { timeout: 180_000 }, async () => {
  const lines: string[] = [];
  const s = await runFuzz({
    seed: 20260101, count: 300, seconds: 40, save: false, log: (l) => lines.push(l),
    filter: /^(safetensors|numpy|pytorch|pairs|keras|keras-direct|tfjs|onnx|tflite|hostile)[/\\]/,
  });
  assert.ok(s.inputs >= 100, `only ${s.inputs} inputs ran in the time allowed:\n${formatSummary(s)}`);
  assert.equal(s.findings.length, 0, `${formatSummary(s)}\n${lines.filter((l) => /FINDING/.test(l)).join('\n')}`);
  assert.ok(s.results > 0 && s.errors > 0, 'mutants both still open and fail cleanly: the mutations are neither too weak nor too strong');
});

// The round robin above reaches the last families (tfjs, tflite) only when ~130 inputs run in its
// time, which a busy machine may not allow: the quantized readers get a pass of their own.
test('mutants of the quantized TF.js and TFLite fixtures (dequantized as read) end in a result or a clean error', { timeout: 120_000 }, async () => {
  const lines: string[] = [];
  const s = await runFuzz({ seed: 20261206, count: 40, seconds: 25, save: false, log: (l) => lines.push(l), filter: /^(tflite|tfjs[/\\]cnn_quant)[/\\]/ });
  assert.ok((s.families.tflite ?? 0) >= 4 && (s.families.tfjs ?? 0) >= 4, `too few inputs ran:\n${formatSummary(s)}`);
  assert.equal(s.findings.length, 0, `${formatSummary(s)}\n${lines.filter((l) => /FINDING/.test(l)).join('\n')}`);
  assert.ok(s.results > 0 && s.errors > 0, `mutants both still open and fail cleanly:\n${formatSummary(s)}`);
});

test('the fuzz runner leaves no child process behind after a restart (the old child\'s late exit does not hide the new one)', { timeout: 60_000 }, async () => {
  const child = new Child(256, []);
  await child.ready;
  const first = child.proc.pid!;
  child.restart();
  await child.ready;
  const second = child.proc.pid!;
  await new Promise((r) => setTimeout(r, 200)); // the first child's exit event has arrived
  assert.equal(child.exited, false, 'the new child is running');
  child.kill();
  const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  for (let i = 0; i < 50 && alive(second); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(alive(first), false, 'the first child is gone');
  assert.equal(alive(second), false, 'the second child is gone after kill()');
});
