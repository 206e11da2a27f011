// Whether a checkpoint reached through a symbolic link may be read. A link from the workspace
// to elsewhere (a shared drive, another user's home) is followed only when the user says so
// (reuseLens.followSymlinks). Pure: the caller resolves the real path.
import * as path from 'node:path';

export function symlinkProblem(file: string, realPath: string, roots: string[], follow: boolean): string | undefined {
  if (follow || realPath === file) return undefined;
  const inside = roots.some((r) => realPath === r || realPath.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
  if (inside) return undefined;
  return `is a link to ${realPath}, outside the workspace; set reuseLens.followSymlinks to read it`;
}
