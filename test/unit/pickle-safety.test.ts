// The pickle interpreter builds data and executes nothing: hostile pickles written by Python's
// own pickle module are refused by the name of the global they call, and a canary file the
// payload would create never appears. Deep, endless and oversized pickles end in a
// CheckpointError, never a stack overflow or a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../../src/core/formats/open';
import { CheckpointError, UnsafePickleError } from '../../src/core/common/errors';
import { unpickle } from '../../src/core/formats/pytorch/pickle';
import { SAFE_GLOBALS } from '../../src/core/formats/pytorch/pickleGlobals';
import { TORCH_ALLOWED_GLOBALS } from '../../src/core/formats/pytorch/pytorchGlobals';
import { PyDict, PyFloat, PyList, PySet, PyTuple, PyValue } from '../../src/core/formats/pytorch/pickleValues';
import { flattenCheckpoint } from '../../src/core/formats/pytorch/pytorchFlatten';

const DIR = join(__dirname, '..', 'fixtures', 'pytorch', 'malicious');
const manifest = JSON.parse(readFileSync(join(DIR, 'canary.json'), 'utf8')) as { canary: string; refuses: Record<string, string> };

function vm(bytes: Uint8Array | number[], extra: Partial<Parameters<typeof unpickle>[2]> = {}): PyValue {
  return unpickle(Uint8Array.from(bytes), 0, { file: 'mem.pkl', globals: SAFE_GLOBALS, ...extra }).value;
}

async function refusal(path: string): Promise<unknown> {
  try { await openCheckpoint(path); } catch (e) { return e; }
  return undefined;
}

for (const [name, global] of Object.entries(manifest.refuses)) {
  for (const ext of ['.pkl', '.pt']) {
    test(`refuses ${name}${ext}, naming ${global}, and runs nothing`, async () => {
      rmSync(manifest.canary, { force: true });
      const path = join(DIR, name + ext);
      const err = await refusal(path);
      assert.ok(err instanceof UnsafePickleError, `expected UnsafePickleError, got ${String(err)}`);
      assert.equal(err.global, global);
      assert.equal(err.message, `refused to load ${path}: pickle calls ${global}, which is not a tensor type; nothing was executed`);
      assert.equal(existsSync(manifest.canary), false, 'the payload ran: the canary file exists');
    });
  }
}

test('the malicious fixtures really carry their payload (the global appears in the bytes)', () => {
  for (const [name, global] of Object.entries(manifest.refuses)) {
    const bytes = readFileSync(join(DIR, name + '.pkl')).toString('latin1');
    const [mod, ...rest] = global.split('.');
    assert.ok(bytes.includes(rest.join('.')) && (bytes.includes(mod) || mod === 'builtins'), `${name} does not name ${global}`);
  }
});

for (const file of ['deep_list.pkl', 'deep_list.pt']) {
  test(`a 100000-deep nested list (${file}) ends in a CheckpointError, not a stack overflow`, async () => {
    const t0 = Date.now();
    const err = await refusal(join(DIR, file));
    assert.ok(err instanceof CheckpointError, `got ${String(err)}`);
    assert.match(err.message, /nests more than \d+ levels deep/);
    assert.ok(Date.now() - t0 < 5000);
  });
}

for (const file of ['endless.pkl', 'endless.pt']) {
  test(`a pickle that never reaches STOP (${file}) ends in a CheckpointError quickly`, async () => {
    const t0 = Date.now();
    const err = await refusal(join(DIR, file));
    assert.ok(err instanceof CheckpointError, `got ${String(err)}`);
    assert.ok(err.message.includes(join(DIR, file)));
    assert.ok(Date.now() - t0 < 5000);
  });
}

test('a pickle longer than the operation limit stops with an error', () => {
  const body = [0x80, 2, ...Array(10_000).fill([0x4e, 0x30]).flat(), 0x4e, 0x2e];
  assert.equal(vm(body), null);
  assert.throws(() => vm(body, { maxOps: 5000 }), (e: unknown) => e instanceof CheckpointError && /more than 5000 operations/.test(e.message));
});

test('a global fetched back from the memo is refused when it is first looked up', () => {
  // GLOBAL builtins.getattr stored in the memo and popped before it is ever called.
  const p = [0x80, 2, ...Buffer.from('c__builtin__\ngetattr\n'), 0x71, 0, 0x30, 0x4e, 0x2e];
  assert.throws(() => vm(p), (e: unknown) => e instanceof UnsafePickleError && e.global === 'builtins.getattr');
});

