// A compare's --json report is written layer by layer as the engine judges it (the CLI's
// JsonReportWriter over engine.ts's LayerSink): the text must be the whole report's, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { analyzePaths } from '../../src/core/analysis/engine';
import { JsonReportWriter } from '../../src/cli/reportWriter';
import { toJsonText } from '../../src/cli/jsonText';

const FIX = join(__dirname, '..', 'fixtures');
const PAIRS: [string, string][] = [
  ['pairs/source.safetensors', 'pairs/target.safetensors'], // conv layers with filter grids, fine-tuned
  ['pairs/source.pt', 'pairs/target_wrapped.pt'], // prefix rules
  ['pairs/source.safetensors', 'pairs/target_renamed_inserted.safetensors'], // order+shape, target-only layers
  ['pairs/target.safetensors', 'pairs/source.pt'],
  ['hostile/nonfinite/source.safetensors', 'hostile/nonfinite/target.safetensors'], // NaN/Inf warnings after the layers
];

for (const [a, b] of PAIRS) {
  test(`the streamed --json report is the whole report's text: ${a} vs ${b}`, async () => {
    const whole = toJsonText(await analyzePaths(join(FIX, a), join(FIX, b))) + '\n';
    let streamed = '';
    const pieces: string[] = [];
    const writer = new JsonReportWriter((p) => { pieces.push(p); streamed += p; });
    const tail = await analyzePaths(join(FIX, a), join(FIX, b), {}, {}, writer);
    assert.deepEqual(tail.layers, [], 'the returned report holds no layer when they were streamed');
    await writer.end(tail);
    assert.equal(streamed, whole);
    assert.ok(JSON.parse(streamed).layers.length > 0);
  });
}

test('the CLI JSON text parses to what JSON.stringify gives (undefined, NaN, nesting, empty containers)', () => {
  const value = {
    a: 1, b: undefined, c: NaN, d: [1, 'x', null, true], e: [], f: {}, g: [{ h: [Infinity, -0] }, [1, [2]], undefined],
    i: { toJSON: () => 'j' }, k: 'quote " and \n newline', l: [[], {}],
  };
  assert.deepEqual(JSON.parse(toJsonText(value)), JSON.parse(JSON.stringify(value)));
  assert.equal(toJsonText({ shape: [64, 3, 3, 3], n: { m: [] } }), '{\n  "shape": [64,3,3,3],\n  "n": {\n    "m": []\n  }\n}');
  assert.equal(toJsonText(undefined), 'null');
});
