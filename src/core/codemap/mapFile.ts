// Python text -> code map: parse (incrementally, when a document's trees are kept) and resolve.
import { buildCodeMap, type CodeMap } from './codeMap';
import { DocumentTrees, parsePython } from './pythonParser';

/**
 * The code map of a Python file. With `docs` and `key` the tree is kept and the next version
 * of the same document is parsed incrementally (the worker); without, parsed once (the CLI).
 */
export async function codeMapOf(text: string, docs?: { trees: DocumentTrees; key: string }): Promise<CodeMap> {
  if (docs) return buildCodeMap(await docs.trees.tree(docs.key, text), text);
  const tree = await parsePython(text);
  try {
    return buildCodeMap(tree, text);
  } finally {
    tree.delete();
  }
}
