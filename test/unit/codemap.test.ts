// Inline hints from parsed model code: every common way of defining a network maps each line
// that creates layers to exactly the checkpoint layers it creates. The checkpoints are saved by
// torch from these very files (test/fixtures/codemap/generate.py); Keras ones are written in
// Keras's layouts under the names Keras gives those layers. Each test names, for every line
// that gets a hint, the layers it must map to, and checks that no other line gets one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzePaths } from '../../src/core/analysis/engine';
import { annotate, hoverMarkdown, type AnalysisRef, type Annotation } from '../../src/core/codemap/annotate';
import { codeMapOf } from '../../src/core/codemap/mapFile';
import { nameTokens } from '../../src/core/codemap/nameTokens';
import { buildCodeMap } from '../../src/core/codemap/codeMap';
import { DocumentTrees, parsePython } from '../../src/core/codemap/pythonParser';
import type { Report } from '../../src/core/shared/reportTypes';

const DIR = join(__dirname, '..', 'fixtures', 'codemap');
const code = (name: string) => readFileSync(join(DIR, name), 'utf8');
const reports = new Map<string, Promise<Report>>();
function reportOf(pair: string, ext = '.pt'): Promise<Report> {
  if (!reports.has(pair)) reports.set(pair, analyzePaths(join(DIR, 'checkpoints', `${pair}_source${ext}`), join(DIR, 'checkpoints', `${pair}_target${ext}`), {}));
  return reports.get(pair)!;
}

/** As the extension and the CLI do: the code map of the code that can build the analyses' layers, joined with them. */
async function annotated(file: string, analyses: AnalysisRef[]): Promise<{ text: string; a: Annotation }> {
  const text = code(file);
  const tokens = nameTokens(analyses.flatMap((r) => r.report.layers.map((l) => l.name)));
  const a = annotate(await codeMapOf(text, undefined, tokens), analyses);
  // Leaving out code that builds none of the analysed layers changes nothing.
  assert.deepEqual(annotate(await codeMapOf(text), analyses), a);
  return { text, a };
}

/**
 * Asserts the hints line by line: `want` maps a piece of a line's text (unique in the file) to
 * the layers that line must map to, as a list or as a pattern over the report's layer names.
 */
function assertLines(text: string, a: Annotation, report: Report, want: Record<string, string[] | RegExp>) {
  const lines = text.split('\n');
  const expected = new Map<number, string[]>();
  for (const [key, layers] of Object.entries(want)) {
    // `piece @2`: the second line holding `piece` (BasicBlock and Bottleneck share lines).
    const [, piece, nth] = /^(.*?)(?: @(\d+))?$/.exec(key)!;
    const all = lines.flatMap((l, i) => (l.includes(piece) ? [i] : []));
    const at = nth ? [all[Number(nth) - 1]] : all;
    assert.equal(at.length === 1 && at[0] !== undefined, true, `"${key}" names exactly one line (${all.length} hold it)`);
    const names = layers instanceof RegExp ? report.layers.map((l) => l.name).filter((n) => layers.test(n)) : layers;
    assert.ok(names.length > 0, `"${piece}": the expectation names layers of the checkpoint`);
    expected.set(at[0], [...names].sort());
  }
  const got = new Map(a.lines.filter((h) => h.kind === 'layers').map((h) => [h.line, [...h.layers].sort()]));
  for (const [line, names] of expected) {
    assert.deepEqual(got.get(line), names, `line ${line + 1} "${lines[line].trim()}"`);
  }
  const extra = [...got.keys()].filter((l) => !expected.has(l)).map((l) => `${l + 1}: ${lines[l].trim()} -> ${got.get(l)!.join(', ')}`);
  assert.deepEqual(extra, [], 'no other line gets a hint');
}

const RESNET_SHARED = {
  'kernel_size=3, stride=stride, padding=dilation': /^layer\d\.\d\.conv[12]$/,
  'self.conv1 = nn.Conv2d(3, self.inplanes': ['conv1'],
  'self.bn1 = self._norm_layer(self.inplanes)': ['bn1'],
  'self.layer1 = self._make_layer(': /^layer1\./,
  'self.layer2 = self._make_layer(': /^layer2\./,
  'self.layer3 = self._make_layer(': /^layer3\./,
  'self.layer4 = self._make_layer(': /^layer4\./,
  'self.fc = nn.Linear(': ['fc'],
  'layers.append(block(self.inplanes, planes, stride, downsample': /^layer\d\.0\./,
  'layers.append(block(self.inplanes, planes, norm_layer=norm_layer))': /^layer\d\.[1-9]\./,
};

