// A pair thread that dies on the first range it is given (test/unit/pair-threads.test.ts):
// stands for a thread killed by memory limits or a runtime that cannot run ours.
import { parentPort } from 'node:worker_threads';

parentPort?.on('message', () => process.exit(3));
