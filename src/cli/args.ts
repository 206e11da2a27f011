// Command-line parsing with node:util parseArgs; every mistake becomes a UsageError (exit 2).
import { parseArgs, ParseArgsConfig } from 'node:util';
import { AnalyzeOptions, DEFAULT_OPTIONS } from '../core/shared/reportTypes';
import { UsageError } from './usage';
import { DEFAULT_TOLERANCE } from '../core/experiments/types';

export type OutputKind = 'table' | 'json' | 'md' | 'csv' | 'plan-pytorch' | 'plan-keras' | 'plan-json';

export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'inspect'; file: string; stats: boolean; json: boolean; timeLimitSeconds: number }
  | { kind: 'compare'; source: string; target: string; output: OutputKind; options: AnalyzeOptions; timeLimitSeconds: number }
  | {
    /** model undefined: the architecture is in the target file (Keras, TF.js, ONNX) and data is a path. */
    kind: 'experiment'; source: string; target: string; model: string | undefined; data: string; python: string;
    metric: 'auto' | 'accuracy' | 'loss'; device: 'auto' | 'cpu' | 'cuda'; tolerance: number; json: boolean; options: AnalyzeOptions;
    /** --mean/--std: per-channel normalisation of images decoded from a folder. */
    normalize?: { mean: number[]; std: number[] };
  }
  | { kind: 'annotate'; code: string; source?: string; target?: string; report?: string; json: boolean };

function parse(argv: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}

function number(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < 0) throw new UsageError(`${flag} needs a non-negative number, got '${v}'`);
  return x;
}

