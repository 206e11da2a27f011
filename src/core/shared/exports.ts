// Exports of a report: Markdown table, CSV (one row per parameter), and the reuse plan as JSON,
// PyTorch code and Keras code. PURE: no node imports, no I/O — the report webview bundles it
// to export in the browser.
import type { LayerReport, ParamReport, Report } from './reportTypes';
import { BN_LOG_VAR_MOVED, BN_MEAN_SHIFT_MOVED, fmt } from './verdicts';

/** The BN statistics rule in words, for the headers of the text exports. */
export function statsRule(): string {
  return `BN running statistics moved (recalibrate, if γ/β transfer) at a mean shift ≥ ${BN_MEAN_SHIFT_MOVED} source std or |log variance ratio| ≥ ${BN_LOG_VAR_MOVED}`;
}

// ---------------------------------------------------------------- Markdown

function mdCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function toMarkdown(report: Report): string {
  const lines: string[] = [];
  lines.push('# Reuse Lens report', '');
  lines.push(`- Source: \`${report.source.path}\` (${report.source.format}, ${report.source.tensors} tensors, ${report.source.parameters} parameters)`);
  lines.push(`- Target: \`${report.target.path}\` (${report.target.format}, ${report.target.tensors} tensors, ${report.target.parameters} parameters)`);
  const o = report.options;
  lines.push(`- Thresholds on kernel ${o.metric === 'rmse' ? 'RMSE' : 'relative RMSE'}: reuse < ${o.reuseBelow}, fine-tune < ${o.fineTuneBelow}, else retrain`);
  lines.push(`- ${statsRule()}`, '');
  lines.push('| # | Layer | Kind | Matched by | Kernel RMSE | Relative RMSE | Cosine | Verdict | Reason |');
  lines.push('|---:|---|---|---|---:|---:|---:|---|---|');
  for (const l of report.layers) {
    const d = drivingParamOf(l);
    lines.push(`| ${l.index} | ${mdCell(l.name)} | ${l.kind} | ${l.matchedBy} | ${fmt(l.kernelRmse)} | ${fmt(l.kernelRelRmse)} | ${fmt(d?.cosine)} | **${l.verdict}** | ${mdCell(l.reason)} |`);
  }
  lines.push('', `**Summary:** ${mdCell(report.summary.text)}`, '', `_Network verdict: ${mdCell(report.summary.network.reason)}._`);
  if (report.unmatched.source.length || report.unmatched.target.length) {
    lines.push('', `Unmatched: ${report.unmatched.source.length} source tensors, ${report.unmatched.target.length} target tensors.`);
  }
  return lines.join('\n') + '\n';
}

function drivingParamOf(l: LayerReport): ParamReport | undefined {
  return l.params.find((p) => p.role === (l.drivenBy ?? 'weight'));
}

// ---------------------------------------------------------------- CSV

