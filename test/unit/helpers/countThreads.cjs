// Preloaded (NODE_OPTIONS=--require) into a shipped bundle under test: appends one line per
// worker thread the process starts ("start hdf5-thread.js") and per one that ends ("exit
// hdf5-thread.js") to the file REUSE_LENS_TEST_THREAD_LOG names. The bundles take `Worker` from
// node:worker_threads at each call, so they construct this subclass; nothing else changes.
const wt = require('node:worker_threads');
const { appendFileSync } = require('node:fs');
const { basename } = require('node:path');
const log = process.env.REUSE_LENS_TEST_THREAD_LOG;
if (log && wt.isMainThread) {
  const Base = wt.Worker;
  wt.Worker = class CountedWorker extends Base {
    constructor(file, opts) {
      super(file, opts);
      const name = opts && opts.eval ? '(eval)' : basename(String(file));
      appendFileSync(log, `start ${name}\n`);
      this.once('exit', () => appendFileSync(log, `exit ${name}\n`));
    }
  };
}