test('torchvision-style ResNet-18: BasicBlock lines map to every layerN.M, _make_layer lines to their subtrees, conv3x3/conv1x1 to the convs they make', async () => {
  const report = await reportOf('resnet18');
  const { text, a } = await annotated('resnet.py', [{ id: 'r18', report }]);
  assert.equal(a.analysisId, 'r18');
  assert.equal(a.candidate, 'resnet18()');
  assertLines(text, a, report, {
    ...RESNET_SHARED,
    // Only layers 2-4 downsample: layer1 keeps its width (the `if` in _make_layer is evaluated).
    'kernel_size=1, stride=stride, bias=False': /^layer[234]\.0\.downsample\.0$/,
    'downsample = nn.Sequential(': /^layer[234]\.0\.downsample\.[01]$/,
    'conv1x1(self.inplanes, planes * block.expansion, stride),': /^layer[234]\.0\.downsample\.0$/,
    'norm_layer(planes * block.expansion),': /^layer[234]\.0\.downsample\.1$/,
    'self.conv1 = conv3x3(inplanes, planes, stride)': /^layer\d\.\d\.conv1$/,
    'self.bn1 = norm_layer(planes)': /^layer\d\.\d\.bn1$/,
    'self.conv2 = conv3x3(planes, planes)': /^layer\d\.\d\.conv2$/,
    'self.bn2 = norm_layer(planes)': /^layer\d\.\d\.bn2$/,
    'self.downsample = downsample @1': /^layer[234]\.0\.downsample\.[01]$/,
  });
  // The lens of a block line: its eight layers, their verdicts and the metric's range.
  const conv1 = a.lines.find((h) => text.split('\n')[h.line].includes('self.conv1 = conv3x3'))!;
  assert.equal(conv1.layers.length, 8);
  assert.match(conv1.text, /^(reuse|fine-tune|retrain)( ×\d+)?( · (fine-tune|retrain) ×\d+)* · rel\. RMSE [\d.e-]+–[\d.e-]+$/);
});

test('the same file against a Bottleneck ResNet: Bottleneck lines get the layers, BasicBlock lines nothing', async () => {
  const report = await reportOf('resnet50');
  const { text, a } = await annotated('resnet.py', [{ id: 'r50', report }]);
  assert.equal(a.candidate, 'resnet50()');
  assertLines(text, a, report, {
    ...RESNET_SHARED,
    'kernel_size=3, stride=stride, padding=dilation': /^layer\d\.\d\.conv2$/,
    // Every stage downsamples here (64 -> 256 channels in layer1 too).
    'kernel_size=1, stride=stride, bias=False': /^layer\d\.\d\.(conv[13]|downsample\.0)$/,
    'downsample = nn.Sequential(': /^layer\d\.0\.downsample\.[01]$/,
    'conv1x1(self.inplanes, planes * block.expansion, stride),': /^layer\d\.0\.downsample\.0$/,
    'norm_layer(planes * block.expansion),': /^layer\d\.0\.downsample\.1$/,
    'self.conv1 = conv1x1(inplanes, width)': /^layer\d\.\d\.conv1$/,
    'self.bn1 = norm_layer(width)': /^layer\d\.\d\.bn1$/,
    'self.conv2 = conv3x3(width, width, stride)': /^layer\d\.\d\.conv2$/,
    'self.bn2 = norm_layer(width)': /^layer\d\.\d\.bn2$/,
    'self.conv3 = conv1x1(width, planes * self.expansion)': /^layer\d\.\d\.conv3$/,
    'self.bn3 = norm_layer(planes * self.expansion)': /^layer\d\.\d\.bn3$/,
    'self.downsample = downsample @2': /^layer\d\.0\.downsample\.[01]$/,
  });
});

