import { describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { plainMergeOrValueKeys } from '../../test/helpers/yaml.js';
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

  it('reads back a long text holding a line of one space, as YAML 1.1 and 1.2', () => {
    // Multi-line, the library wrote the blank line as an escape its own reader, go-yaml (helm, kustomize) included, took for a backslash.
    const texts = ['server:\n  port: 8080\n \nlogging:\n  level: info\n', `${'x'.repeat(40)}\n \n\t\n  \ny`, ' \n \n'.repeat(30)];
    for (const text of texts) {
      const yaml = toYamlText({ config: text, list: [text] });
      expect(parse(yaml, { version: '1.1' }), JSON.stringify(text)).toEqual({ config: text, list: [text] });
      expect(parse(yaml), JSON.stringify(text)).toEqual({ config: text, list: [text] });
    }
  });

  it('quotes every string and leaves plain keys plain', () => {
    expect(toYamlText({ name: 'yes', count: 3, on: 'off' })).toBe('name: "yes"\ncount: 3\n"on": "off"\n');
    expect(toYamlText({ 'app.kubernetes.io/name': 'a', PATH: 'b', a_b: 'c' })).toBe('app.kubernetes.io/name: "a"\nPATH: "b"\na_b: "c"\n');
  });

  it('quotes a key Go\'s YAML reader (helm, kubectl, kustomize) takes for a number, though YAML 1.1 has no such number', () => {
    // go-yaml reads a plain scalar starting with a digit or a sign through strconv: 0o17 is 15, 0X1F 31, 0B101 5, 0o1_7 15.
    const keys = ['0o17', '0O17', '0X1F', '0B101', '0o1_7', '0X_1F', '-0o7', '+0x1', '123', '1_000', 'YES', 'Off', '.inf', '<<'];
    const yaml = toYamlText(Object.fromEntries(keys.map((key) => [key, 'v'])));
    for (const key of keys.filter((key) => key !== '<<')) expect(yaml, key).toContain(`${JSON.stringify(key)}: "v"`);
    expect(yaml).toContain('!!str "<<": "v"');
    expect(parse(yaml, { version: '1.1' })).toEqual(Object.fromEntries(keys.map((key) => [key, 'v'])));
  });

  it('never writes `<<` or `=` plain, as a value, in a list or as a key: YAML 1.1 reads them as the merge and value keys (found by a review: PyYAML refused the file)', () => {
    const value = { env: { SEP: '<<', EQ: '=' }, args: ['<<', '=', '<<=', '=='], '<<': '<<', '=': '=' };
    const yaml = toYamlText(value);
    expect(plainMergeOrValueKeys(yaml)).toEqual([]);
    expect(yaml).toContain('SEP: !!str "<<"');
    expect(yaml).toContain('EQ: "="');
    expect(parse(yaml, { version: '1.1' })).toEqual(value);
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

  it('quotes a parsed plain key Go would read as a number, as a chart stored before that rule has it', () => {
    const document = parseDocument('labels:\n  0o17: "a"\n  team: "b"\n', { version: '1.1' });
    expect(yamlTextOf(document)).toBe('labels:\n  "0o17": "a"\n  team: "b"\n');
  });

  it('writes a parsed `<<` or `=` quoted, plain or quoted as it was read, key or value (a chart stored before that rule, repackaged)', () => {
    const document = parseDocument('env:\n  SEP: <<\n  EQ: =\n  QUOTED: "<<"\n"<<": x\nargs: [<<, =]\n', { version: '1.1' });
    const yaml = yamlTextOf(document);
    expect(plainMergeOrValueKeys(yaml)).toEqual([]);
    expect(parse(yaml, { version: '1.1' })).toEqual({ env: { SEP: '<<', EQ: '=', QUOTED: '<<' }, '<<': 'x', args: ['<<', '='] });
  });
});