test('STACK_GLOBAL built from memoised strings still resolves allowed globals', () => {
  // 'collections' and 'OrderedDict' memoised, fetched, STACK_GLOBAL, called with ().
  const s = (t: string) => [0x8c, t.length, ...Buffer.from(t)];
  const p = [0x80, 4, ...s('collections'), 0x94, ...s('OrderedDict'), 0x94, 0x30, 0x30, 0x68, 0, 0x68, 1, 0x93, 0x29, 0x52, 0x2e];
  const v = vm(p);
  assert.ok(v instanceof PyDict && v.typeName === 'OrderedDict');
});

test('names that reach attributes of allowed globals are refused', () => {
  const s = (t: string) => [0x8c, t.length, ...Buffer.from(t)];
  for (const [m, n] of [['collections', 'OrderedDict.__class__'], ['torch._utils', '_rebuild_tensor_v2.__globals__'], ['builtins', '__import__'], ['torch', 'load'], ['torch.serialization', 'load']]) {
    assert.throws(() => vm([0x80, 4, ...s(m), ...s(n), 0x93, 0x2e], { globals: TORCH_ALLOWED_GLOBALS }), (e: unknown) => e instanceof UnsafePickleError && e.global === `${m}.${n}`);
  }
});

test("Lightning's AttributeDict hyper-parameters are read as a plain dict", () => {
  const p = [0x80, 2, ...Buffer.from('cpytorch_lightning.utilities.parsing\nAttributeDict\n'), 0x29, 0x81, 0x8c, 2, ...Buffer.from('lr'), 0x4b, 3, 0x73, 0x2e];
  const v = vm(p);
  assert.ok(v instanceof PyDict && v.typeName === 'AttributeDict');
  assert.equal(v.get('lr'), 3);
});

test('calling a value that is not an allowed global is refused', () => {
  // A string "called" with REDUCE.
  assert.throws(() => vm([0x80, 2, 0x8c, 1, 0x61, 0x29, 0x52, 0x2e]), CheckpointError);
});

test('lengths that exceed the remaining bytes are refused before any allocation', () => {
  for (const p of [
    [0x80, 2, 0x58, 0xf0, 0xff, 0xff, 0xff, 0x61, 0x2e], // BINUNICODE 4 GB
    [0x80, 4, 0x8d, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x2e], // BINUNICODE8 2^62
    [0x80, 4, 0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x2e], // BINBYTES8 2^64-1
    [0x80, 2, 0x8b, 0xff, 0xff, 0xff, 0x7f, 0x2e], // LONG4 2 GB
    [0x80, 3, 0x42, 0x00, 0x00, 0x00, 0x10, 0x2e], // BINBYTES 256 MB
  ]) {
    assert.throws(() => vm(p), (e: unknown) => e instanceof CheckpointError && !(e instanceof UnsafePickleError), `bytes ${p.slice(0, 4)}`);
  }
});

test('memo entries past the limit are refused', () => {
  const p = [0x80, 4, 0x4e];
  for (let i = 0; i < 50; i++) p.push(0x94);
  p.push(0x2e);
  assert.equal(vm(p), null);
  assert.throws(() => vm(p, { maxMemo: 10 }), /memo grows past 10/);
});

test('a million-deep list built with MARK/LIST ends in a CheckpointError, not a RangeError', () => {
  const depth = 1_000_000;
  const p = new Uint8Array(2 + depth * 2 + 1);
  p[0] = 0x80; p[1] = 2;
  for (let i = 0; i < depth; i++) p[2 + i] = 0x28; // MARK
  for (let i = 0; i < depth; i++) p[2 + depth + i] = 0x6c; // LIST
  p[p.length - 1] = 0x2e;
  assert.throws(() => vm(p), (e: unknown) => e instanceof CheckpointError && /levels deep/.test(e.message));
});

test('cyclic and exponentially shared structures end in a CheckpointError when flattened', () => {
  const cyclic = new PyDict();
  cyclic.set('self', cyclic);
  assert.throws(() => flattenCheckpoint(cyclic, 'x.pt'), CheckpointError);
  let v: PyValue = new PyList();
  for (let i = 0; i < 60; i++) { const l = new PyList(); l.items.push(v, v); v = l; }
  const t0 = Date.now();
  assert.throws(() => flattenCheckpoint(v, 'x.pt'), CheckpointError);
  assert.ok(Date.now() - t0 < 10_000);
});