test('VGG: make_layers\' loop over the config maps the one Conv2d line to every conv index of features; classifier entries by position', async () => {
  const report = await reportOf('vgg11');
  const { text, a } = await annotated('vgg.py', [{ id: 'vgg', report }]);
  assert.equal(a.candidate, 'vgg11()');
  assertLines(text, a, report, {
    'self.features = features': ['features.0', 'features.3', 'features.6', 'features.8'],
    'conv2d = nn.Conv2d(in_channels, v': ['features.0', 'features.3', 'features.6', 'features.8'],
    // The call that builds `features` (the argument of VGG(...)).
    'return VGG(make_layers(cfgs[cfg]': ['features.0', 'features.3', 'features.6', 'features.8'],
    'self.classifier = nn.Sequential(': ['classifier.0', 'classifier.3', 'classifier.6'],
    'nn.Linear(32 * 2 * 2, 64)': ['classifier.0'],
    'nn.Linear(64, 64)': ['classifier.3'],
    'nn.Linear(64, num_classes)': ['classifier.6'],
  });
});

test('MobileNet-like nested Sequentials: an nn.Sequential subclass, blocks in a list, conv Sequentials inside blocks', async () => {
  const report = await reportOf('mobilenet');
  const { text, a } = await annotated('mobilenet.py', [{ id: 'mb', report }]);
  assert.equal(a.candidate, 'class MobileNetV2');
  assertLines(text, a, report, {
    // ConvBNReLU passes its children to nn.Sequential.__init__: indices 0 and 1 of every ConvBNReLU.
    'nn.Conv2d(in_planes, out_planes, kernel_size, stride': /(^features\.0|\.conv\.[01]|^features\.6)\.0$/,
    'nn.BatchNorm2d(out_planes)': /(^features\.0|\.conv\.[01]|^features\.6)\.1$/,
    'layers.append(ConvBNReLU(inp, hidden_dim, kernel_size=1))': /^features\.[2-5]\.conv\.0\.[01]$/,
    'ConvBNReLU(hidden_dim, hidden_dim, stride=stride': /^features\.(1\.conv\.0|[2-5]\.conv\.1)\.[01]$/,
    'nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False)': /^features\.(1\.conv\.1|[2-5]\.conv\.2)$/,
    'nn.BatchNorm2d(oup)': /^features\.(1\.conv\.2|[2-5]\.conv\.3)$/,
    'self.conv = nn.Sequential(*layers)': /^features\.[1-5]\.conv\./,
    'features = [ConvBNReLU(3, input_channel, stride=2)]': /^features\.0\./,
    'features.append(InvertedResidual(': /^features\.[1-5]\./,
    'features.append(ConvBNReLU(input_channel, last_channel': /^features\.6\./,
    'self.features = nn.Sequential(*features)': /^features\./,
    'self.classifier = nn.Sequential(': ['classifier.1'],
    'nn.Linear(last_channel, num_classes)': ['classifier.1'],
  });
});

test('ModuleList, ModuleDict, add_module, setattr and an OrderedDict Sequential: each named as PyTorch names it', async () => {
  const report = await reportOf('multihead');
  const { text, a } = await annotated('multihead.py', [{ id: 'mh', report }]);
  assertLines(text, a, report, {
    'self.norm = nn.LayerNorm(dim)': /^blocks\.\d\.norm$/,
    'self.mlp = nn.Sequential(OrderedDict([': /^blocks\.\d\.mlp\./,
    '("fc1", nn.Linear(dim, dim * 2))': /^blocks\.\d\.mlp\.fc1$/,
    '("fc2", nn.Linear(dim * 2, dim))': /^blocks\.\d\.mlp\.fc2$/,
    'self.add_module("stem", nn.Linear(8, dim))': ['stem'],
    'self.blocks = nn.ModuleList()': /^blocks\./,
    'self.blocks.append(Block(dim))': /^blocks\./,
    'self.heads = nn.ModuleList([nn.Linear(dim, n) for n in tasks])': ['heads.0', 'heads.1'],
    'self.aux = nn.ModuleDict({': ['aux.proj', 'aux.gate'],
    '"proj": nn.Linear(dim, dim)': ['aux.proj'],
    '"gate": nn.Linear(dim, 1)': ['aux.gate'],
    'setattr(self, "final_norm", nn.LayerNorm(dim))': ['final_norm'],
  });
});

