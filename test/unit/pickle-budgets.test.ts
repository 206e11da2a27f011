// The pickle machine's budgets (PICKLE_LIMITS) are far above what real checkpoints build: the
// data.pkl of real torch.save files (a state dict, an Adam optimizer state, a training checkpoint
// with lists of numbers; test/fixtures/gen_honest_pickles.py) builds at most half of the budget
// per byte of stream, so no real checkpoint, however large, reaches it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { PICKLE_LIMITS, unpickle } from '../../src/core/formats/pytorch/pickle';
import { StorageTable, TORCH_ALLOWED_GLOBALS } from '../../src/core/formats/pytorch/pytorchGlobals';
import { CheckpointError } from '../../src/core/common/errors';
import { copyContainer } from './helpers/pickleBombs';

const DIR = join(__dirname, '..', 'fixtures', 'pytorch', 'honest_pickles');

for (const name of ['state_dict', 'adam_state', 'training_checkpoint']) {
  test(`a real torch.save ${name.replace('_', ' ')} builds under half the object budgets per stream byte`, () => {
    const data = gunzipSync(readFileSync(join(DIR, `${name}.pkl.gz`)));
    const st = new StorageTable();
    const r = unpickle(data, 0, { file: name, globals: TORCH_ALLOWED_GLOBALS, persistentLoad: (p, c) => st.load(p, c) });
    const data_ = r.built.data / data.byteLength, structure = r.built.structure / data.byteLength;
    assert.ok(data_ < PICKLE_LIMITS.dataBytesPerStreamByte / 2, `strings and bytes: ${data_.toFixed(2)} per stream byte`);
    assert.ok(structure < PICKLE_LIMITS.structureBytesPerStreamByte / 2, `containers: ${structure.toFixed(2)} per stream byte`);
  });
}

test('the budget is checked before a copy is made: with 9 MB of budget (the million-item list itself takes 8) tuple(x) stops at its first call', () => {
  const bomb = copyContainer('builtins.tuple', 10);
  assert.throws(() => unpickle(bomb, 0, { file: 'b.pkl', globals: TORCH_ALLOWED_GLOBALS, maxStructureBytes: 9 * 1024 * 1024 }),
    (e: unknown) => e instanceof CheckpointError && /more than 9 MB of objects \(containers\)/.test(e.message));
});
