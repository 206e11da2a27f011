// The children of an inspected checkpoint in the Checkpoints view: layers (network order as the
// engine gives it) with their tensors, tensors that belong to no layer, other entries, warnings.
// Pure data; views/checkpointsTree.ts turns it into TreeItems.
import type { InspectResult, InspectTensor, InspectLayer, NonTensorEntry } from '../../protocol';
import { formatBytes, formatCount, formatShape } from './format';

export type CheckpointChild =
  | { kind: 'layer'; layer: InspectLayer; tensors: { role: string; tensor: InspectTensor }[] }
  | { kind: 'tensor'; role?: string; tensor: InspectTensor }
  | { kind: 'entries'; entries: NonTensorEntry[] }
  | { kind: 'warning'; message: string };

export function checkpointChildren(r: InspectResult): CheckpointChild[] {
  const byName = new Map(r.tensors.map((t) => [t.name, t]));
  const inLayer = new Set<string>();
  const out: CheckpointChild[] = [];
  for (const layer of r.layers) {
    const tensors = layer.tensors.flatMap((x) => {
      const t = byName.get(x.name);
      if (!t) return [];
      inLayer.add(x.name);
      return [{ role: x.role, tensor: t }];
    });
    out.push({ kind: 'layer', layer, tensors });
  }
  for (const t of r.tensors) if (!inLayer.has(t.name)) out.push({ kind: 'tensor', tensor: t });
  if (r.entries.length) out.push({ kind: 'entries', entries: r.entries });
  for (const w of r.warnings) out.push({ kind: 'warning', message: w });
  return out;
}

export function fileDescription(r: InspectResult): string {
  return `${r.format} · ${formatCount(r.parameters)} params · ${r.layers.length} layers`;
}

export function layerDescription(l: InspectLayer): string {
  return `${l.kind} · ${formatCount(l.parameters)} params`;
}

export function tensorDescription(t: InspectTensor): string {
  return `${t.dtype} ${formatShape(t.shape)} · ${formatCount(t.parameters)} · ${formatBytes(t.bytes)}`;
}

export function tensorTooltip(t: InspectTensor): string {
  return `${t.name}\n${t.dtype} ${formatShape(t.shape)}\n${t.parameters.toLocaleString('en-US')} parameters, ${formatBytes(t.bytes)}`;
}
