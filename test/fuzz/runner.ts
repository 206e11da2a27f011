// Runs fuzz inputs through child processes: generates each mutant from (seed, index), writes it
// (with the files it needs) to a fresh temp folder, sends it to a child, and judges the answer.
// A child that hangs, dies, or grows past the memory limit is killed and replaced, and the
// input is a finding. Findings are saved under test/fixtures/hostile/fuzz-found/.
import { fork, ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { CorpusUnit, FIXTURES, FUZZ_FOUND, loadCorpus, mutatedName } from './corpus';
import { mutate } from './mutate';
import { Rng } from './rng';
import type { ChildMessage, ChildReply } from './child';

export interface FuzzOptions {
  seed: number;
  /** Stop after this many inputs... */
  count: number;
  /** ...or after this many seconds, whichever comes first. */
  seconds: number;
  /** Time one input may take before it counts as a hang (confirmed by a rerun with 5x the time). */
  timeoutMs: number;
  jobs: number;
  /** Save findings to test/fixtures/hostile/fuzz-found. */
  save: boolean;
  /** First input index (to re-run one input: start N, count 1). */
  start?: number;
  /** Only fixtures whose path (relative to test/fixtures) matches. */
  filter?: RegExp;
  /** Heap limit of each child (MB). */
  heapMb: number;
  /** Resident memory at which a child is killed (MB). */
  rssLimitMb: number;
  log: (line: string) => void;
}

export const DEFAULTS: FuzzOptions = {
  seed: 1, count: Infinity, seconds: 60, timeoutMs: 2000, jobs: 1, save: true, heapMb: 512, rssLimitMb: 1536, log: (l) => console.log(l),
};

export interface Finding {
  kind: 'exception' | 'uncaught' | 'hang' | 'crash' | 'memory' | 'allocation' | 'fd-leak';
  index: number;
  fixture: string;
  steps: string[];
  target?: string;
  detail: string;
  stack?: string;
  signature: string;
  saved?: string;
}

export interface FuzzSummary {
  inputs: number; results: number; errors: number; slow: number;
  findings: Finding[];
  seconds: number; perSecond: number;
  families: Record<string, number>;
}

interface Input { index: number; unit: CorpusUnit; bytes: Uint8Array; steps: string[] }

/** Bytes an input may allocate beyond the process's baseline: decoding to float64, inflating, and headroom. */
function allocationBudget(inputBytes: number): number {
  return 96 * 1024 * 1024 + 64 * inputBytes;
}

export function makeInput(units: CorpusUnit[], seed: number, index: number): Input {
  const unit = units[index % units.length];
  const r = Rng.forInput(seed, index);
  const m = mutate(unit.original, r);
  return { index, unit, bytes: m.bytes, steps: m.steps };
}

/** Writes the input (and its group) under `dir`; returns the absolute targets. */
function materialise(input: Input, dir: string): string[] {
  const u = input.unit;
  if (u.groupRoot) {
    for (const f of u.groupFiles) {
      const to = join(dir, f);
      mkdirSync(dirname(to), { recursive: true });
      cpSync(join(FIXTURES, u.groupRoot, f), to);
    }
  }
  writeFileSync(join(dir, mutatedName(u)), input.bytes);
  return u.targets.map((t) => join(dir, t));
}

export class Child {
  proc!: ChildProcess;
  ready!: Promise<void>;
  stderr = '';
  private listener?: (m: ChildMessage) => void;
  exited = false;
  onExit?: () => void;

  constructor(private readonly heapMb: number, private readonly warmup: string[]) { this.start(); }

  private start(): void {
    this.exited = false;
    this.stderr = '';
    const proc = fork(join(__dirname, 'child.ts'), this.warmup, {
      execArgv: ['--import', 'tsx', `--max-old-space-size=${this.heapMb}`],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.proc = proc;
    this.proc.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000); });
    // Only this child's exit counts: a killed predecessor exiting after a restart must not mark
    // its successor exited (kill() would then skip it, and the parent never ends).
    this.proc.on('exit', () => { if (this.proc === proc) { this.exited = true; this.onExit?.(); } });
    this.proc.on('message', (m: ChildMessage) => this.listener?.(m));
    this.ready = new Promise((resolve, reject) => {
      this.listener = (m) => { if (m.type === 'ready') resolve(); };
      this.proc.once('exit', () => reject(new Error(`fuzz child failed to start: ${this.stderr}`)));
    });
    // A child killed before it was ready is not an error by itself; run() reports it.
    this.ready.catch(() => undefined);
  }

  restart(): void { this.kill(); this.start(); }

  kill(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }

  rssMb(): number {
    try { return Number(readFileSync(`/proc/${this.proc.pid}/statm`, 'utf8').split(' ')[1]) * 4096 / 1048576; } catch { return 0; }
  }

  /** Runs one input; resolves with the reply, or with why there is none. */
  async run(id: number, targets: string[], timeoutMs: number, rssLimitMb: number): Promise<
    { type: 'reply'; reply: ChildReply } | { type: 'uncaught'; name: string; message: string; stack: string } | { type: 'timeout' } | { type: 'crash'; stderr: string } | { type: 'memory'; rssMb: number }> {
    // A child that never gets ready (its warm-up hangs, e.g. a reader that hangs on a good file) is a crash, not a wait forever.
    let startTimer: NodeJS.Timeout | undefined;
    const started = await Promise.race([
      this.ready.then(() => true, () => false),
      new Promise<boolean>((r) => { startTimer = setTimeout(() => r(false), Math.max(60_000, timeoutMs)); }),
    ]);
    clearTimeout(startTimer);
    if (!started) { this.kill(); return { type: 'crash', stderr: `fuzz child did not start: ${this.stderr}` }; }
    return new Promise((resolve) => {
      let settled = false;
      const finish = (v: Parameters<typeof resolve>[0]) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer); clearInterval(watch);
        this.listener = undefined; this.onExit = undefined;
        resolve(v);
      };
      const timer = setTimeout(() => finish({ type: 'timeout' }), timeoutMs);
      const watch = setInterval(() => {
        const rss = this.rssMb();
        if (rss > rssLimitMb) { this.kill(); finish({ type: 'memory', rssMb: rss }); }
      }, 50);
      this.listener = (m) => {
        if (m.type === 'done' && m.reply.id === id) finish({ type: 'reply', reply: m.reply });
        else if (m.type === 'uncaught') finish({ type: 'uncaught', name: m.name, message: m.message, stack: m.stack });
      };
      this.onExit = () => setTimeout(() => finish({ type: 'crash', stderr: this.stderr }), 20);
      this.proc.send({ id, targets });
    });
  }
}

