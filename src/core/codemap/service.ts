// What the worker and the CLI load of the code mapper, on its first use: the Python parser
// (web-tree-sitter) and the interpreter. A bundle of its own (dist/codemap.js, esbuild.mjs), so a
// worker or CLI run that maps no Python never loads it.
export { codeMapOf } from './mapFile';
export { DocumentTrees } from './pythonParser';
