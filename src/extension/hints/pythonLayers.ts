// Finds the lines of Python training code that define or load layers, and says what the latest
// analysis found for them. Pure: text and a report in, hints out (tested without VS Code).
//   self.conv1 = nn.Conv2d(...)           -> layer `conv1` (or the layers under `conv1.`)
//   layers.Conv2D(32, 3, name="conv1")    -> layer `conv1` (Keras)
//   model.load_state_dict(torch.load(..)) -> the analysis as a whole
import type { LayerReport, Report, Verdict } from '../../protocol';
import { formatMetric } from '../model/format';

export interface LayerLine { line: number; column: number; name: string; kind: 'attr' | 'keras' | 'load' }

const ATTR = /\bself\.([A-Za-z_]\w*)\s*=\s*(?:[A-Za-z_][\w.]*\.)?([A-Z]\w*)\s*\(/;
const KERAS = /\b(?:layers|keras\.layers|tf\.keras\.layers)?\.?([A-Z]\w*)\s*\(.*\bname\s*=\s*["']([\w./-]+)["']/;
const LOAD = /\.load_state_dict\s*\(|\.load_weights\s*\(/;

export function findLayerLines(text: string): LayerLine[] {
  const out: LayerLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (/^\s*#/.test(l)) continue;
    let m = ATTR.exec(l);
    if (m) { out.push({ line: i, column: l.indexOf(`self.${m[1]}`) + 5, name: m[1], kind: 'attr' }); continue; }
    m = KERAS.exec(l);
    if (m) { out.push({ line: i, column: l.indexOf(m[2]), name: m[2], kind: 'keras' }); continue; }
    const load = LOAD.exec(l);
    if (load) out.push({ line: i, column: load.index + 1, name: '', kind: 'load' });
  }
  return out;
}

export interface Hint { title: string; markdown: string; layer?: string; verdict?: Verdict }

/** The layers of `report` that a code name refers to: itself, the layers under it, or the same name inside blocks. */
export function layersFor(name: string, report: Report): LayerReport[] {
  const exact = report.layers.filter((l) => l.name === name || l.sourceName === name || l.targetName === name);
  if (exact.length) return exact;
  const under = report.layers.filter((l) => l.name.startsWith(`${name}.`));
  if (under.length) return under;
  return report.layers.filter((l) => l.name.endsWith(`.${name}`));
}

export function hintFor(line: LayerLine, report: Report): Hint | undefined {
  if (line.kind === 'load') {
    const s = report.summary;
    return { title: `Reuse Lens: ${s.byVerdict.reuse} reuse · ${s.byVerdict['fine-tune']} fine-tune · ${s.byVerdict.retrain} retrain — network ${s.network.verdict}`, markdown: s.text };
  }
  const layers = layersFor(line.name, report);
  if (layers.length === 0) return undefined;
  if (layers.length === 1) {
    const l = layers[0];
    const metric = l.kernelRelRmse !== null ? ` (rel RMSE ${formatMetric(l.kernelRelRmse)})` : '';
    return { title: `Reuse Lens: ${l.verdict}${metric}`, markdown: `**${l.name}**: ${l.verdict}. ${l.reason}`, layer: l.name, verdict: l.verdict };
  }
  const counts = new Map<Verdict, number>();
  for (const l of layers) counts.set(l.verdict, (counts.get(l.verdict) ?? 0) + 1);
  const parts = [...counts].map(([v, n]) => `${n} ${v}`).join(' · ');
  return {
    title: `Reuse Lens: ${layers.length} layers: ${parts}`,
    markdown: layers.map((l) => `- **${l.name}**: ${l.verdict}, RMSE ${formatMetric(l.kernelRmse)} (rel ${formatMetric(l.kernelRelRmse)})`).join('\n'),
    layer: layers[0].name,
  };
}
