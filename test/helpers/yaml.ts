import { parseAllDocuments, visit } from 'yaml';

/**
 * The plain scalars `<<` and `=` in a YAML stream: a YAML 1.1 reader (PyYAML, the Python kubernetes client) resolves
 * them by their text, to the merge and value keys, and refuses a file holding one as a value.
 */
export function plainMergeOrValueKeys(text: string): string[] {
  const found: string[] = [];
  for (const document of parseAllDocuments(text, { version: '1.1' })) {
    visit(document, {
      Scalar(_key, node) {
        if ((node.type === 'PLAIN' || node.type === undefined) && (node.source === '<<' || node.source === '=')) found.push(String(node.source));
      },
    });
  }
  return found;
}