/** RFC 4180: quote a field holding a comma, quote, or line break; double the quotes. */
export function csvField(v: string | number | null | undefined): string {
  if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// Columns are only ever added, at the end, so scripts that read them by position keep working.
const CSV_COLUMNS = ['layer_index', 'layer', 'kind', 'matched_by', 'verdict', 'role', 'source_name', 'target_name', 'shape',
  'source_shape', 'target_shape', 'rmse', 'rel_rmse', 'cosine', 'max_abs_diff', 'nonfinite_source', 'nonfinite_target', 'reason',
  'scale_invariant_rmse', 'scale_invariant_rel_rmse', 'min_filter_cosine', 'normalized_by', 'bn_mean_shift_std', 'bn_log_var_ratio'];

export function toCsv(report: Report): string {
  const rows = [CSV_COLUMNS.join(',')];
  const shape = (s: number[] | undefined) => (s ? s.join('x') : '');
  for (const l of report.layers) {
    for (const p of l.params) {
      rows.push([l.index, l.name, l.kind, l.matchedBy, l.verdict, p.role, p.sourceName, p.targetName, shape(p.shape),
        shape(p.sourceShape), shape(p.targetShape), p.rmse, p.relRmse, p.cosine, p.maxAbsDiff,
        p.nonFinite?.source ?? 0, p.nonFinite?.target ?? 0, l.reason,
        p.scaleInvariant?.rmse, p.scaleInvariant?.relRmse, p.scaleInvariant?.minCosine, p.role === 'weight' ? l.normalizedBy?.layer : undefined,
        p.role === 'running_mean' ? l.bnStats?.meanShift.rms : undefined, p.role === 'running_var' ? l.bnStats?.logVarRatio.rms : undefined].map(csvField).join(','));
    }
  }
  return rows.join('\r\n') + '\r\n';
}

// ---------------------------------------------------------------- Reuse plan

export interface ReusePlan {
  schema: 'reuse-lens/plan@1';
  source: string;
  target: string;
  /** Tensors to copy from the source into the target (layers judged reuse, fine-tune, or recalibrate: γ/β only). */
  copy: { source: string; target: string; layer: string; verdict: 'reuse' | 'fine-tune' | 'recalibrate' }[];
  /** Target tensors to freeze after copying (layers judged reuse; γ/β of layers judged recalibrate). */
  freeze: string[];
  /** Target BN layers whose running statistics are re-estimated on target data after copying (verdict recalibrate). */
  recalibrate: string[];
  /** Target tensors to leave to the model's own initialisation and train (retrain, incompatible, target-only). */
  reinit: string[];
  /** Layer-level view of the same plan, for frameworks that set weights per layer (Keras). */
  layers: { copy: { source: string; target: string }[]; freeze: string[] };
  summary: string;
}

export function reusePlan(report: Report): ReusePlan {
  const copy: ReusePlan['copy'] = [];
  const freeze: string[] = [];
  const reinit: string[] = [];
  const layerCopy: { source: string; target: string }[] = [];
  const layerFreeze: string[] = [];
  const recalibrate: string[] = [];
  for (const l of report.layers) {
    if (l.verdict === 'reuse' || l.verdict === 'fine-tune' || l.verdict === 'recalibrate') {
      // A recalibrated layer keeps the source's γ/β; its statistics are re-estimated, not copied.
      const ps = l.params.filter((p) => p.sourceName !== null && p.targetName !== null && (l.verdict !== 'recalibrate' || !STAT_ROLES.has(p.role)));
      for (const p of ps) copy.push({ source: p.sourceName!, target: p.targetName!, layer: l.name, verdict: l.verdict });
      if (l.verdict !== 'fine-tune') freeze.push(...ps.map((p) => p.targetName!));
      if (l.verdict === 'recalibrate' && l.targetName) recalibrate.push(l.targetName);
      // Target tensors the source lacks (a bias added) still start from the model's init.
      reinit.push(...l.params.filter((p) => p.sourceName === null && p.targetName !== null).map((p) => p.targetName!));
      if (l.sourceName && l.targetName) {
        layerCopy.push({ source: l.sourceName, target: l.targetName });
        if (l.verdict !== 'fine-tune') layerFreeze.push(l.targetName);
      }
    } else if (l.verdict !== 'source-only') {
      reinit.push(...l.params.filter((p) => p.targetName !== null).map((p) => p.targetName!));
    }
  }
  return {
    schema: 'reuse-lens/plan@1', source: report.source.path, target: report.target.path,
    copy, freeze, recalibrate, reinit, layers: { copy: layerCopy, freeze: layerFreeze }, summary: report.summary.text,
  };
}

const STAT_ROLES = new Set(['running_mean', 'running_var', 'num_batches_tracked']);

export function planJson(report: Report): string {
  return JSON.stringify(reusePlan(report), null, 2) + '\n';
}

/** A Python string literal (JSON string syntax is a subset of Python's). */
function py(s: string): string {
  return JSON.stringify(s);
}

function pyList(items: string[], indent = '    '): string {
  if (!items.length) return '[]';
  return `[\n${items.map((s) => `${indent}${py(s)},`).join('\n')}\n]`;
}

function pyDict(entries: [string, string][], indent = '    '): string {
  if (!entries.length) return '{}';
  return `{\n${entries.map(([k, v]) => `${indent}${py(k)}: ${py(v)},`).join('\n')}\n}`;
}

function header(report: Report, plan: ReusePlan): string {
  return [
    `# Reuse plan generated by Reuse Lens`,
    `#   source: ${oneLine(report.source.path)}`,
    `#   target: ${oneLine(report.target.path)}`,
    `#   ${oneLine(plan.summary)}`,
    `# Thresholds on kernel ${report.options.metric}: reuse < ${report.options.reuseBelow}, fine-tune < ${report.options.fineTuneBelow}.`,
  ].join('\n');
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

/** PyTorch code a user pastes into a training script: copy source tensors into the model, freeze the reused ones. */
export function planPytorch(report: Report): string {
  const plan = reusePlan(report);
  return `${header(report, plan)}
# Paste into your training script and call apply_reuse_plan(model) once the target model is built.
import torch

SOURCE_CHECKPOINT = ${py(report.source.path)}

# Target tensor name -> source tensor name: layers judged reuse or fine-tune, and γ/β of layers judged recalibrate.
COPY = ${pyDict(plan.copy.map((c) => [c.target, c.source]))}

# Layers judged reuse (and γ/β of layers judged recalibrate): copied and frozen (requires_grad=False).
# Frozen BatchNorm layers still update their running statistics in train mode; put those modules in eval() if that matters.
FREEZE = ${pyList(plan.freeze)}

# BatchNorm layers judged recalibrate: keep the source's γ/β, re-estimate the running statistics on
# target data with recalibrate_bn(model, target_batches) (forward passes, no training; AdaBN).
RECALIBRATE = ${pyList(plan.recalibrate)}

# Layers judged retrain, incompatible or target-only: left as the model initialises them.
REINIT = ${pyList(plan.reinit)}

# Name prefixes that differ between a wrapped and a plain model (DataParallel, torch.compile),
# and keys of checkpoint dicts that hold the state dict.
PREFIXES = ${JSON.stringify(report.options.prefixRules.length ? report.options.prefixRules : [])}
WRAPPERS = ["state_dict", "model_state_dict", "model", "ema", "net", "network"]


def _canonical(name):
    parts = name.split(".")
    while len(parts) > 1 and parts[0] in WRAPPERS:
        parts = parts[1:]
    name = ".".join(parts)
    changed = True
    while changed:
        changed = False
        for prefix in PREFIXES:
            if prefix and name.startswith(prefix) and len(name) > len(prefix):
                name = name[len(prefix):]
                changed = True
    return name


def _flatten(obj, prefix=""):
    """Tensors of a (possibly nested) checkpoint dict, by dotted name."""
    out = {}
    if isinstance(obj, torch.Tensor):
        out[prefix] = obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _find(name, names, by_canonical):
    return name if name in names else by_canonical.get(_canonical(name))


def apply_reuse_plan(model, source_path=SOURCE_CHECKPOINT, freeze=True):
    source = _flatten(torch.load(source_path, map_location="cpu", weights_only=True))
    source_by_canonical = {}
    for key in source:
        source_by_canonical.setdefault(_canonical(key), key)
    own = model.state_dict()
    own_by_canonical = {_canonical(key): key for key in own}
    state, missing = {}, []
    for target_name, source_name in COPY.items():
        s_key = _find(source_name, source, source_by_canonical)
        t_key = _find(target_name, own, own_by_canonical)
        if s_key is None or t_key is None:
            missing.append(target_name)
            continue
        value = source[s_key]
        if tuple(value.shape) != tuple(own[t_key].shape):
            raise ValueError(f"{source_name} has shape {tuple(value.shape)}, {t_key} has {tuple(own[t_key].shape)}")
        state[t_key] = value.to(dtype=own[t_key].dtype)
    model.load_state_dict(state, strict=False)
    if freeze:
        frozen = {_canonical(name) for name in FREEZE}
        for name, param in model.named_parameters():
            if _canonical(name) in frozen:
                param.requires_grad_(False)
    if missing:
        print(f"reuse plan: {len(missing)} tensors not found, left as initialised: {missing[:5]}")
    return model


@torch.no_grad()
def recalibrate_bn(model, batches, max_batches=None, device=None):
    """Re-estimates the running statistics of the RECALIBRATE BatchNorm layers on target data.

    batches: an iterable of model inputs (a DataLoader; from (input, label) pairs the input is used).
    Only those layers run in train mode, with their statistics reset and averaged over all batches
    (momentum=None, as torch.optim.swa_utils.update_bn does); every other module stays in eval mode,
    so no other statistic moves and dropout is off. No gradient, no optimizer step.
    """
    wanted = {_canonical(name) for name in RECALIBRATE}
    layers = [m for name, m in model.named_modules()
              if _canonical(name) in wanted and isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not layers:
        return model
    was_training = model.training
    model.eval()
    momenta = {}
    for m in layers:
        momenta[m] = m.momentum
        m.reset_running_stats()
        m.momentum = None
        m.train()
    for i, batch in enumerate(batches):
        if max_batches is not None and i >= max_batches:
            break
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        if device is not None:
            batch = batch.to(device)
        model(batch)
    for m in layers:
        m.momentum = momenta[m]
    model.train(was_training)
    return model
`;
}

/**
 * The path by which Keras code reaches a layer as Reuse Lens names it: `backbone/conv2d` is the
 * layer `conv2d` of the layer `backbone` (a nested model's or a custom layer's own layer), not
 * `backbone` as a whole; groups the files add (`model_weights`, Keras 3's `layers`) are dropped.
 */
export function kerasLayerPath(name: string): string {
  const parts = name.split('/').filter((p) => p && p !== 'model_weights' && p !== 'layers');
  return parts.length ? parts.join('/') : name;
}

/** Keras code: set_weights layer by layer from a source model, trainable=False for the reused layers. */
export function planKeras(report: Report): string {
  const plan = reusePlan(report);
  const copy = plan.layers.copy.map((c): [string, string] => [kerasLayerPath(c.target), kerasLayerPath(c.source)]);
  const freeze = plan.layers.freeze.map(kerasLayerPath);
  return `${header(report, plan)}
# Paste into your training script and call apply_reuse_plan(model, source_model), where source_model is
# the source network built in Keras with its weights loaded (e.g. keras.models.load_model(SOURCE_CHECKPOINT)).
SOURCE_CHECKPOINT = ${py(report.source.path)}

# Target layer -> source layer, judged reuse or fine-tune. A nested layer is named by its path:
# "backbone/conv2d" is model.get_layer("backbone").get_layer("conv2d") (see find_layer).
COPY_LAYERS = ${pyDict(copy)}

# Layers judged reuse (and recalibrate): copied and frozen (trainable = False).
FREEZE_LAYERS = ${pyList(freeze)}

# BatchNormalization layers judged recalibrate: keep gamma/beta, re-estimate the moving statistics on
# target data with recalibrate_bn(model, target_batches) (forward passes, no training; AdaBN).
RECALIBRATE_LAYERS = ${pyList(plan.recalibrate.map(kerasLayerPath))}


def find_layer(model, path):
    """The layer at a path ("backbone/conv2d"): get_layer step by step, through a nested model's
    get_layer or a custom layer's own layers (attributes and lists, as Keras tracks them)."""
    layer = model
    for name in path.split("/"):
        layer = _child(layer, name)
    return layer


def _child(layer, name):
    if hasattr(layer, "get_layer"):
        try:
            return layer.get_layer(name)
        except ValueError:
            pass
    for recursive in (False, True):
        for sub in _sublayers(layer, recursive):
            if sub.name == name:
                return sub
    raise ValueError(f"no layer {name!r} in {getattr(layer, 'name', layer)!r}")


def _sublayers(layer, recursive=True):
    # tf.keras 2 and Keras 3 both track the layers a layer holds in _flatten_layers.
    if hasattr(layer, "_flatten_layers"):
        return list(layer._flatten_layers(include_self=False, recursive=recursive))
    return list(getattr(layer, "layers", []))


def apply_reuse_plan(model, source_model, freeze=True):
    missing = []
    for target_name, source_name in COPY_LAYERS.items():
        try:
            target_layer = find_layer(model, target_name)
            source_layer = find_layer(source_model, source_name)
        except ValueError:
            missing.append(target_name)
            continue
        target_layer.set_weights(source_layer.get_weights())
    if freeze:
        for name in FREEZE_LAYERS:
            try:
                find_layer(model, name).trainable = False
            except ValueError:
                missing.append(name)
    if missing:
        print(f"reuse plan: {len(missing)} layers not found: {missing[:5]}")
    return model


def recalibrate_bn(model, batches, max_batches=None):
    """Re-estimates the moving statistics of the RECALIBRATE_LAYERS on target data.

    Passes with training=True update a BatchNormalization layer's statistics; the other
    BatchNormalization layers are set trainable=False meanwhile, which keeps them in inference
    mode. The statistics are averaged over all batches (momentum (k-1)/k at step k). Dropout
    layers are active during these passes, as in training. No gradient step is taken.
    """
    import keras
    import numpy as np
    targets = [find_layer(model, name) for name in RECALIBRATE_LAYERS]
    if not targets:
        return model
    others = [l for l in _sublayers(model) if isinstance(l, keras.layers.BatchNormalization) and l not in targets]
    saved = [(l, l.trainable) for l in others] + [(l, l.trainable) for l in targets]
    momenta = {id(l): l.momentum for l in targets}
    for l in others:
        l.trainable = False
    for l in targets:
        l.trainable = True
        l.moving_mean.assign(np.zeros(l.moving_mean.shape))
        l.moving_variance.assign(np.ones(l.moving_variance.shape))
    for step, batch in enumerate(batches, start=1):
        if max_batches is not None and step > max_batches:
            break
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        for l in targets:
            l.momentum = (step - 1) / step
        model(batch, training=True)
    for l in targets:
        l.momentum = momenta[id(l)]
    for l, trainable in saved:
        l.trainable = trainable
    return model
`;
}
