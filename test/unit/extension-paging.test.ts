// The Checkpoints and Reuse Analysis trees show a large file's or report's layers a page at a
// time, ending in "Show more…" (src/extension/model/paging.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { moreLabel, pageOf, PageSizes, PAGE_SIZE } from '../../src/extension/model/paging';

test('a 50,000-layer checkpoint shows its first 500 layers and says how many more there are', () => {
  const layers = Array.from({ length: 50_000 }, (_, i) => `layer${i}`);
  const first = pageOf(layers);
  assert.equal(first.items.length, PAGE_SIZE);
  assert.equal(first.items[0], 'layer0');
  assert.equal(first.more, 49_500);
  assert.deepEqual(moreLabel(first.more), { label: 'Show more…', description: 'next 500 of 49,500 more' });
});

test('"Show more…" adds a page under that parent only, until everything is shown', () => {
  const pages = new PageSizes();
  const all = Array.from({ length: 1_200 }, (_, i) => i);
  pages.more('a.safetensors');
  assert.equal(pageOf(all, pages.get('a.safetensors')).items.length, 1_000);
  assert.equal(pageOf(all, pages.get('b.safetensors')).items.length, 500, 'another file keeps its first page');
  pages.more('a.safetensors');
  const last = pageOf(all, pages.get('a.safetensors'));
  assert.deepEqual([last.items.length, last.more], [1_200, 0]);
  assert.equal(moreLabel(200).description, 'next 200 of 200 more');
});

test('a small checkpoint lists every layer with no "Show more…" row', () => {
  assert.deepEqual(pageOf([1, 2, 3]), { items: [1, 2, 3], more: 0 });
  assert.deepEqual(pageOf([]), { items: [], more: 0 });
});