test('truncated pickles and unknown opcodes are errors naming the file', () => {
  assert.throws(() => vm([0x80, 2, 0x7d]), (e: unknown) => e instanceof CheckpointError && e.message.startsWith('mem.pkl: pickle is truncated'));
  assert.throws(() => vm([0x80, 2, 0xff]), /unknown opcode 0xff/);
  assert.throws(() => vm([0x80, 9, 0x2e]), /protocol 9/);
  assert.throws(() => vm([0x80, 2, 0x2e]), /empty stack/);
  assert.throws(() => vm([0x80, 2, 0x68, 5, 0x2e]), /memo entry 5/);
  assert.throws(() => vm([0x80, 2, 0x82, 1, 0x2e]), /extension codes/);
});

// The same object pickled by Python 3.11 with protocols 0..5 (text, binary, framed opcodes).
const SAMPLE: Record<number, string> = {
  0: 'KGRwMApWYQpwMQpJMQpzVmIKcDIKRjIuNQpzVmMKcDMKVmjpbGxvIFx1MjYwMwpwNApzVmQKcDUKKGxwNgpJMQphTDExODA1OTE2MjA3MTc0MTEzMDM0MjRMCmFJLTMKYUwtMTA5OTUxMTYyNzc3NkwKYXNWZQpwNwooSTAxCk5JMDAKdHA4CnNWZgpwOQpjX2NvZGVjcwplbmNvZGUKcDEwCihWeHlcdTAwMDD/CnAxMQpWbGF0aW4xCnAxMgp0cDEzClJwMTQKc1ZnCnAxNQpjX19idWlsdGluX18Kc2V0CnAxNgooKGxwMTcKSTcKYXRwMTgKUnAxOQpzVmgKcDIwCmNfX2J1aWx0aW5fXwpmcm96ZW5zZXQKcDIxCigobHAyMgpJMwphdHAyMwpScDI0CnNWaQpwMjUKY2NvbGxlY3Rpb25zCk9yZGVyZWREaWN0CnAyNgoodFJwMjcKVmsKcDI4CkYtMS41ZS0wNwpzc1ZqCnAyOQpjX19idWlsdGluX18KYnl0ZWFycmF5CnAzMAooZzEwCihWYWIKcDMxCmcxMgp0cDMyClJwMzMKdHAzNApScDM1CnNnMjgKSTMwMApzVmwKcDM2Ckk3MDAwMApzLg==',
  1: 'fXEAKFgBAAAAYXEBSwFYAQAAAGJxAkdABAAAAAAAAFgBAAAAY3EDWAoAAABow6lsbG8g4piDcQRYAQAAAGRxBV1xBihLAUwxMTgwNTkxNjIwNzE3NDExMzAzNDI0TApK/f///0wtMTA5OTUxMTYyNzc3NkwKZVgBAAAAZXEHKEkwMQpOSTAwCnRxCFgBAAAAZnEJY19jb2RlY3MKZW5jb2RlCnEKKFgFAAAAeHkAw79xC1gGAAAAbGF0aW4xcQx0cQ1ScQ5YAQAAAGdxD2NfX2J1aWx0aW5fXwpzZXQKcRAoXXERSwdhdHESUnETWAEAAABocRRjX19idWlsdGluX18KZnJvemVuc2V0CnEVKF1xFksDYXRxF1JxGFgBAAAAaXEZY2NvbGxlY3Rpb25zCk9yZGVyZWREaWN0CnEaKVJxG1gBAAAAa3EcR76EIfX0DYN2c1gBAAAAanEdY19fYnVpbHRpbl9fCmJ5dGVhcnJheQpxHihoCihYAgAAAGFicR9oDHRxIFJxIXRxIlJxI2gcTSwBWAEAAABscSRKcBEBAHUu',
  2: 'gAJ9cQAoWAEAAABhcQFLAVgBAAAAYnECR0AEAAAAAAAAWAEAAABjcQNYCgAAAGjDqWxsbyDimINxBFgBAAAAZHEFXXEGKEsBigkAAAAAAAAAAEBK/f///4oGAAAAAAD/ZVgBAAAAZXEHiE6Jh3EIWAEAAABmcQljX2NvZGVjcwplbmNvZGUKcQpYBQAAAHh5AMO/cQtYBgAAAGxhdGluMXEMhnENUnEOWAEAAABncQ9jX19idWlsdGluX18Kc2V0CnEQXXERSwdhhXESUnETWAEAAABocRRjX19idWlsdGluX18KZnJvemVuc2V0CnEVXXEWSwNhhXEXUnEYWAEAAABpcRljY29sbGVjdGlvbnMKT3JkZXJlZERpY3QKcRopUnEbWAEAAABrcRxHvoQh9fQNg3ZzWAEAAABqcR1jX19idWlsdGluX18KYnl0ZWFycmF5CnEeaApYAgAAAGFicR9oDIZxIFJxIYVxIlJxI2gcTSwBWAEAAABscSRKcBEBAHUu',
  3: 'gAN9cQAoWAEAAABhcQFLAVgBAAAAYnECR0AEAAAAAAAAWAEAAABjcQNYCgAAAGjDqWxsbyDimINxBFgBAAAAZHEFXXEGKEsBigkAAAAAAAAAAEBK/f///4oGAAAAAAD/ZVgBAAAAZXEHiE6Jh3EIWAEAAABmcQlDBHh5AP9xClgBAAAAZ3ELY2J1aWx0aW5zCnNldApxDF1xDUsHYYVxDlJxD1gBAAAAaHEQY2J1aWx0aW5zCmZyb3plbnNldApxEV1xEksDYYVxE1JxFFgBAAAAaXEVY2NvbGxlY3Rpb25zCk9yZGVyZWREaWN0CnEWKVJxF1gBAAAAa3EYR76EIfX0DYN2c1gBAAAAanEZY2J1aWx0aW5zCmJ5dGVhcnJheQpxGkMCYWJxG4VxHFJxHWgYTSwBWAEAAABscR5KcBEBAHUu',
  4: 'gASV2QAAAAAAAAB9lCiMAWGUSwGMAWKUR0AEAAAAAAAAjAFjlIwKaMOpbGxvIOKYg5SMAWSUXZQoSwGKCQAAAAAAAAAAQEr9////igYAAAAAAP9ljAFllIhOiYeUjAFmlEMEeHkA/5SMAWeUj5QoSweQjAFolChLA5GUjAFplIwLY29sbGVjdGlvbnOUjAtPcmRlcmVkRGljdJSTlClSlIwBa5RHvoQh9fQNg3ZzjAFqlIwIYnVpbHRpbnOUjAlieXRlYXJyYXmUk5RDAmFilIWUUpRoFE0sAYwBbJRKcBEBAHUu',
  5: 'gAWVwwAAAAAAAAB9lCiMAWGUSwGMAWKUR0AEAAAAAAAAjAFjlIwKaMOpbGxvIOKYg5SMAWSUXZQoSwGKCQAAAAAAAAAAQEr9////igYAAAAAAP9ljAFllIhOiYeUjAFmlEMEeHkA/5SMAWeUj5QoSweQjAFolChLA5GUjAFplIwLY29sbGVjdGlvbnOUjAtPcmRlcmVkRGljdJSTlClSlIwBa5RHvoQh9fQNg3ZzjAFqlJYCAAAAAAAAAGFilGgUTSwBjAFslEpwEQEAdS4=',
};

