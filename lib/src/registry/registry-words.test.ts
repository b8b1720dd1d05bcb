import { describe, expect, it } from 'vitest';
import { quotable, wordsIn } from './registry-words.js';

describe('quotable', () => {
  it('cuts a long quote before an emoji, never between its halves', () => {
    for (const pad of ['', 'x']) {
      const quoted = quotable(`${pad}${'🚀'.repeat(600)}`, 101);
      expect(quoted.endsWith('…')).toBe(true);
      // A high surrogate with no low one after it, or a low one with no high one before it: half an emoji.
      expect(quoted).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    }
  });

  it('quotes half a surrogate pair a registry\'s JSON spelled as U+FFFD, so the failure event quoting it can be encoded (found by a reread: DEAD_LETTERED)', () => {
    expect(wordsIn('{"errors":[{"code":"DENIED","message":"no \\ud800 access"}]}')).toEqual({ text: 'DENIED: no \ufffd access', structured: true });
    expect(quotable('a\udc00b🚀')).toBe('a\ufffdb🚀');
  });
});

describe('the words of a refusal', () => {
  it('reads the spec\'s errors (all of them), storage\'s XML, a web page\'s title, or the text, cut at a bound', () => {
    expect(wordsIn('{"errors":[{"code":"DENIED","message":"no"},{"code":"UNAUTHORIZED","message":"who?"}]}')).toEqual({ text: 'DENIED: no; UNAUTHORIZED: who?', structured: true });
    expect(wordsIn('{"error":"invalid_grant","error_description":"refresh token expired"}')).toEqual({ text: 'invalid_grant: refresh token expired', structured: true });
    expect(wordsIn('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>')).toEqual({ text: 'AccessDenied: Request has expired', structured: true });
    expect(wordsIn('<html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1></body></html>')).toEqual({ text: '403 Forbidden', structured: false });
    expect(wordsIn('not found\n')).toEqual({ text: 'not found', structured: false });
    expect(wordsIn('y'.repeat(1000)).text).toHaveLength(200);
    expect(quotable('a\u202ebc\u2028d\u009b')).toBe('a\\u202ebc d\\u009b');
  });
});
