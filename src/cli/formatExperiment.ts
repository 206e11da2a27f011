// Human-readable output of `reuse-lens experiment`: per layer the paper's two conditions side by
// side (kernel RMSE small / replacement keeps performance), then the roles and the network.
import type { Report } from '../core/shared/reportTypes';
import type { ExperimentResult, ReplacementResult } from '../core/experiments/types';
import { formatDelta } from '../core/experiments/measured';
import { fmt } from '../core/shared/verdicts';
import { table } from './format';

export function formatExperiment(report: Report, x: ExperimentResult): string {
  const m = x.metric;
  const value = (v: number) => (m.name === 'accuracy' ? `${v.toFixed(2)} %` : v.toPrecision(4));
  const keeps = (r: ReplacementResult) => (r.keeps ? 'keeps' : 'drops');
  const byName = new Map(report.layers.map((l) => [l.name, l]));
  const metricName = m.name === 'accuracy' ? 'accuracy' : `${m.loss} loss`;
  const head = [
    `source: ${x.source}`,
    `target: ${x.target}`,
    `${metricName} on ${x.samples} samples of ${x.data}, model ${x.model}; ${x.runtime ?? `torch ${x.torch} on ${x.device}`}, ${(x.durationMs / 1000).toFixed(1)} s`,
    `baseline (target as is): ${value(x.baseline.value)}`,
    '',
  ];
  const layers = table(['layer', 'rel. RMSE', 'verdict (RMSE)', `${m.name} replaced`, 'Δ', 'replacement'],
    x.layers.map((l) => {
      const r = byName.get(l.name);
      return [l.name, fmt(r?.kernelRelRmse), r?.verdict ?? '', value(l.value), formatDelta(m, l.delta, x.baseline.value), keeps(l)];
    }));
  const groups = [...x.roles.map((r) => ({ name: `${r.label} (${r.layers.length} layer${r.layers.length === 1 ? '' : 's'})`, r })),
    ...(x.reuseSet ? [{ name: `reuse set (${x.reuseSet.layers.length} layer${x.reuseSet.layers.length === 1 ? '' : 's'})`, r: x.reuseSet }] : [])];
  const roles = table(['replaced together', m.name, 'Δ', 'replacement'],
    groups.map(({ name, r }) => [name, value(r.value), formatDelta(m, r.delta, x.baseline.value), keeps(r)]));
  return [...head, layers, '', roles, '', `network (measured): ${x.network.reason}`].join('\n') + '\n';
}
