// The HDF5 thread's entry (bundled as dist/hdf5-thread.js). All h5wasm work runs here, so that
// when the HDF5 library never returns on a damaged file, the caller (hdf5.ts, runInHdf5Thread)
// can terminate this thread. Answers are plain data; dataset bytes are transferred, not copied.
import { parentPort } from 'node:worker_threads';
import { CheckpointError } from '../common/errors';
import { hdf5FaultCount, Hdf5File, Hdf5ThreadMessage, Hdf5ThreadRequest, onHdf5Progress, preloadHdf5, readHdf5Dataset, readHdf5Slab } from './hdf5';
import { describeKerasHdf5, KerasDescribeContext } from './keras';
import { withFileWindow } from './hdf5Window';

const port = parentPort;
if (!port) throw new Error('hdf5Thread.ts runs only as a worker thread');
const post = (m: Hdf5ThreadMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

// Signs of life at most every 100 ms: the caller's hang deadline restarts at each.
let lastProgress = 0;
onHdf5Progress(() => {
  const now = Date.now();
  if (now - lastProgress >= 100) { lastProgress = now; post({ type: 'progress' }); }
});

port.on('message', async (req: Hdf5ThreadRequest & { id: number }) => {
  const faultsBefore = hdf5FaultCount();
  try {
    await withFileWindow(req.fsPath, req.within, async () => {
      if (req.op === 'keras') {
        const f = await Hdf5File.open(req.fsPath, req.displayPath);
        let result: unknown;
        try { result = describeKerasHdf5(f, req.ctx as KerasDescribeContext); } finally { f.close(); }
        post({ type: 'done', id: req.id, result, faulted: hdf5FaultCount() !== faultsBefore });
      } else if (req.op === 'slab' && req.into) {
        // Written into the caller's shared memory: the answer is how many bytes.
        const bytes = await readHdf5Slab(req.fsPath, req.dataset, req.start, req.count, req.displayPath, new Uint8Array(req.into));
        const shared = bytes.buffer === req.into;
        post({ type: 'done', id: req.id, result: shared ? bytes.byteLength : bytes, faulted: hdf5FaultCount() !== faultsBefore });
      } else {
        const bytes = req.op === 'slab' ? await readHdf5Slab(req.fsPath, req.dataset, req.start, req.count, req.displayPath) : await readHdf5Dataset(req.fsPath, req.dataset, req.displayPath);
        const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
        post({ type: 'done', id: req.id, result: own, faulted: hdf5FaultCount() !== faultsBefore }, [own.buffer as ArrayBuffer]);
      }
    });
  } catch (e) {
    const faulted = hdf5FaultCount() !== faultsBefore;
    if (e instanceof CheckpointError) post({ type: 'failed', id: req.id, checkpoint: true, file: e.file, problem: e.problem, faulted });
    else post({ type: 'failed', id: req.id, checkpoint: false, file: req.displayPath, problem: `${(e as Error)?.stack ?? e}`, faulted });
  }
});

void preloadHdf5().then(() => post({ type: 'ready' }), (e) => {
  // Without h5wasm this thread is useless: let the caller see why.
  throw e;
});
