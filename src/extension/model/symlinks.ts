// Whether a checkpoint reached through a symbolic link may be read. A link from the workspace
// to elsewhere (a shared drive, another user's home) is followed only when the user says so
// (reuseLens.followSymlinks). The file's real path is compared with the workspace roots' real
// paths: a workspace opened through a link (/home -> /data/home), or a Windows drive letter
// whose case differs between VS Code (c:\) and realpath (C:\), is not "outside".
import * as path from 'node:path';
import { realpath } from 'node:fs/promises';

/** The real paths of the workspace roots, and the roots as given (either may be what a file's realpath starts with). */
export async function realRoots(roots: string[]): Promise<string[]> {
  const real = await Promise.all(roots.map((r) => realpath(r).catch(() => r)));
  return [...new Set([...roots, ...real])];
}

export function symlinkProblem(file: string, realPath: string, roots: string[], follow: boolean, platform: NodeJS.Platform = process.platform): string | undefined {
  if (follow) return undefined;
  const p = platform === 'win32' ? path.win32 : path.posix;
  const fold = (s: string) => (platform === 'win32' ? s.toLowerCase() : s);
  if (fold(realPath) === fold(file)) return undefined;
  const inside = roots.some((r) => {
    const rel = p.relative(fold(r), fold(realPath));
    return rel === '' || (!rel.startsWith('..') && !p.isAbsolute(rel));
  });
  if (inside) return undefined;
  return `is a link to ${realPath}, outside the workspace; set reuseLens.followSymlinks to read it`;
}
