import { describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { toYamlText, yamlTextOf } from './yaml-text.js';

// Every character YAML cannot carry raw, or that a YAML 1.1 reader (helm, kubectl) folds into a space.
const AWKWARD = ['\u007f', '\u0080', '\u0085', '\u009b', '\u009f', '\u2028', '\u2029', '\ufffe', '\uffff', '\ufeff', '\u00a0', '\u0000', '\u001b'];

describe('toYamlText', () => {
  it('writes every awkward character escaped, in values and keys, and reads each back as it was', () => {
    for (const character of AWKWARD) {
      const text = `a${character}b`;
      const yaml = toYamlText({ [text]: text, list: [text], plain: 'x' });
      expect(yaml, JSON.stringify(character)).toMatch(/^[\t\n\u0020-\u007e\u00a0-\u2027\u202a-\ufffd]*$/);
      expect(parse(yaml, { version: '1.1' }), JSON.stringify(character)).toEqual({ [text]: text, list: [text], plain: 'x' });
    }
  });

  it('quotes every string and leaves plain keys plain', () => {
    expect(toYamlText({ name: 'yes', count: 3, on: 'off' })).toBe('name: "yes"\ncount: 3\n"on": "off"\n');
  });
});

describe('yamlTextOf', () => {
  it('writes a parsed and edited document with the same escapes, keeping each node\'s quoting', () => {
    const document = parseDocument("kept: 'single'\nvalue: \"x\"\n", { version: '1.1' });
    document.set('value', 'del\u007f nel\u0085');
    document.set('added', 'new');
    const yaml = yamlTextOf(document);
    expect(yaml).toBe("kept: 'single'\nvalue: \"del\\x7f nel\\N\"\nadded: \"new\"\n");
    expect(parse(yaml, { version: '1.1' })).toEqual({ kept: 'single', value: 'del\u007f nel\u0085', added: 'new' });
  });
});
