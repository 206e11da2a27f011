// Tests of src/extension run outside VS Code: this makes `require('vscode')` return a stand-in
// object the test builds, so extension modules required after the call load against it.
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

export function installVscodeStandIn(standIn: unknown, name: string): void {
  const id = path.join(os.tmpdir(), `reuse-lens-vscode-stand-in-${name}.js`);
  const M = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const resolveFilename = M._resolveFilename;
  M._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === 'vscode' ? id : resolveFilename.call(this, request, ...rest);
  };
  require.cache[id] = { id, filename: id, loaded: true, exports: standIn } as unknown as NodeModule;
}
