// Python text -> code map: parse (incrementally, when a document's trees are kept) and resolve.
import { buildCodeMap, type CodeMap } from './codeMap';
import { DocumentTrees, parsePython } from './pythonParser';

/**
 * The code map of a Python file. With `docs` and `key` the tree is kept and the next version
 * of the same document is parsed incrementally (the worker); without, parsed once (the CLI).
 * `tokens` (nameTokens of the analyses' layer names) leave out code that builds none of them.
 */
export async function codeMapOf(text: string, docs?: { trees: DocumentTrees; key: string }, tokens?: readonly string[]): Promise<CodeMap> {
  if (docs) return buildCodeMap(await docs.trees.tree(docs.key, text), text, tokens);
  const tree = await parsePython(text);
  try {
    return buildCodeMap(tree, text, tokens);
  } finally {
    tree.delete();
  }
}
