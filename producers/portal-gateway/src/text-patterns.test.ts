import { chartCharacterProblem, chartTextProblem, controlCharacterProblem } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { METADATA_JSON_SCHEMA, parseMetadata } from './metadata.js';
import { CATEGORY_PATTERN, CHART_TEXT_FOR_PEOPLE_PATTERN, ENV_VALUE_PATTERN, NOTES_PATTERN, textWithout } from './text-patterns.js';

/** Every Unicode scalar value (no surrogate: JSON text in UTF-8 holds none, and the gateway refuses half a pair apart). */
function* scalarValues(): Generator<number> {
  for (let code = 0; code <= 0x10ffff; code += 1) if (code < 0xd800 || code > 0xdfff) yield code;
}

/** Every scalar value, in runs of `size`. */
function* blocksOf(size: number): Generator<number[]> {
  let block: number[] = [];
  for (const code of scalarValues()) {
    block.push(code);
    if (block.length === size) {
      yield block;
      block = [];
    }
  }
  if (block.length > 0) yield block;
}

/** The code points where `taken` changes from the code point before, and each one's neighbours. */
function boundaries(taken: (code: number) => boolean): number[] {
  const found = new Set<number>([0, 0x10ffff]);
  let before: boolean | undefined;
  let previous = 0;
  for (const code of scalarValues()) {
    const now = taken(code);
    if (before !== undefined && now !== before) for (const near of [previous, code, code + 1]) if (near <= 0x10ffff && (near < 0xd800 || near > 0xdfff)) found.add(near);
    before = now;
    previous = code;
  }
  return [...found].sort((a, b) => a - b);
}

const char = (code: number): string => String.fromCodePoint(code);
const hex = (code: number): string => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
const base = { imageName: 'billing-api', imageVersion: 'v1-0-00' };

/** Whether the gateway takes `text` as the metadata field `field` (parseMetadata, as the upload routes call it). */
const metadataTakes = (field: 'imageCategory' | 'Description' | 'Part', text: string): boolean => parseMetadata({ ...base, [field]: text }).ok;

/** Whether the gateway takes each of `values` as an environment value: one parse for up to 256 (the problems name the index). */
function envValuesTaken(values: readonly string[]): boolean[] {
  const taken: boolean[] = [];
  for (let start = 0; start < values.length; start += 256) {
    const batch = values.slice(start, start + 256);
    const result = parseMetadata({ ...base, envVars: batch.map((value, index) => ({ key: `V${index}`, value })) });
    const refused = new Set(result.ok ? [] : result.problems.map(({ field }) => field));
    if (!result.ok && [...refused].some((field) => !/^envVars\.\d+\.value$/.test(field))) throw new Error(`unexpected problems: ${JSON.stringify(result.problems)}`);
    taken.push(...batch.map((_, index) => !refused.has(`envVars.${index}.value`)));
  }
  return taken;
}

/** The rules as the gateway composes them (metadataRuntimeProblems, notesOrThrow), from the same lib checks, for a sweep of every code point. */
const RULES = {
  notes: (text: string) => controlCharacterProblem(text) === null,
  forPeople: (text: string) => !text.includes('\0') && chartCharacterProblem(text) === null && controlCharacterProblem(text) === null,
  envValue: (text: string) => !text.includes('\0') && chartTextProblem(text) === null,
};

