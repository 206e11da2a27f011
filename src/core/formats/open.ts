// Opens a checkpoint given a path: a file, or a folder that holds one model (see folder.ts).
import { Checkpoint } from '../common/types';
import { openCheckpointFile } from './index';
import { isFolder, openFolder } from './folder';
import './all';

export { listCheckpointsInFolder, isFolder } from './folder';
export type { FolderEntry } from './folder';

export async function openCheckpoint(path: string): Promise<Checkpoint> {
  if (await isFolder(path)) return openFolder(path);
  return openCheckpointFile(path);
}
