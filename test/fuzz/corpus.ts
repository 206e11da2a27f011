// The fuzz corpus: every committed fixture, with the files it needs beside it. A shard of a
// sharded checkpoint or TF.js model is only read through its index, so mutating it means
// copying its folder and opening the index; a file that stands alone is opened by itself.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';

export interface CorpusUnit {
  /** Path of the fixture that gets mutated, relative to the fixtures folder. */
  fixture: string;
  /** Name of the fixtures subfolder it came from (safetensors, pytorch, ...): names findings. */
  family: string;
  /** Folder whose files are copied with it (relative to the fixtures folder), or '' for a lone file. */
  groupRoot: string;
  /** Files of the group, relative to groupRoot (all of them, the mutated one included). */
  groupFiles: string[];
  /** What to open, relative to the copy's root ('.' = the folder itself). */
  targets: string[];
  original: Uint8Array;
}

export const FIXTURES = join(__dirname, '..', 'fixtures');
export const FUZZ_FOUND = join(FIXTURES, 'hostile', 'fuzz-found');

/** Not checkpoints and not read by any reader: expectations, generators, the sample report. */
function skipped(rel: string): boolean {
  const name = basename(rel);
  return /expected.*\.json$/i.test(name) || /\.(py|sh|ts|mjs|js|md|txt|note\.json)$/i.test(name) || name === 'canary.json'
    || rel.startsWith(`report${sep}`) || rel.startsWith(`hostile${sep}fuzz-found`);
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out); else out.push(p);
  }
  return out;
}

function filesUnder(root: string): string[] {
  return walk(root).map((p) => relative(root, p));
}

export function loadCorpus(filter?: RegExp): CorpusUnit[] {
  const units: CorpusUnit[] = [];
  for (const abs of walk(FIXTURES)) {
    const rel = relative(FIXTURES, abs);
    if (skipped(rel) || (filter && !filter.test(rel))) continue;
    const family = rel.split(sep)[0];
    const dir = dirname(abs);
    const siblings = readdirSync(dir);
    let groupRoot = '', groupFiles = [basename(abs)], targets = [basename(abs)];
    const parts = rel.split(sep);
    if (parts[0] === 'folders' && parts.length > 2) {
      groupRoot = join(parts[0], parts[1]);
      groupFiles = filesUnder(join(FIXTURES, groupRoot));
      targets = [relative(join(FIXTURES, groupRoot), abs), '.'];
    } else if (siblings.includes('model.json') || siblings.some((s) => s.endsWith('.safetensors.index.json'))) {
      groupRoot = relative(FIXTURES, dir);
      groupFiles = siblings.filter((s) => statSync(join(dir, s)).isFile());
      const index = siblings.find((s) => s === 'model.json' || s.endsWith('.safetensors.index.json'))!;
      targets = [...new Set([basename(abs), index])];
    } else if (/\.onnx(\.data)?$/.test(abs) && (siblings.includes(basename(abs) + '.data') || abs.endsWith('.onnx.data'))) {
      const model = basename(abs).replace(/\.data$/, '');
      groupRoot = relative(FIXTURES, dir);
      groupFiles = [model, model + '.data'];
      targets = [model];
    }
    units.push({ fixture: rel, family, groupRoot, groupFiles, targets, original: new Uint8Array(readFileSync(abs)) });
  }
  return units;
}

/** The mutated file's path inside the group (or its name when alone). */
export function mutatedName(u: CorpusUnit): string {
  return u.groupRoot ? relative(u.groupRoot, u.fixture) : basename(u.fixture);
}