for (const [protocol, b64] of Object.entries(SAMPLE)) {
  test(`reads plain data pickled with protocol ${protocol} exactly as Python wrote it`, () => {
    // {'a': 1, 'b': 2.5, 'c': 'héllo ☃', 'd': [1, 2**70, -3, -2**40], 'e': (True, None, False),
    //  'f': b'xy\x00\xff', 'g': {7}, 'h': frozenset([3]), 'i': OrderedDict(k=-1.5e-7),
    //  'j': bytearray(b'ab'), 'k': 300, 'l': 70000}
    const v = vm(Buffer.from(b64, 'base64'));
    assert.ok(v instanceof PyDict);
    assert.equal(v.get('a'), 1);
    assert.deepEqual(v.get('b'), new PyFloat(2.5));
    assert.equal(v.get('c'), 'héllo \u2603');
    const d = v.get('d');
    assert.ok(d instanceof PyList);
    assert.deepEqual(d.items, [1, 2n ** 70n, -3, -(2 ** 40)]);
    const e = v.get('e');
    assert.ok(e instanceof PyTuple);
    assert.deepEqual(e.items, [true, null, false]);
    assert.deepEqual(Array.from(v.get('f') as Uint8Array), [0x78, 0x79, 0, 0xff]);
    const g = v.get('g'), h = v.get('h');
    assert.ok(g instanceof PySet && !g.frozen); assert.deepEqual(g.items, [7]);
    assert.ok(h instanceof PySet && h.frozen); assert.deepEqual(h.items, [3]);
    const i = v.get('i');
    assert.ok(i instanceof PyDict && i.typeName === 'OrderedDict');
    assert.deepEqual(i.get('k'), new PyFloat(-1.5e-7));
    assert.deepEqual(Array.from(v.get('j') as Uint8Array), [0x61, 0x62]);
    assert.equal(v.get('k'), 300);
    assert.equal(v.get('l'), 70000);
  });
}
