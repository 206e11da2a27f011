// The top of the panel: what was compared with what, how layers were paired, and the answer
// for the whole network, with verdict counts that double as table filters.
import type { CheckpointSummary, ExperimentResult, Report, Verdict } from '../../src/protocol';
import { h, clear } from './dom';
import { baseName, fmtCount } from './format';
import { VERDICT_LABEL } from './theme';
import { VERDICT_ORDER } from './tableModel';
import { networkOrderLine } from './orderModel';

export interface HeaderEvents {
  onReveal(side: 'source' | 'target'): void;
  onToggleVerdict(v: Verdict): void;
}

export class Header {
  readonly element: HTMLElement;
  constructor(private readonly events: HeaderEvents) {
    this.element = h('header', { class: 'report-header' });
  }

  /** `measured`: the network verdict of a replacement experiment, which then stands in for the RMSE estimate. */
  update(report: Report, activeVerdicts: Verdict[], thresholdsChanged: boolean, measured?: ExperimentResult['network']): void {
    clear(this.element);
    const s = report.summary;
    const net = measured ? { verdict: measured.verdict, reason: measured.reason, estimate: false } : s.network;
    const netClass = net.verdict === 'reusable' ? 'v-reuse' : net.verdict === 'partly reusable' ? 'v-fine-tune' : 'v-retrain';
    this.element.append(
      h('div', { class: 'network' },
        h('span', { class: `network-verdict ${netClass}`, 'aria-label': `Network verdict: ${net.verdict}` },
          h('span', { class: 'dot', 'aria-hidden': 'true' }), `The network is ${net.verdict}`),
        net.estimate ? h('span', { class: 'tag', title: 'Judged from kernel distances; no replacement experiment was run' }, 'estimate') : null,
        measured ? h('span', { class: 'tag', title: 'Judged by replacement experiments on your evaluation data (see "Replacement experiment" below)' }, 'measured') : null,
        thresholdsChanged ? h('span', { class: 'tag tag-warn', title: 'Verdicts follow the thresholds set below, not the ones the analysis ran with' }, 'live thresholds') : null),
      h('p', { class: 'network-reason' }, net.reason),
      ...(measured ? [h('p', { class: 'muted small network-estimate' }, `From kernel RMSE alone (estimate): ${s.network.verdict}. ${s.network.reason}`)] : []),
      h('div', { class: 'sides' }, this.side('Source', 'source', report.source), this.side('Target', 'target', report.target)),
      this.counts(report, activeVerdicts),
      this.matching(report),
      ...this.order(report),
      ...(report.warnings.length ? [h('ul', { class: 'warnings', 'aria-label': 'Warnings' }, ...report.warnings.map((w) => h('li', {}, w)))] : []),
    );
  }

  private side(label: string, side: 'source' | 'target', c: CheckpointSummary): HTMLElement {
    const link = h('a', { href: '#', class: 'file', title: `${c.path}\nOpen this checkpoint`, 'aria-label': `Open ${label.toLowerCase()} checkpoint ${baseName(c.path)}` }, baseName(c.path));
    link.addEventListener('click', (e) => { e.preventDefault(); this.events.onReveal(side); });
    return h('div', { class: 'side' },
      h('span', { class: 'side-label' }, label),
      link,
      h('span', { class: 'muted' }, `${c.format} · ${c.tensors} tensors · ${fmtCount(c.parameters)} parameters`));
  }

  private counts(report: Report, active: Verdict[]): HTMLElement {
    const s = report.summary;
    const chips = VERDICT_ORDER.filter((v) => (s.byVerdict[v] ?? 0) > 0).map((v) => {
      const on = active.includes(v);
      const b = h('button', {
        class: `chip v-${v}${on ? ' on' : ''}`, 'aria-pressed': on ? 'true' : 'false',
        title: on ? `Showing only the checked verdicts; click to stop filtering by ${VERDICT_LABEL[v]}` : `Show only ${VERDICT_LABEL[v]} layers in the table`,
      }, h('span', { class: 'dot', 'aria-hidden': 'true' }), `${s.byVerdict[v]} ${VERDICT_LABEL[v]}`);
      b.addEventListener('click', () => this.events.onToggleVerdict(v));
      return b;
    });
    // The weighted share is the network verdict's (fine-tune counts partially); older reports lack it.
    const share = Math.round((s.weightedShare ?? (s.totalParameters > 0 ? s.transferableParameters / s.totalParameters : 0)) * 100);
    return h('div', { class: 'counts' },
      h('span', { class: 'muted' }, `${s.layers} layers:`), ...chips,
      h('span', { class: 'muted params-share', title: `${s.reusableParameters} parameters in reuse or recalibrate layers, ${s.transferableParameters} with fine-tune layers, of ${s.totalParameters}; the share weighs fine-tune layers partially` },
        `${fmtCount(s.reusableParameters)} parameters reusable as is, ${fmtCount(s.transferableParameters)} transferable of ${fmtCount(s.totalParameters)} (${share}% weighted)`));
  }

  private order(report: Report): HTMLElement[] {
    const line = networkOrderLine(report);
    return line ? [h('p', { class: 'network-order muted', title: line.title }, line.text)] : [];
  }

  private matching(report: Report): HTMLElement {
    const m = report.summary.matchedBy;
    const parts: string[] = [];
    if (m.name) parts.push(`${m.name} by name`);
    if (m['prefix-rule']) parts.push(`${m['prefix-rule']} by name after prefix rules (${report.options.prefixRules.join(', ') || 'none'})`);
    if (m['order+shape']) parts.push(`${m['order+shape']} by order and shape`);
    if (m.none) parts.push(`${m.none} unmatched`);
    const um = report.unmatched;
    const extra = um.source.length + um.target.length
      ? ` · tensors without a partner: ${um.source.length} in the source, ${um.target.length} in the target` : '';
    return h('p', { class: 'matching muted', title: [...um.source.map((n) => `source only: ${n}`), ...um.target.map((n) => `target only: ${n}`)].slice(0, 40).join('\n') || undefined },
      `Layers paired: ${parts.join(', ') || 'none'}${extra}`);
  }
}