/** First frame of a stack in our code or a library: what makes two findings the same bug. */
function topFrame(stack = ''): string {
  const line = stack.split('\n').find((l) => /\/(src|node_modules)\//.test(l)) ?? '';
  return line.replace(/^.*\/((src|node_modules)\/[^:)]+).*$/, '$1');
}

function signature(kind: string, name: string, message: string, stack?: string): string {
  return `${kind}|${name}|${message.replace(/\d+/g, 'N').replace(/\/[^\s:]+/g, 'P').slice(0, 80)}|${topFrame(stack)}`;
}

function knownSignatures(): Set<string> {
  const out = new Set<string>();
  if (!existsSync(FUZZ_FOUND)) return out;
  for (const f of readdirSync(FUZZ_FOUND)) {
    if (!f.endsWith('.note.json')) continue;
    try { out.add(JSON.parse(readFileSync(join(FUZZ_FOUND, f), 'utf8')).signature); } catch { /* a hand-edited note */ }
  }
  return out;
}

/** Saves a finding's input as a regression fixture: a lone file, or its group's folder. */
function saveFinding(input: Input, f: Finding, seed: number): string {
  mkdirSync(FUZZ_FOUND, { recursive: true });
  const hash = createHash('sha256').update(input.bytes).digest('hex').slice(0, 10);
  const u = input.unit;
  const name = mutatedName(u);
  const ext = basename(name).match(/(\.[a-z0-9]+)+$/i)?.[0] ?? '.bin';
  const base = `${u.family}-${hash}`;
  let saved: string, targets: string[];
  if (u.groupRoot) {
    saved = base;
    materialise(input, join(FUZZ_FOUND, base));
    targets = u.targets.map((t) => join(base, t));
  } else {
    saved = base + ext;
    writeFileSync(join(FUZZ_FOUND, saved), input.bytes);
    targets = [saved];
  }
  const note = {
    found: `fuzz seed ${seed}, input ${input.index}`, from: u.fixture, mutations: input.steps, targets,
    kind: f.kind, detail: f.detail, stack: f.stack?.split('\n').slice(0, 12).join('\n'), signature: f.signature,
  };
  writeFileSync(join(FUZZ_FOUND, `${base}.note.json`), JSON.stringify(note, null, 2) + '\n');
  return saved;
}