export function parseCommand(argv: string[]): Command {
  if (argv.length === 0) throw new UsageError('missing command');
  const [cmd, ...rest] = argv;
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') return { kind: 'help' };
  if (cmd === '--version' || cmd === '-v') return { kind: 'version' };
  if (rest.includes('--help') || rest.includes('-h')) return { kind: 'help' };
  if (cmd === 'inspect') {
    const { values, positionals } = parse(rest, { stats: { type: 'boolean' }, json: { type: 'boolean' }, 'time-limit': { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError(positionals.length ? `inspect takes one FILE, got ${positionals.length}` : 'inspect needs a FILE');
    return { kind: 'inspect', file: positionals[0], stats: !!values.stats, json: !!values.json, timeLimitSeconds: timeLimit(values['time-limit'] as string | undefined) };
  }
  if (cmd === 'experiment') {
    const { values, positionals } = parse(rest, {
      json: { type: 'boolean' }, model: { type: 'string' }, data: { type: 'string' }, python: { type: 'string' },
      metric: { type: 'string' }, device: { type: 'string' }, tolerance: { type: 'string' }, mean: { type: 'string' }, std: { type: 'string' }, ...THRESHOLD_FLAGS,
    });
    if (positionals.length !== 2) throw new UsageError(positionals.length < 2 ? 'experiment needs SOURCE and TARGET' : `experiment takes SOURCE and TARGET, got ${positionals.length} paths`);
    const isFactory = (v: unknown): v is string => typeof v === 'string' && /^.+\.py:[A-Za-z_][\w.]*$/.test(v);
    const factory = (flag: string, v: unknown): string => {
      if (!isFactory(v)) throw new UsageError(`--${flag} needs FILE.py:CALLABLE, got ${v === undefined ? 'nothing' : `'${v}'`}`);
      return v;
    };
    const metric = (values.metric as string | undefined) ?? 'auto';
    if (metric !== 'auto' && metric !== 'accuracy' && metric !== 'loss') throw new UsageError(`--metric must be accuracy or loss, got '${metric}'`);
    const device = (values.device as string | undefined) ?? 'auto';
    if (device !== 'auto' && device !== 'cpu' && device !== 'cuda') throw new UsageError(`--device must be cpu or cuda, got '${device}'`);
    const normalize = imageNormalization(values.mean as string | undefined, values.std as string | undefined);
    if (normalize && (values.model !== undefined || isFactory(values.data))) throw new UsageError('--mean/--std normalise images of a folder given as --data for a TF.js, Keras or ONNX model; with --model your data factory normalises');
    return {
      kind: 'experiment', source: positionals[0], target: positionals[1], normalize,
      // Without --model the target file holds the architecture, and --data names an .npz or an image folder.
      model: values.model === undefined && !isFactory(values.data) ? undefined : factory('model', values.model),
      data: values.model === undefined && !isFactory(values.data) ? dataPath(values.data) : factory('data', values.data),
      python: (values.python as string | undefined) || 'python3', metric, device,
      tolerance: number('--tolerance', values.tolerance as string | undefined, DEFAULT_TOLERANCE),
      json: !!values.json, options: thresholdOptions(values),
    };
  }
  if (cmd === 'compare') {
    const { values, positionals } = parse(rest, {
      json: { type: 'boolean' }, md: { type: 'boolean' }, csv: { type: 'boolean' }, plan: { type: 'string' },
      metric: { type: 'string' }, ...THRESHOLD_FLAGS, 'time-limit': { type: 'string' },
    });
    if (positionals.length !== 2) throw new UsageError(positionals.length < 2 ? 'compare needs SOURCE and TARGET' : `compare takes SOURCE and TARGET, got ${positionals.length} paths`);
    const outputs: OutputKind[] = [];
    if (values.json) outputs.push('json');
    if (values.md) outputs.push('md');
    if (values.csv) outputs.push('csv');
    if (values.plan !== undefined) {
      const p = values.plan as string;
      if (p !== 'pytorch' && p !== 'keras' && p !== 'json') throw new UsageError(`--plan must be pytorch, keras or json, got '${p}'`);
      outputs.push(`plan-${p}`);
    }
    if (outputs.length > 1) throw new UsageError('choose one of --json, --md, --csv, --plan');
    const metric = (values.metric as string | undefined) ?? DEFAULT_OPTIONS.metric;
    if (metric !== 'relRmse' && metric !== 'rmse') throw new UsageError(`--metric must be relRmse or rmse, got '${metric}'`);
    return {
      kind: 'compare', source: positionals[0], target: positionals[1], output: outputs[0] ?? 'table', options: { ...thresholdOptions(values), metric },
      timeLimitSeconds: timeLimit(values['time-limit'] as string | undefined),
    };
  }
  if (cmd === 'annotate') {
    const { values, positionals } = parse(rest, { json: { type: 'boolean' }, report: { type: 'string' } });
    const report = values.report as string | undefined;
    const [code, ...pair] = positionals;
    if (!code) throw new UsageError('annotate needs CODE.py');
    if (report !== undefined ? pair.length !== 0 : pair.length !== 2) {
      throw new UsageError(report !== undefined ? 'annotate takes CODE.py and --report REPORT.json, not checkpoints too' : 'annotate needs CODE.py and SOURCE TARGET (or --report REPORT.json)');
    }
    return { kind: 'annotate', code, source: pair[0], target: pair[1], report, json: !!values.json };
  }
  throw new UsageError(`unknown command '${cmd}'`);
}

/** --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225: both or neither; one value or one per channel. */
function imageNormalization(mean: string | undefined, std: string | undefined): { mean: number[]; std: number[] } | undefined {
  if (mean === undefined && std === undefined) return undefined;
  const list = (flag: string, v: string | undefined, fallback: number): number[] => {
    if (v === undefined) return [fallback];
    const xs = v.split(',').map((p) => Number(p.trim()));
    if (!v.trim() || xs.some((x) => !Number.isFinite(x))) throw new UsageError(`${flag} needs comma-separated numbers (one per channel, or one for all), got '${v}'`);
    return xs;
  };
  const out = { mean: list('--mean', mean, 0), std: list('--std', std, 1) };
  if (out.std.some((s) => !(s > 0))) throw new UsageError(`--std needs positive numbers, got '${std}'`);
  return out;
}

function dataPath(v: unknown): string {
  if (typeof v !== 'string' || !v) throw new UsageError('--data needs an evaluation set: an .npz with x and y, or a folder of images in class subfolders (or, with --model, FILE.py:CALLABLE)');
  return v;
}

/** --time-limit SECONDS: none by default (a script on a slow disk may legitimately take hours; Ctrl-C stops it). */
function timeLimit(v: string | undefined): number {
  return number('--time-limit', v, 0);
}

/** The verdict flags compare and experiment share (experiment's reuse set comes from the verdicts). */
const THRESHOLD_FLAGS = {
  'reuse-below': { type: 'string' }, 'fine-tune-below': { type: 'string' },
  prefix: { type: 'string', multiple: true }, 'no-default-prefixes': { type: 'boolean' },
} as const;

function thresholdOptions(values: Record<string, unknown>): AnalyzeOptions {
  const metric = DEFAULT_OPTIONS.metric;
  const reuseBelow = number('--reuse-below', values['reuse-below'] as string | undefined, DEFAULT_OPTIONS.reuseBelow);
  const fineTuneBelow = number('--fine-tune-below', values['fine-tune-below'] as string | undefined, Math.max(DEFAULT_OPTIONS.fineTuneBelow, reuseBelow));
  if (fineTuneBelow < reuseBelow) throw new UsageError(`--fine-tune-below (${fineTuneBelow}) must not be below --reuse-below (${reuseBelow})`);
  const prefixes = (values.prefix as string[] | undefined) ?? [];
  const prefixRules = [...(values['no-default-prefixes'] ? [] : DEFAULT_OPTIONS.prefixRules), ...prefixes];
  return { metric, reuseBelow, fineTuneBelow, prefixRules };
}