test('Keras functional model: default names in creation order per class (conv2d, conv2d_1), explicit name= kept', async () => {
  const report = await reportOf('keras_functional', '.h5');
  const { text, a } = await annotated('keras_functional.py', [{ id: 'kf', report }]);
  assertLines(text, a, report, {
    'x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)': ['conv2d'],
    'layers.BatchNormalization()(x)': ['batch_normalization'],
    'x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)': ['conv2d_1'],
    'name="block2_conv"': ['block2_conv'],
    'name="head"': ['head'],
  });
  const load = a.lines.filter((h) => h.kind === 'load');
  assert.equal(load.length, 1);
  assert.match(load[0].text, /^reuse plan: reuse ×\d+ .* — network /);
  assert.match(load[0].planCode!, /def apply_reuse_plan\(model, source_model, /, 'the Keras plan for a Keras file');
});

test('Keras Sequential with default names, layers added in a loop', async () => {
  const report = await reportOf('keras_sequential', '.weights.h5');
  const { text, a } = await annotated('keras_sequential.py', [{ id: 'ks', report }]);
  assertLines(text, a, report, {
    'layers.Conv2D(4, 3, activation="relu")': ['conv2d'],
    'layers.Conv2D(8, 3, activation="relu")': ['conv2d_1'],
    'model.add(layers.Dense(16, activation="relu"))': ['dense'],
    'model.add(layers.Dense(units))': ['dense_1', 'dense_2'],
    'model.add(layers.Dense(3, activation="softmax"))': ['dense_3'],
  });
});

test('subclassed keras.Model: layers made in __init__ take default names in creation order', async () => {
  const report = await reportOf('keras_subclassed', '.h5');
  const { text, a } = await annotated('keras_subclassed.py', [{ id: 'ksub', report }]);
  assertLines(text, a, report, {
    'self.conv_a = layers.Conv2D(6, 3': ['conv2d'],
    'self.bn_a = layers.BatchNormalization()': ['batch_normalization'],
    'self.conv_b = layers.Conv2D(6, 3': ['conv2d_1'],
    'self.classifier = layers.Dense(num_classes)': ['dense'],
  });
});

test('Keras models used as layers: a functional backbone and a Sequential head map to the names the outer model stores them under (backbone/conv2d, head/dense_1 as the file spells them), in tf.keras .h5 and Keras 3 .weights.h5', async () => {
  for (const ext of ['.h5', '.weights.h5']) {
    const report = await reportOf('keras_nested', ext);
    const { text, a } = await annotated('keras_nested.py', [{ id: 'kn', report }]);
    assert.equal(a.score, 1, 'every layer name of the checkpoint is explained');
    assertLines(text, a, report, {
      'x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)': ['backbone/conv2d'],
      'x = layers.BatchNormalization()(x)': ['backbone/batch_normalization'],
      'x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)': ['backbone/conv2d_1'],
      // The lines that make the backbone (and the call that builds it) map to all of it.
      'return keras.Model(inputs, x, name="backbone")': /^backbone\//,
      'backbone = build_backbone()': /^backbone\//,
      'head = keras.Sequential([': /^head\//,
      'layers.Dense(32, activation="relu"),': ['head/dense'],
      'layers.Dense(num_classes),': ['head/dense_1'],
    });
  }
});

test('subclassed keras.Model holding a Sequential, custom layers with layers of their own and layers in lists: each under its holder\'s name', async () => {
  const report = await reportOf('keras_subclassed_nested', '.h5');
  const { text, a } = await annotated('keras_subclassed_nested.py', [{ id: 'ksn', report }]);
  assert.equal(a.score, 1, 'every layer name of the checkpoint is explained');
  assertLines(text, a, report, {
    // One ConvBlock line, two instances: block1 (name=) and conv_block (the class's default name).
    'self.conv = layers.Conv2D(filters, 3, padding="same")': ['block1/conv2d_1', 'conv_block/conv2d_2'],
    'self.norm = layers.BatchNormalization()': ['block1/batch_normalization', 'conv_block/batch_normalization_1'],
    'self.stem = keras.Sequential([': ['sequential/conv2d'],
    'layers.Conv2D(8, 3, padding="same", activation="relu"),': ['sequential/conv2d'],
    'self.blocks = [ConvBlock(16, name="block1"), ConvBlock(32)]': /^(block1|conv_block)\//,
    // Layers in a list the model appends to: held by the model itself, so top-level names.
    'self.fcs.append(layers.Dense(units, activation="relu"))': ['dense', 'dense_1'],
    'self.out = layers.Dense(num_classes)': ['dense_2'],
  });
});

test('the analysis a file belongs to is the one whose layer names it matches, not the latest; none when nothing matches', async () => {
  const [vgg, resnet, keras] = await Promise.all([reportOf('vgg11'), reportOf('resnet18'), reportOf('keras_subclassed', '.h5')]);
  // Newest first: the ResNet analysis is the latest.
  const analyses = [{ id: 'resnet', report: resnet }, { id: 'vgg', report: vgg }];
  assert.equal((await annotated('vgg.py', analyses)).a.analysisId, 'vgg');
  assert.equal((await annotated('resnet.py', analyses)).a.analysisId, 'resnet');
  const none = await annotated('resnet.py', [{ id: 'keras', report: keras }]);
  assert.equal(none.a.analysisId, undefined);
  assert.deepEqual(none.a.lines, []);
  const plain = annotate(await codeMapOf('import os\nprint(os.getcwd())\n'), analyses);
  assert.deepEqual(plain, { score: 0, lines: [] });
});

test('a load_state_dict line of a file that defines no matching layers gets the plan when the file names the checkpoint', async () => {
  const report = await reportOf('resnet18');
  const text = 'import torch\nfrom resnet import resnet18\nmodel = load_model()\nmodel.load_state_dict(torch.load("checkpoints/resnet18_source.pt"))\n# model.load_state_dict(x)\n';
  const a = annotate(await codeMapOf(text), [{ id: 'r', report }]);
  assert.equal(a.matchedBy, 'checkpoint-name');
  assert.deepEqual(a.lines.map((h) => [h.line, h.column, h.kind]), [[3, 6, 'load']]);
  assert.match(a.lines[0].planCode!, /def apply_reuse_plan\(model, source_path=/);
  const elsewhere = annotate(await codeMapOf(text.replace('resnet18_source.pt', 'other.pt')), [{ id: 'r', report }]);
  assert.deepEqual(elsewhere.lines, []);
});

test('a hover names the analysis and lists each layer with its numbers and reason', async () => {
  const report = await reportOf('resnet18');
  const { text, a } = await annotated('resnet.py', [{ id: 'r18', report }]);
  const fc = a.lines.find((h) => text.split('\n')[h.line].includes('self.fc = nn.Linear'))!;
  const md = hoverMarkdown(fc, report, a.candidate);
  assert.match(md, /resnet18\\_source\.pt → resnet18\\_target\.pt/);
  assert.match(md, /`fc` \*\*incompatible\*\*/);
  assert.ok(md.includes(report.layers.find((l) => l.name === 'fc')!.reason));
});

test('verdicts the summary does not know yet (recalibrate) are counted like the others', async () => {
  const report = structuredClone(await reportOf('resnet18'));
  for (const l of report.layers) if (/bn/.test(l.name)) l.verdict = 'recalibrate' as Report['layers'][number]['verdict'];
  const { text, a } = await annotated('resnet.py', [{ id: 'r', report }]);
  const bn = a.lines.find((h) => text.split('\n')[h.line].includes('self.bn1 = norm_layer(planes)'))!;
  assert.equal(bn.verdict, 'recalibrate');
  assert.match(bn.text, /^recalibrate ×8/);
});

test('an edited document is re-parsed incrementally to the same tree as a fresh parse', async () => {
  const docs = new DocumentTrees();
  let text = code('resnet.py');
  await docs.tree('doc', text);
  const edits: [string, string][] = [['width: int = 8', 'width: int = 16'], ['self.fc = nn.Linear', 'self.head = nn.Linear'], ['"""3x3 convolution with padding"""\n', ''], ['class ResNet', '# é😀\nclass ResNet']];
  for (const [from, to] of edits) {
    text = text.replace(from, to);
    const inc = await docs.tree('doc', text);
    const fresh = await parsePython(text);
    assert.equal(inc.rootNode.toString(), fresh.rootNode.toString(), `after "${from}" -> "${to}"`);
    assert.deepEqual(JSON.stringify(buildCodeMap(inc, text)), JSON.stringify(buildCodeMap(fresh, text)));
    fresh.delete();
  }
});

test('hostile code ends: self-instantiating classes, huge loops, a 200 KB line, deep nesting', async () => {
  const texts = [
    'import torch.nn as nn\nclass A(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.a = A()\n        self.l = nn.Linear(1, 1)\n',
    'import torch.nn as nn\nclass B(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.m = nn.ModuleList()\n        for i in range(10**12):\n            self.m.append(nn.Linear(1, 1))\n        while True:\n            self.m.append(nn.Linear(1, 1))\n',
    `import torch.nn as nn\nx = nn.Sequential(${'nn.Linear(1, 1), '.repeat(12_000)})\n`,
    `import torch.nn as nn\nx = ${'['.repeat(300)}nn.Linear(1, 1)${']'.repeat(300)}\n`,
    'import torch.nn as nn\ndef f(n):\n    return nn.Sequential(f(n + 1), nn.Linear(1, 1))\nm = f(0)\n',
    'import torch.nn as nn\nclass C(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.me = self\n        self.l = nn.Linear(1, 1)\nc = C()\n',
    'import keras\nfrom keras import layers\nclass K(keras.Model):\n    def __init__(self):\n        super().__init__()\n        self.l = [layers.Dense(2)]\n        self.l.append(self.l)\n        self.me = self\n        x = keras.Input((2,))\n        for _ in range(10**9):\n            x = layers.Dense(2)(x)\nk = K()\n',
  ];
  for (const t of texts) {
    const map = await codeMapOf(t);
    assert.ok(map.candidates.every((c) => c.nodes.length <= 20_001), 'bounded');
  }
});

test('a long file parses only the code that can build the analysed layers, with the same hints as a full parse', async () => {
  const report = await reportOf('resnet18');
  // Utilities around the model: unicode, a docstring whose lines start at column 0, decorators,
  // if/else and try/except at top level, a continued line, brackets over lines.
  const util = (k: number) => [
    `def util_${k}(batch):  # é😀 ${k}`,
    '    """Docs',
    'class NotAClass(object):',
    '    x = 1',
    '"""',
    '    return [x for x in (',
    'batch)]',
    '',
    '@torch.no_grad()',
    `def evaluate_${k}(model):`,
    '    return model',
    'if DEBUG:',
    '    pass',
    'else:',
    '    pass',
    'try:',
    '    import numpy as np',
    'except ImportError:',
    '    np = None',
    `TOTAL_${k} = 1 + \\`,
    '    2',
    '',
  ].join('\n');
  const text = [util(0), code('resnet.py'), util(1), 'model = resnet18()', 'model.load_state_dict(torch.load("runs/resnet18_source.pt"))', util(2)].join('\n');
  const tokens = nameTokens(report.layers.map((l) => l.name));
  const analyses = [{ id: 'r18', report }];
  const docs = new DocumentTrees();
  const partial = annotate(await codeMapOf(text, { trees: docs, key: 'a' }, tokens), analyses);
  const full = annotate(await codeMapOf(text), analyses);
  assert.deepEqual(partial, full);
  assert.ok(full.lines.some((h) => h.kind === 'load') && full.lines.filter((h) => h.kind === 'layers').length >= 15);
  // What was parsed: the ResNet code, the module's statements (they build a resnet18), not the utility functions.
  const tree = await docs.tree('a', text, (await import('../../src/core/codemap/relevance')).neededRanges(text, tokens, [text.indexOf('load_state_dict')]));
  const parsed = tree.rootNode.namedChildren.map((n) => n!.text.split('\n')[0]);
  assert.ok(parsed.includes('class ResNet(nn.Module):') && parsed.some((l) => l.startsWith('def conv3x3(')), parsed.join('\n'));
  assert.ok(parsed.some((l) => l.startsWith('model.load_state_dict(')));
  assert.deepEqual(parsed.filter((l) => /util_|evaluate_/.test(l)), []);
  assert.ok(parsed.includes('if DEBUG:') && parsed.includes('try:'));
  // A full parse of the same document after that (the parser keeps no ranges of its own).
  const whole = await docs.tree('b', text);
  assert.ok(whole.rootNode.namedChildren.some((n) => n!.text.startsWith('def util_1')));
  // An edit inside a utility: the next map is the same.
  const edited = text.replace('def util_1(batch):', 'def util_1(batch, n=2):');
  assert.deepEqual(annotate(await codeMapOf(edited, { trees: docs, key: 'a' }, tokens), analyses).lines.map((h) => [h.line, h.layers]), full.lines.map((h) => [h.line, h.layers]));
});