export async function runFuzz(opts: Partial<FuzzOptions> = {}): Promise<FuzzSummary> {
  const o: FuzzOptions = { ...DEFAULTS, ...opts };
  const units = loadCorpus(o.filter);
  if (!units.length) throw new Error('no fixtures to fuzz');
  const work = mkdtempSync(join(tmpdir(), 'reuse-lens-fuzz-'));
  const warmup = [join(FIXTURES, 'safetensors', 'conv_bn_linear.safetensors'), join(FIXTURES, 'keras', 'cnn_weights.h5')].filter(existsSync);
  const children = Array.from({ length: o.jobs }, () => new Child(o.heapMb, warmup));
  const known = o.save ? knownSignatures() : new Set<string>();
  const seen = new Set<string>();
  const summary: FuzzSummary = { inputs: 0, results: 0, errors: 0, slow: 0, findings: [], seconds: 0, perSecond: 0, families: {} };
  const t0 = Date.now();
  const first = o.start ?? 0;
  let next = first;
  const stop = () => next >= first + o.count || (Date.now() - t0) / 1000 >= o.seconds;

  const record = (input: Input, f: Omit<Finding, 'index' | 'fixture' | 'steps' | 'signature'> & { name?: string }) => {
    const finding: Finding = { ...f, index: input.index, fixture: input.unit.fixture, steps: input.steps, signature: signature(f.kind, f.name ?? '', f.detail, f.stack) };
    delete (finding as { name?: string }).name;
    const before = seen.size;
    if (o.save && !seen.has(finding.signature) && !known.has(finding.signature)) finding.saved = saveFinding(input, finding, o.seed);
    seen.add(finding.signature);
    summary.findings.push(finding);
    // The same bug found again: one line, not the whole story.
    if (seen.size === before) { o.log(`finding ${finding.kind} again at input ${input.index} (${input.unit.fixture})`); return; }
    o.log(`FINDING ${finding.kind} at input ${input.index} (${input.unit.fixture}: ${input.steps.join('; ')})${finding.target ? ` opening ${basename(finding.target)}` : ''}\n  ${finding.detail}`
      + (finding.stack ? `\n  ${finding.stack.split('\n').slice(1, 5).map((l) => l.trim()).join('\n  ')}` : '')
      + (finding.saved ? `\n  saved as test/fixtures/hostile/fuzz-found/${finding.saved}` : ''));
  };

  const runOne = async (child: Child, input: Input, slot: string): Promise<void> => {
    const dir = join(slot, String(input.index));
    mkdirSync(dir, { recursive: true });
    const targets = materialise(input, dir);
    const inputBytes = input.bytes.byteLength + input.unit.groupFiles.length * 4096;
    let r = await child.run(input.index, targets, o.timeoutMs, o.rssLimitMb);
    if (r.type === 'timeout') {
      // A loaded machine can make a slow input look hung: rerun it alone with more time.
      child.restart();
      r = await child.run(input.index, targets, o.timeoutMs * 5, o.rssLimitMb);
      if (r.type === 'reply') { summary.slow++; o.log(`slow: input ${input.index} (${input.unit.fixture}: ${input.steps.join('; ')}) took ${r.reply.ms} ms`); }
    }
    summary.inputs++;
    summary.families[input.unit.family] = (summary.families[input.unit.family] ?? 0) + 1;
    if (r.type !== 'reply') {
      if (r.type === 'timeout') record(input, { kind: 'hang', detail: `no answer within ${o.timeoutMs * 5} ms` });
      else if (r.type === 'uncaught') record(input, { kind: 'uncaught', name: r.name, detail: `uncaught ${r.name}: ${r.message}`, stack: r.stack });
      else if (r.type === 'memory') record(input, { kind: 'memory', detail: `child grew to ${Math.round(r.rssMb)} MB resident` });
      else record(input, { kind: 'crash', detail: `child died: ${r.stderr.split('\n').filter(Boolean).slice(-3).join(' | ')}`, stack: r.stderr });
      child.restart();
    } else {
      const rep = r.reply;
      const bad = rep.outcomes.find((x) => x.outcome.kind === 'finding');
      if (bad && bad.outcome.kind === 'finding') {
        record(input, { kind: 'exception', name: bad.outcome.name, target: bad.target, detail: `${bad.outcome.name}: ${bad.outcome.message}`, stack: bad.outcome.stack });
      } else if (rep.peakArrayBuffers > allocationBudget(inputBytes)) {
        record(input, { kind: 'allocation', detail: `allocated ${Math.round(rep.peakArrayBuffers / 1048576)} MB of buffers for a ${inputBytes}-byte input` });
      } else if (rep.leakedFds > 0) {
        record(input, { kind: 'fd-leak', detail: `${rep.leakedFds} file descriptors left open` });
      } else if (rep.outcomes.some((x) => x.outcome.kind === 'result')) summary.results++;
      else summary.errors++;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  let lastLog = Date.now();
  try {
    await Promise.all(children.map(async (child, k) => {
      const slot = join(work, `slot${k}`);
      while (!stop()) {
        const input = makeInput(units, o.seed, next++);
        await runOne(child, input, slot);
        if (Date.now() - lastLog > 10_000) {
          lastLog = Date.now();
          o.log(`… ${summary.inputs} inputs, ${summary.findings.length} findings, ${(summary.inputs / ((Date.now() - t0) / 1000)).toFixed(1)}/s`);
        }
      }
    }));
  } finally {
    for (const c of children) c.kill();
    rmSync(work, { recursive: true, force: true });
  }
  summary.seconds = (Date.now() - t0) / 1000;
  summary.perSecond = summary.inputs / summary.seconds;
  return summary;
}

export function formatSummary(s: FuzzSummary): string {
  const kinds: Record<string, number> = {};
  for (const f of s.findings) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
  const distinct = new Set(s.findings.map((f) => f.signature)).size;
  return [
    `inputs: ${s.inputs} (${Object.entries(s.families).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    `results: ${s.results}`,
    `clean errors: ${s.errors}`,
    `findings: ${s.findings.length}${s.findings.length ? ` (${distinct} distinct; ${Object.entries(kinds).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`,
    `slow (over the time bound, finished on rerun): ${s.slow}`,
    `time: ${s.seconds.toFixed(1)} s, ${s.perSecond.toFixed(1)} inputs/s`,
  ].join('\n');
}

/**
 * Runs saved inputs (each a list of paths to open) in a child, with the same rules as the
 * fuzzer: the verdict is 'ok' (a result or a CheckpointError) or the finding's kind and detail.
 */
export async function runSaved(inputs: string[][], timeoutMs = 10_000, heapMb = DEFAULTS.heapMb): Promise<({ ok: true } | { ok: false; kind: Finding['kind']; detail: string })[]> {
  const child = new Child(heapMb, [join(FIXTURES, 'safetensors', 'conv_bn_linear.safetensors'), join(FIXTURES, 'keras', 'cnn_weights.h5')].filter(existsSync));
  const out: ({ ok: true } | { ok: false; kind: Finding['kind']; detail: string })[] = [];
  try {
    for (let i = 0; i < inputs.length; i++) {
      const targets = inputs[i];
      const bytes = targets.reduce((s, t) => { try { return s + readFileSync(t).byteLength; } catch { return s; } }, 0);
      // The time bound is per file opened: a folder input opens its member and the folder.
      const bound = timeoutMs * targets.length;
      const r = await child.run(i, targets, bound, DEFAULTS.rssLimitMb);
      if (r.type !== 'reply') {
        const detail = r.type === 'uncaught' ? `uncaught ${r.name}: ${r.message}` : r.type === 'crash' ? `child died: ${r.stderr.slice(-500)}` : r.type === 'memory' ? `grew to ${Math.round(r.rssMb)} MB` : `no answer within ${bound} ms`;
        out.push({ ok: false, kind: r.type === 'timeout' ? 'hang' : r.type, detail });
        child.restart();
        continue;
      }
      const bad = r.reply.outcomes.find((x) => x.outcome.kind === 'finding');
      if (bad && bad.outcome.kind === 'finding') out.push({ ok: false, kind: 'exception', detail: `${bad.outcome.name}: ${bad.outcome.message}\n${bad.outcome.stack}` });
      else if (r.reply.peakArrayBuffers > allocationBudget(bytes)) out.push({ ok: false, kind: 'allocation', detail: `allocated ${r.reply.peakArrayBuffers} bytes` });
      else if (r.reply.leakedFds > 0) out.push({ ok: false, kind: 'fd-leak', detail: `${r.reply.leakedFds} file descriptors left open` });
      else out.push({ ok: true });
    }
  } finally { child.kill(); }
  return out;
}
