import { openCheckpoint } from '../../src/core/formats/open';
(async () => { for (const p of process.argv.slice(2)) { try { const c = await openCheckpoint(p); console.log(p, c.format, c.tensors.length, c.warnings); } catch (e) { console.log((e as Error).name, (e as Error).message); } } })();
