// `reuse-lens`: the command line over the same engine as the extension.
// Exit 0 on success, 1 on bad input (one line on stderr naming the file), 2 on wrong usage.
import { analyzePaths, inspectPath, Progress } from '../core/analysis/engine';
import { isFolder, listCheckpointsInFolder } from '../core/formats/open';
import { CheckpointError } from '../core/common/errors';
import { LimitError, withLimits } from '../core/common/limits';
import { planJson, planKeras, planPytorch, toCsv, toMarkdown } from '../core/shared/exports';
import { parseCommand } from './args';
import { formatInspect, formatReport } from './format';
import { USAGE, UsageError } from './usage';
import { toJsonText } from './jsonText';
import { JsonReportWriter } from './reportWriter';
import { runExperiment } from '../core/experiments/experiment';
import { runFileExperimentInThread } from '../core/experiments/fileExperimentClient';
import type { ExperimentProgress } from '../core/experiments/types';
import { ExperimentError } from '../core/experiments/driver';
import { formatExperiment } from './formatExperiment';
import { formatAnnotations, runAnnotate } from './annotate';
import { version } from '../../package.json';

async function run(argv: string[]): Promise<number> {
  let cmd;
  try {
    cmd = parseCommand(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`reuse-lens: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  const out = (s: string) => new Promise<void>((resolve) => { process.stdout.write(s, () => resolve()); });
  // A streamed report's pieces are encoded into one buffer, reused once stdout has taken the
  // last: written as strings, each piece became a fresh buffer outside the heap, freed only by
  // a garbage collection (~60 MB of them at a time for a 100,000-layer report). A piece larger
  // than the buffer (a layer with a 256×256 grid) goes as a string.
  const scratch = Buffer.allocUnsafe(1 << 20);
  const writePiece = (piece: string): Promise<void> => {
    const whole = piece.length * 3 <= scratch.length || Buffer.byteLength(piece) <= scratch.length;
    const data = whole ? scratch.subarray(0, scratch.write(piece)) : piece;
    // A failed write (the reader went away) is stdout's 'error' event's business, below.
    return new Promise((resolve) => { process.stdout.write(data, () => resolve()); });
  };
  switch (cmd.kind) {
    case 'help': await out(USAGE + '\n'); return 0;
    case 'version': await out(`${version}\n`); return 0;
    case 'inspect': {
      // A folder of several checkpoints is listed (so the user can name one); a folder that is
      // one model (TF.js, sharded safetensors) is inspected like a file.
      if (await isFolder(cmd.file)) {
        const list = await listCheckpointsInFolder(cmd.file);
        if (list.length !== 1) {
          const json = { schema: 'reuse-lens/folder@1', path: cmd.file, checkpoints: list.map((e) => ({ name: e.name, path: e.path })) };
          await out(cmd.json ? toJsonText(json) + '\n'
            : `${cmd.file}: folder holds ${list.length} checkpoint${list.length === 1 ? '' : 's'}\n` + list.map((e) => `  ${e.name}\n`).join(''));
          return 0;
        }
      }
      const r = await withLimits({ timeLimitSeconds: cmd.timeLimitSeconds, timeLimitSource: '--time-limit' }, () => inspectPath(cmd.file, { stats: cmd.stats }));
      await out(cmd.json ? toJsonText(r) + '\n' : formatInspect(r));
      return 0;
    }
    case 'compare': {
      const interactive = cmd.output === 'table' && process.stderr.isTTY;
      // One status line, rewritten in place (it had a newline, so a long compare scrolled ten lines a second).
      const onProgress = interactive ? (p: Progress) => process.stderr.write(`\r${`${p.total ? Math.floor((100 * p.done) / p.total) : 100}% ${p.message}`.slice(0, 79).padEnd(79)}`) : undefined;
      const limits = { timeLimitSeconds: cmd.timeLimitSeconds, timeLimitSource: '--time-limit' };
      if (cmd.output === 'json') {
        // A 100,000-layer report is 90 MB of JSON: each layer is written out as it is judged.
        const writer = new JsonReportWriter(writePiece);
        await writer.end(await withLimits(limits, () => analyzePaths(cmd.source, cmd.target, cmd.options, {}, writer)));
        return 0;
      }
      const r = await withLimits(limits, () => analyzePaths(cmd.source, cmd.target, cmd.options, { onProgress }));
      if (interactive) process.stderr.write('\r' + ' '.repeat(79) + '\r');
      const text = {
        table: formatReport, md: toMarkdown, csv: toCsv,
        'plan-pytorch': planPytorch, 'plan-keras': planKeras, 'plan-json': planJson,
      }[cmd.output](r);
      await out(text);
      return 0;
    }
    case 'experiment': {
      const report = await analyzePaths(cmd.source, cmd.target, cmd.options, {});
      const interactive = process.stderr.isTTY;
      const onProgress = interactive ? (p: ExperimentProgress) => {
        const eta = p.etaSeconds !== undefined ? `, ${Math.ceil(p.etaSeconds)} s left` : '';
        process.stderr.write(`\r${p.done}/${p.total} ${p.label}${eta}`.slice(0, 79).padEnd(79));
      } : undefined;
      const result = cmd.model
        ? await runExperiment(report, {
          python: cmd.python, cwd: process.cwd(), model: cmd.model, data: cmd.data,
          metric: cmd.metric, device: cmd.device, tolerance: cmd.tolerance, onProgress,
        })
        : await runFileExperimentInThread(report, { data: cmd.data, metric: cmd.metric, tolerance: cmd.tolerance, normalize: cmd.normalize, onProgress });
      if (interactive) process.stderr.write('\r' + ' '.repeat(79) + '\r');
      await out(cmd.json ? toJsonText(result) + '\n' : formatExperiment(report, result));
      return 0;
    }
    case 'annotate': {
      const { json } = await runAnnotate(cmd);
      await out(cmd.json ? toJsonText(json) + '\n' : formatAnnotations(json));
      return 0;
    }
  }
}

// `reuse-lens inspect big.pt | head`: the reader went away, which is not an error of ours.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

run(process.argv.slice(2)).then(
  // Output is flushed (run awaits the write): exit now rather than wait for idle pair threads
  // (pairThreads.ts) to be torn down one by one, which took a noticeable ~10 ms.
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof CheckpointError || e instanceof ExperimentError || e instanceof LimitError) {
      process.stderr.write(`reuse-lens: ${e.message.split('\n')[0]}\n`);
    } else {
      // Not the user's input: a bug in Reuse Lens. One line unless asked for the stack.
      const err = e as Error;
      process.stderr.write(`reuse-lens: internal error: ${err?.message ?? String(e)}\n`);
      if (process.env.REUSE_LENS_DEBUG) process.stderr.write(`${err?.stack}\n`);
    }
    process.exitCode = 1;
  },
);
