import { describe, expect, it } from 'vitest';
import { RequestRefusedError } from './errors.js';
import { IDEMPOTENCY_KEY_PATTERN, idempotencyKeyHeaderOf, idempotencyKeyOf } from './idempotency-key.js';

describe('idempotencyKeyOf', () => {
  it('takes a key bare (as most clients send it) or as the draft\'s quoted string, and both name the same key', () => {
    expect(idempotencyKeyOf(undefined)).toBeUndefined();
    expect(idempotencyKeyOf('8e03978e-40d5-43e8-bc93-6894a57f9324')).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
    expect(idempotencyKeyOf('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
    expect(idempotencyKeyOf(' ci-build 4711 ')).toBe('ci-build 4711');
    expect(idempotencyKeyOf('x'.repeat(255))).toHaveLength(255);
  });

  it('refuses an empty, overlong, non-ASCII, space-padded quoted or repeated key with a 400 naming the header, rather than ignoring it', () => {
    for (const bad of ['', '  ', '""', 'x'.repeat(256), 'schlüssel', 'tab\there', '"a"b"', ['a', 'b'], '"ci-build "', '" ci-build"']) {
      const refusal = (() => { try { idempotencyKeyOf(bad); } catch (error) { return error; } return undefined; })();
      expect(refusal, JSON.stringify(bad)).toBeInstanceOf(RequestRefusedError);
      expect(refusal).toMatchObject({ statusCode: 400, problems: [{ field: 'header.idempotency-key' }] });
    }
  });

  it('publishes a pattern that takes exactly the keys it takes (as sent, without surrounding blanks)', () => {
    const pattern = new RegExp(IDEMPOTENCY_KEY_PATTERN);
    const takes = (key: string): boolean => { try { return idempotencyKeyOf(key) !== undefined; } catch { return false; } };
    const alphabet = ['a', ' ', '"', '\\', '~', '\t', 'ü'];
    let random = 7;
    const next = (): number => { random = (random * 1103515245 + 12345) % 2147483648; return random; };
    const samples = ['x'.repeat(255), 'x'.repeat(256), `"${'x'.repeat(255)}"`, `"${'x'.repeat(256)}"`, `"${'x'.repeat(254)}`];
    for (let i = 0; i < 5000; i += 1) samples.push(Array.from({ length: next() % 7 }, () => alphabet[next() % alphabet.length]).join(''));
    for (const key of samples.filter((sample) => sample.trim() === sample)) expect(pattern.test(key), JSON.stringify(key)).toBe(takes(key));
  });

  it('sees two Idempotency-Key headers as two, where Node joins them into one "A, B" (found by a probe)', () => {
    expect(idempotencyKeyHeaderOf(['Host', 'x', 'Idempotency-Key', 'A', 'idempotency-key', 'B'])).toEqual(['A', 'B']);
    expect(idempotencyKeyHeaderOf(['Host', 'x', 'IDEMPOTENCY-KEY', 'a, b'])).toBe('a, b');
    expect(idempotencyKeyHeaderOf(['Host', 'idempotency-key'])).toBeUndefined();
    expect(() => idempotencyKeyOf(idempotencyKeyHeaderOf(['Idempotency-Key', 'A', 'Idempotency-Key', 'B']))).toThrow('send one Idempotency-Key header');
  });
});
