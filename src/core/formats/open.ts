// Opens a checkpoint given a path: a file, or (issue 3) a folder that holds one model.
import { Checkpoint } from '../types';
import { openCheckpointFile } from './index';
import './all';

export async function openCheckpoint(path: string): Promise<Checkpoint> {
  return openCheckpointFile(path);
}
