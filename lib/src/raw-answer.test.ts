import { describe, expect, it } from 'vitest';
import { rawJsonAnswer } from './raw-answer.js';

describe('rawJsonAnswer', () => {
  it('frames a JSON answer with Node\'s reason phrase, a Date and each value of a list header on its own line', () => {
    const answer = rawJsonAnswer(503, { code: 'X' }, { 'Retry-After': '1', vary: ['Origin', 'Accept'] });
    const [head, body] = answer.split('\r\n\r\n');
    const lines = (head ?? '').split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 503 Service Unavailable');
    expect(lines).toEqual(expect.arrayContaining(['Content-Length: 12', 'Connection: close', 'Retry-After: 1', 'vary: Origin', 'vary: Accept']));
    const date = lines.find((line) => line.startsWith('Date: '))?.slice('Date: '.length);
    expect(Number.isNaN(Date.parse(date ?? ''))).toBe(false);
    expect(body).toBe('{"code":"X"}');
  });

  it('sends no body to a HEAD, but the length the body would have', () => {
    const answer = rawJsonAnswer(431, { code: 'X' }, {}, { head: true });
    expect(answer.startsWith('HTTP/1.1 431 Request Header Fields Too Large\r\n')).toBe(true);
    expect(answer).toContain('Content-Length: 12\r\n');
    expect(answer.endsWith('\r\n\r\n')).toBe(true);
  });
});
