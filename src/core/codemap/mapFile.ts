// Python text -> code map: parse (incrementally, when a document's trees are kept) and resolve.
import { buildCodeMap, loadAndNameOffsets, type CodeMap } from './codeMap';
import { DocumentTrees, parsePython } from './pythonParser';
import { neededRanges } from './relevance';

/**
 * The code map of a Python file. With `docs` and `key` the tree is kept and the next version
 * of the same document is parsed incrementally (the worker); without, parsed once (the CLI).
 * `tokens` (nameTokens of the analyses' layer names) leave out code that builds none of them:
 * it is neither parsed nor run.
 */
export async function codeMapOf(text: string, docs?: { trees: DocumentTrees; key: string }, tokens?: readonly string[]): Promise<CodeMap> {
  const spans = tokens ? parsedParts(text, tokens) : undefined;
  if (docs) return buildCodeMap(await docs.trees.tree(docs.key, text, spans), text, tokens);
  const tree = await parsePython(text, spans);
  try {
    return buildCodeMap(tree, text, tokens);
  } finally {
    tree.delete();
  }
}

/** What the code map needs parsed: the statements that can build the layers, their helpers, imports, load calls and checkpoint names. */
function parsedParts(text: string, tokens: readonly string[]): [number, number][] {
  const found = loadAndNameOffsets(text);
  return neededRanges(text, tokens, [...found.loads.map((l) => l.at), ...found.names.map((n) => n.at)]);
}
