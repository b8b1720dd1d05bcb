import { Document, isPair, isScalar, visit, type Scalar } from 'yaml';

/**
 * Characters YAML must not carry raw (C1 controls, DEL, U+FFFE/U+FFFF) or
 * that YAML 1.1 readers take for line breaks (NEL, U+2028, U+2029) and fold
 * into a space. JSON.stringify, which the yaml library escapes from, leaves
 * them raw: helm then refuses the whole file ("control characters are not
 * allowed") and an owner's Helm repository index with it.
 */
export const YAML_ESCAPED = /[\u007f-\u009f\u2028\u2029\ufffe\uffff]/g;

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\u0085': '\\N', '\u2028': '\\L', '\u2029': '\\P' };

function escapeOf(character: string): string {
  const code = character.charCodeAt(0);
  return SHORT_ESCAPES[character] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/**
 * A key no YAML reader takes for anything but a string, so it may stay plain:
 * it starts with a letter and is not a YAML 1.1 boolean or null. Go's reader
 * (go-yaml, inside helm, kubectl and kustomize) reads a plain key that starts
 * with a digit or a sign through strconv, so `0o17`, `0X1F`, `0B101` and
 * `0o1_7` become 15, 31, 5 and 15 there, though YAML 1.1 itself has no such
 * numbers; every other key is quoted, whatever a reader would make of it.
 */
const PLAIN_KEY = /^[A-Za-z][A-Za-z0-9_./-]*$/;
const WORD_KEY = /^(y|yes|n|no|true|false|on|off|null)$/i;

const plainKeyAllowed = (key: string): boolean => PLAIN_KEY.test(key) && !WORD_KEY.test(key);

const MERGE_KEY = '<<';
const STRING_TAG = 'tag:yaml.org,2002:str';
/**
 * Texts YAML 1.1 gives a type of their own when plain, key or value: `<<`
 * the merge key, `=` the value key (tag:yaml.org,2002:value). PyYAML and the
 * Python kubernetes client refuse a whole file holding either as a value
 * ("could not determine a constructor"), and a `<<` key merges.
 */
const TYPED_WHEN_PLAIN: ReadonlySet<string> = new Set([MERGE_KEY, '=']);

const isPlain = (node: Scalar): boolean => node.type === undefined || node.type === 'PLAIN';

/**
 * YAML for what helm, kustomize and kubectl read (chart files, Kustomize
 * files, manifests the gateway serves). They parse YAML 1.1, where `yes`,
 * `on`, `y` and `0o17`-like text are not strings, so strings are always
 * double-quoted (`<<` tagged `!!str` too, see TYPED_WHEN_PLAIN) and keys are
 * quoted unless no reader could take them for anything else (plainKeyAllowed). lineWidth 0 keeps long values on one
 * line. Any text, every Unicode character included, reads back as it was
 * written.
 */
export function toYamlText(value: unknown): string {
  return yamlTextOf(new Document(value, { version: '1.1' }));
}

/**
 * A document, built or parsed and edited, written as toYamlText writes: a
 * parsed node keeps its own quoting (but a plain key Go would misread is
 * quoted, as in a chart stored before that rule), a new string is double-quoted, and the
 * characters YAML cannot carry raw are escaped wherever they are (the scalars
 * holding one are marked double-quoted in the document itself).
 */
export function yamlTextOf(document: Document): string {
  let escapes = false;
  // A plain or single-quoted scalar cannot escape these characters; a double-quoted one can.
  visit(document, {
    Pair(_key, pair) {
      if (isPair(pair) && isScalar(pair.key) && typeof pair.key.value === 'string' && !plainKeyAllowed(pair.key.value) && isPlain(pair.key)) {
        pair.key.type = 'QUOTE_DOUBLE';
      }
    },
    Scalar(_key, node) {
      if (!isScalar(node) || typeof node.value !== 'string') return;
      if (TYPED_WHEN_PLAIN.has(node.value)) {
        if (isPlain(node)) node.type = 'QUOTE_DOUBLE';
        // The 1.1 schema writes the text "<<" as the merge key, plain, whatever its quoting; a tag makes it the string it is.
        if (node.value === MERGE_KEY) node.tag = STRING_TAG;
      }
      if (node.value.search(YAML_ESCAPED) >= 0) {
        node.type = 'QUOTE_DOUBLE';
        escapes = true;
      }
    },
  });
  // Always one line per string: the library's multi-line double-quoted form wrote a line holding one space (`a\n \nb`,
  // 40 characters or more) as an escaped line break that every reader, itself included, read back as a backslash.
  const text = document.toString({ defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN', lineWidth: 0, doubleQuotedMinMultiLineLength: Infinity });
  // Each such character is now inside a double-quoted scalar, where an escape means it.
  return escapes ? text.replace(YAML_ESCAPED, escapeOf) : text;
}