describe('the API document\'s patterns of text the gateway refuses characters in', () => {
  const compiled = (pattern: string) => new RegExp(pattern, 'u');

  it('agree with the gateway\'s checks on every code point, alone and inside text, and through parseMetadata at every class boundary', () => {
    const cases = [
      { pattern: compiled(NOTES_PATTERN), rule: RULES.notes },
      { pattern: compiled(CHART_TEXT_FOR_PEOPLE_PATTERN), rule: RULES.forPeople },
      { pattern: compiled(CATEGORY_PATTERN), rule: RULES.forPeople },
      { pattern: compiled(ENV_VALUE_PATTERN), rule: RULES.envValue },
    ];
    for (const { pattern, rule } of cases) {
      const disagreeing: string[] = [];
      for (const block of blocksOf(4096)) {
        // Each rule refuses text holding any of its characters, so a block both take whole needs no look at each one.
        const whole = `a${block.map(char).join('')}b`;
        if (pattern.test(whole) && rule(whole)) continue;
        for (const code of block) if (pattern.test(`a${char(code)}b`) !== rule(`a${char(code)}b`)) disagreeing.push(hex(code));
      }
      expect(disagreeing, pattern.source).toEqual([]);
    }
    // What the gateway itself answers, where either the pattern or its rule changes (and on each side of it).
    const edges = [...new Set([RULES.forPeople, RULES.envValue].flatMap((rule) => boundaries((code) => rule(char(code)))))];
    const forPeopleEdges = [...new Set([...boundaries((code) => compiled(CHART_TEXT_FOR_PEOPLE_PATTERN).test(char(code))), ...edges])];
    expect(forPeopleEdges.length).toBeGreaterThan(10);
    for (const code of forPeopleEdges) {
      const inside = `a${char(code)}b`;
      for (const [field, pattern] of [['Description', CHART_TEXT_FOR_PEOPLE_PATTERN], ['Part', CHART_TEXT_FOR_PEOPLE_PATTERN], ['imageCategory', CATEGORY_PATTERN]] as const) {
        expect([field, hex(code), compiled(pattern).test(inside)]).toEqual([field, hex(code), metadataTakes(field, inside)]);
      }
      expect([hex(code), compiled(CHART_TEXT_FOR_PEOPLE_PATTERN).test(char(code))]).toEqual([hex(code), metadataTakes('Description', char(code))]);
    }
    const envEdges = [...new Set([...boundaries((code) => compiled(ENV_VALUE_PATTERN).test(char(code))), ...edges])];
    const envTexts = envEdges.flatMap((code) => [char(code), `a${char(code)}b`]);
    expect(envTexts.map((text) => compiled(ENV_VALUE_PATTERN).test(text))).toEqual(envValuesTaken(envTexts));
    // Boundaries found by looking at each of 1.1 million code points: seconds on a loaded machine.
  }, 60_000);

  it('take an imageCategory\'s ASCII white space at its ends, as the gateway trims it there, and refuse \\v and \\f inside it', () => {
    const pattern = compiled(CATEGORY_PATTERN);
    for (const text of ['\u000bbackend\u000c', ' \tbackend\r\n', '\u000c', 'back end', 'back\u000bend', 'back\u000cend', 'back\u0085end', '\u0007backend', 'backend\u2028']) {
      expect([JSON.stringify(text), pattern.test(text)]).toEqual([JSON.stringify(text), metadataTakes('imageCategory', text)]);
    }
  });

  it('refuse an environment value holding <no value> anywhere, as helm would delete it, and take every other arrangement of its characters (a generated sample)', () => {
    const pattern = compiled(ENV_VALUE_PATTERN);
    const alphabet = ['<', 'n', 'o', ' ', 'v', 'a', 'l', 'u', 'e', '>', 'x', '\u0085', '\u0007'];
    // Seeded, so that a failure is found again: a linear congruential generator.
    let seed = 20261207;
    const next = (below: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % below;
    };
    const texts = [
      '', '<no value>', 'x<no value>', '<no value>x', '<<no value>', '<no value<no value>', '<no valu<no value>>', '<no value', '<no valuex>', '<no value>>', '<<<', 'no value>',
      ...Array.from({ length: 4000 }, () => Array.from({ length: next(15) }, () => alphabet[next(alphabet.length)]).join('')),
      // Most of a random sample holds no near miss: each with the word cut or broken somewhere.
      ...Array.from({ length: 2000 }, () => {
        const word = '<no value>';
        const cut = next(word.length + 1);
        return `${alphabet[next(alphabet.length)]}${word.slice(0, cut)}${alphabet[next(alphabet.length)]}${word.slice(cut)}`;
      }),
    ];
    const gateway = envValuesTaken(texts);
    const disagreeing = texts.filter((text, index) => pattern.test(text) !== gateway[index]);
    expect(disagreeing).toEqual([]);
    expect(texts.filter((text) => !pattern.test(text)).length).toBeGreaterThan(100);
  }, 30_000);

  it('need a word whose first character comes once (the construction has no lookahead to undo a false start)', () => {
    expect(() => textWithout('abca', '\\x00')).toThrow(TypeError);
  });

  it('stand in the document of the metadata, beside the maxLength they had alone', () => {
    const properties = METADATA_JSON_SCHEMA['properties'] as Record<string, { pattern?: string; maxLength?: number; items?: { properties: Record<string, { pattern?: string }> } }>;
    expect([properties['imageCategory']?.pattern, properties['Description']?.pattern, properties['Part']?.pattern]).toEqual([CATEGORY_PATTERN, CHART_TEXT_FOR_PEOPLE_PATTERN, CHART_TEXT_FOR_PEOPLE_PATTERN]);
    expect(properties['envVars']?.items?.properties['value']?.pattern).toBe(ENV_VALUE_PATTERN);
    expect(properties['Description']?.maxLength).toBe(4096);
  });
});
