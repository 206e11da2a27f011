// `npm run fuzz`: mutates every committed fixture and feeds the mutants to the readers through
// the worker's entry points; see runner.ts. Usage:
//   node --import tsx test/fuzz/fuzz.ts [--seed N] [--count N] [--seconds N] [--timeout-ms N]
//     [--jobs N] [--filter REGEX] [--no-save] [--only INDEX]
// Deterministic for a given seed and fixture set: input i of seed s is always the same bytes.
import { formatSummary, runFuzz, DEFAULTS, FuzzOptions } from './runner';

function parse(argv: string[]): Partial<FuzzOptions> & { only?: number } {
  const o: Partial<FuzzOptions> & { only?: number } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    const num = () => { const n = Number(v()); if (!Number.isFinite(n) || n < 0) throw new Error(`${a} needs a number`); return n; };
    if (a === '--seed') o.seed = num();
    else if (a === '--count') o.count = num();
    else if (a === '--seconds') o.seconds = num();
    else if (a === '--timeout-ms') o.timeoutMs = num();
    else if (a === '--jobs') o.jobs = Math.max(1, num());
    else if (a === '--filter') o.filter = new RegExp(v());
    else if (a === '--no-save') o.save = false;
    else if (a === '--only') o.only = num();
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  if (o.only !== undefined) {
    // Re-run one input: same seed, same index, same bytes.
    const { loadCorpus } = await import('./corpus');
    const { makeInput } = await import('./runner');
    const input = makeInput(loadCorpus(o.filter), o.seed ?? DEFAULTS.seed, o.only);
    console.log(`input ${o.only}: ${input.unit.fixture}: ${input.steps.join('; ')}`);
    o.start = o.only; o.count = 1;
  }
  if (o.seconds === undefined && o.count === undefined) o.seconds = DEFAULTS.seconds;
  if (o.seconds === undefined) o.seconds = Infinity;
  const s = await runFuzz(o);
  console.log(formatSummary(s));
  process.exitCode = s.findings.length ? 1 : 0;
}

main().catch((e) => { console.error(e); process.exitCode = 2; });
