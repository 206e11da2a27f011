// Which target tensors each evaluation replaces with the source's, from a compare report: per
// layer, per parameter role across all layers (the companion study's groups: conv weights, conv
// bias, BN γ/β, BN running statistics), and the layers judged `reuse` together (with the γ/β of
// layers judged `recalibrate`). The report's
// matching decides which source tensor stands for which target tensor, so the experiment
// measures exactly the pairs the RMSE columns describe.
import type { LayerReport, ParamReport, Report } from '../shared/reportTypes';
import type { ExperimentRole } from './types';

export interface PlannedReplacement {
  /** Unique within a plan: `layer:NAME`, `role:ROLE`, `reuse-set`. */
  id: string;
  kind: 'layer' | 'role' | 'reuse-set';
  /** A layer's name, a role's words, or `reuse set`. */
  label: string;
  role?: ExperimentRole;
  /** Layers whose tensors this evaluation replaces. */
  layers: string[];
  /** [source tensor, target tensor] as named in the checkpoints (and the report). */
  pairs: [string, string][];
}

export interface ExperimentPlan {
  layers: PlannedReplacement[];
  roles: PlannedReplacement[];
  reuseSet: PlannedReplacement | null;
}

export const ROLE_LABELS: Record<ExperimentRole, string> = {
  'conv-weight': 'conv weights',
  'conv-bias': 'conv bias',
  'bn-affine': 'BN γ/β',
  'bn-statistics': 'BN running statistics',
};

const INTEGER_DTYPE = /^(U?INT|I|U)\d+$|^BOOL$/i;

/** A parameter that can be replaced: on both sides, same shape, a float tensor (not a counter). */
export function replaceable(p: ParamReport): boolean {
  if (p.sourceName === null || p.targetName === null) return false;
  if (p.sourceShape || p.targetShape) return false; // set only when the shapes differ
  if (p.targetDtype) return false; // a float on one side, integers on the other
  if (p.role === 'num_batches_tracked') return false;
  return !(p.dtype && INTEGER_DTYPE.test(p.dtype));
}

export function roleOf(layer: LayerReport, p: ParamReport): ExperimentRole | undefined {
  if (layer.kind === 'conv') {
    if (p.role === 'weight' || p.role === 'pointwise_weight') return 'conv-weight';
    if (p.role === 'bias') return 'conv-bias';
  } else if (layer.kind === 'bn') {
    if (p.role === 'weight' || p.role === 'bias') return 'bn-affine';
    if (p.role === 'running_mean' || p.role === 'running_var') return 'bn-statistics';
  }
  return undefined;
}

const pairOf = (p: ParamReport): [string, string] => [p.sourceName!, p.targetName!];

export function planExperiments(report: Report): ExperimentPlan {
  const layers: PlannedReplacement[] = [];
  const byRole = new Map<ExperimentRole, PlannedReplacement>();
  const reuse: PlannedReplacement = { id: 'reuse-set', kind: 'reuse-set', label: 'reuse set', layers: [], pairs: [] };
  for (const l of [...report.layers].sort((a, b) => a.index - b.index)) {
    const ps = l.params.filter(replaceable);
    if (!ps.length) continue;
    layers.push({ id: `layer:${l.name}`, kind: 'layer', label: l.name, layers: [l.name], pairs: ps.map(pairOf) });
    // The reuse set is what the verdicts say to copy as is: whole `reuse` layers, and of
    // `recalibrate` layers γ/β only (their running statistics are the target's: re-estimated
    // on target data, as the verdict asks).
    const kept = l.verdict === 'reuse' ? ps : l.verdict === 'recalibrate' ? ps.filter((p) => p.role === 'weight' || p.role === 'bias') : [];
    if (kept.length) { reuse.layers.push(l.name); reuse.pairs.push(...kept.map(pairOf)); }
    for (const p of ps) {
      const role = roleOf(l, p);
      if (!role) continue;
      let r = byRole.get(role);
      if (!r) byRole.set(role, r = { id: `role:${role}`, kind: 'role', label: ROLE_LABELS[role], role, layers: [], pairs: [] });
      if (r.layers[r.layers.length - 1] !== l.name) r.layers.push(l.name);
      r.pairs.push(pairOf(p));
    }
  }
  const roles = (Object.keys(ROLE_LABELS) as ExperimentRole[]).map((r) => byRole.get(r)).filter((r): r is PlannedReplacement => !!r);
  return { layers, roles, reuseSet: reuse.layers.length ? reuse : null };
}

/** Every evaluation of a plan after the baseline, in the order the driver runs them. */
export function planSteps(plan: ExperimentPlan): PlannedReplacement[] {
  return [...plan.layers, ...plan.roles, ...(plan.reuseSet ? [plan.reuseSet] : [])];
}
