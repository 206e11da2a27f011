// Every input the fuzzer ever found a problem with (test/fixtures/hostile/fuzz-found/, each with
// a .note.json saying how it was made and what went wrong) must now end in a result or a
// CheckpointError, in time, without leaking. Inputs run in a child process, as in the fuzzer,
// so a hang or a crash fails the test instead of the test run.
// A note with "open": "<why>" is a known, unfixed finding in someone else's code: reported
// as a todo until fixed (then delete the "open" field).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FUZZ_FOUND } from '../fuzz/corpus';
import { runSaved } from '../fuzz/runner';

interface Note { targets: string[]; kind: string; detail: string; from: string; mutations: string[]; open?: string }

const notes = existsSync(FUZZ_FOUND)
  ? readdirSync(FUZZ_FOUND).filter((f) => f.endsWith('.note.json')).sort().map((f) => ({ file: f, note: JSON.parse(readFileSync(join(FUZZ_FOUND, f), 'utf8')) as Note }))
  : [];

test('every saved fuzz finding has its input next to its note', () => {
  for (const { file, note } of notes) for (const t of note.targets) {
    assert.ok(existsSync(join(FUZZ_FOUND, t)), `${file} names ${t}, which is missing`);
  }
});

let results: Awaited<ReturnType<typeof runSaved>> | undefined;
async function resultOf(i: number) {
  results ??= await runSaved(notes.map(({ note }) => note.targets.map((t) => join(FUZZ_FOUND, t))));
  return results[i];
}

notes.forEach(({ file, note }, i) => {
  const title = `fuzz-found ${file.replace('.note.json', '')} (was ${note.kind}: ${note.detail.slice(0, 80)}) ends in a result or a CheckpointError`;
  test(title, { todo: note.open ?? false, timeout: 120_000 }, async () => {
    const r = await resultOf(i);
    assert.ok(r.ok, r.ok ? '' : `${r.kind}: ${r.detail}\n(from ${note.from}: ${note.mutations.join('; ')})`);
  });
});
