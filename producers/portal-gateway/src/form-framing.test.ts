import { describe, expect, it } from 'vitest';
import { FORM_CUT_SHORT } from './errors.js';
import { FormFraming, MAX_EPILOGUE_BYTES, partHeadOf } from './form-framing.js';

const B = 'xyz-boundary';
const part = (name: string, body: string): string => `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${body}\r\n`;

/** The framing's verdict on `body` fed in chunks of `size` bytes, given the parts the reader handed over. */
function verdict(body: string, partsRead: number, size = body.length): string | undefined {
  const framing = new FormFraming(B);
  const bytes = Buffer.from(body, 'latin1');
  for (let at = 0; at < bytes.length; at += size) framing.feed(bytes.subarray(at, at + size));
  return framing.problem(partsRead);
}

describe('the framing of a multipart body, as the reader does not tell it', () => {
  it('takes what clients send: a closing delimiter followed by nothing or a line break, in chunks of any size', () => {
    const form = part('metadata', '{}') + part('image', 'tar bytes');
    for (const size of [1, 2, 7, 1000]) {
      expect(verdict(`${form}--${B}--`, 2, size)).toBeUndefined();
      expect(verdict(`${form}--${B}--\r\n`, 2, size)).toBeUndefined();
      expect(verdict(`preamble\r\n${form}--${B}--\r\n`, 2, size)).toBeUndefined();
    }
  });

  it('says the boundary is inside the content when a part went unread or the form closed before the body ended', () => {
    const inside = `${part('metadata', '{}')}${part('image', `AAAA\r\n--${B}\r\nBBBB`)}--${B}--\r\n`;
    for (const size of [1, 3, 5000]) expect(verdict(inside, 2, size)).toMatch(/^the body holds 3 parts, 1 of them not read as form fields: either the boundary "xyz-boundary" appears inside a part's content, or a part is not headed `Content-Disposition: form-data/);
    const closedEarly = `${part('metadata', '{}')}${part('image', `AAAA\r\n--${B}--\r\nBB`)}--${B}--\r\n`;
    for (const size of [1, 4, 5000]) expect(verdict(closedEarly, 2, size)).toMatch(/appears inside a part's content: \d+ bytes follow the form's closing/);
    expect(verdict(`${part('metadata', '{}')}--${B}--\r\n${'x'.repeat(MAX_EPILOGUE_BYTES + 1)}`, 1)).toMatch(/1027 bytes follow/);
  });

  it('refuses a body that stops right after a delimiter, its closing -- missing, as one cut a byte earlier is (found by a review: it was taken)', () => {
    const form = part('metadata', '{}') + part('image', 'tar bytes');
    for (const size of [1, 3, 1000]) {
      expect(verdict(`${form}--${B}`, 2, size)).toBe(FORM_CUT_SHORT);
      expect(verdict(`${form}--${B}-`, 2, size)).toBe(FORM_CUT_SHORT);
    }
  });

  it('gives the same verdict however the body is cut into chunks, delimiters falling across any chunk edge', () => {
    const filler = 'tar bytes '.repeat(20);
    const bodies: readonly [string, number][] = [
      [`${part('metadata', '{}')}${part('image', filler)}--${B}--\r\n`, 2],
      [`${part('metadata', '{}')}${part('image', `${filler}\r\n--${B}\r\n${filler}`)}--${B}--\r\n`, 2],
      [`${part('metadata', '{}')}${part('image', `${filler}\r\n--${B}--\r\n${filler}`)}--${B}--\r\n`, 2],
      [`${part('metadata', '{}')}--${B}--\r\n${'x'.repeat(MAX_EPILOGUE_BYTES + 1)}`, 1],
    ];
    for (const [body, partsRead] of bodies) {
      const whole = verdict(body, partsRead);
      for (let size = 1; size <= 120; size += 1) expect(verdict(body, partsRead, size)).toBe(whole);
    }
    expect(bodies.map(([body, partsRead]) => verdict(body, partsRead) === undefined)).toEqual([true, false, false, false]);
  });
});


describe('the header blocks of a form\'s parts, whose Content-Type parameters the reader drops for file parts', () => {
  it('finds each part\'s name and Content-Type as sent, charset and all, in chunks of any size', () => {
    const head = (name: string, type: string, filename = '') => `--${B}\r\nContent-Disposition: form-data; name="${name}"${filename}\r\nContent-Type: ${type}\r\n\r\n`;
    const image = 'x'.repeat(70_000);
    const form = `${head('image', 'application/x-tar', '; filename="name=metadata.tar"')}${image}\r\n${head('metadata', 'application/json; charset=ISO-8859-1', '; filename="m.json"')}{"a":1}\r\n--${B}--\r\n`;
    for (const size of [1, 3, 17, 40, 1000, 65_536, form.length]) {
      const framing = new FormFraming(B);
      const bytes = Buffer.from(form, 'latin1');
      for (let at = 0; at < bytes.length; at += size) framing.feed(bytes.subarray(at, at + size));
      expect(framing.headOf('metadata'), String(size)).toEqual({ name: 'metadata', contentType: 'application/json; charset=ISO-8859-1' });
      expect(framing.headOf('image'), String(size)).toEqual({ name: 'image', contentType: 'application/x-tar' });
      expect(framing.problem(2)).toBeUndefined();
    }
  });

  it('reads the name unquoted too, and not from filename=', () => {
    expect(partHeadOf('\r\nContent-Disposition: form-data; filename="name.json"; name=metadata\r\ncontent-type: text/plain')).toEqual({ name: 'metadata', contentType: 'text/plain' });
    expect(partHeadOf('\r\nContent-Disposition: form-data; filename="x"')).toEqual({ name: undefined, contentType: undefined });
  });
});
