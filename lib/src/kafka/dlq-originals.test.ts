import { describe, expect, it } from 'vitest';
import { letterState, whySetAside } from './dlq-letter.js';
import { messageDigestOf, whyNotTheOriginal } from './dlq-originals.js';

const original = { key: Buffer.from('uid-1'), value: Buffer.from('TransferRequested to Development'), headers: { 'orbit-event-type': [Buffer.from('TransferRequested')], dup: [Buffer.from('a'), Buffer.from('b')] } };
const letter = { originalTopic: 'orbit.transfer.requested', originalPartition: '2', originalOffset: '17', key: original.key, value: original.value, originalHeaders: original.headers };
const digest = messageDigestOf(original.key, original.value, original.headers);

describe('whyNotTheOriginal: a re-drive sends a letter only when it holds the message at the position it names (found by a review: forged letters were published as the operator)', () => {
  it('lets a letter go that holds that message, its headers in whatever order', () => {
    expect(whyNotTheOriginal(letter, digest)).toBeUndefined();
    expect(whyNotTheOriginal({ ...letter, originalHeaders: { dup: original.headers.dup, 'orbit-event-type': original.headers['orbit-event-type'] } }, digest)).toBeUndefined();
  });

  it('sets aside a letter whose value, key or headers are not the message\'s, saying which and where', () => {
    expect(whyNotTheOriginal({ ...letter, value: Buffer.from('TransferRequested to Production') }, digest))
      .toBe('letter does not match the message at orbit.transfer.requested 2@17 (different value): forged or altered, not re-driven');
    expect(whyNotTheOriginal({ ...letter, key: null, originalHeaders: {} }, digest)).toContain('(different key, headers)');
    expect(whyNotTheOriginal({ ...letter, originalHeaders: { ...original.headers, dup: [Buffer.from('b'), Buffer.from('a')] } }, digest)).toContain('(different headers)');
  });

  it('sets aside a letter naming a position with no message', () => {
    expect(whyNotTheOriginal(letter, undefined)).toBe('no message at orbit.transfer.requested 2@17: the letter cannot be checked against it');
  });

  it('tells a key of no bytes from no key, and a header split differently from the same bytes', () => {
    expect(messageDigestOf(null, null, {}).key).not.toBe(messageDigestOf(Buffer.alloc(0), null, {}).key);
    expect(messageDigestOf(null, null, { ab: [Buffer.from('c')] }).headers).not.toBe(messageDigestOf(null, null, { a: [Buffer.from('bc')] }).headers);
  });
});

describe('a letter a re-drive found forged, as a list shows it', () => {
  const facts = { dlqTopic: 'orbit.transfer.requested.dlq', originalTopic: 'orbit.transfer.requested', originalPartition: '2', originalOffset: '17', errorCode: 'ORBIT_ERR_POISON', omittedValueBytes: null };
  it('is set aside, with why, whether recorded by a run without offsets or one naming it', () => {
    for (const redrivenByOffset of [false, true]) {
      const forged = { ...facts, redriven: true, redrivenByOffset, unmatched: true };
      expect(letterState(forged)).toBe('set aside');
      expect(whySetAside(forged)).toContain('does not hold the message at orbit.transfer.requested 2@17');
    }
    expect(whySetAside({ ...facts, redriven: true, redrivenByOffset: false, unmatched: false })).toBeUndefined();
  });
});
