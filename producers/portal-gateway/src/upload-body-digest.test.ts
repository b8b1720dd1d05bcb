import { describe, expect, it } from 'vitest';
import type { ImageMetadata } from '@orbit/schemas';
import { parseMetadata } from './metadata.js';
import { differingParts, metadataSha256, namedParts, referenceSha256 } from './upload-body-digest.js';

const sent = { imageName: 'billing-api', imageVersion: 'v1-0-00', port: 8080, envVars: [{ key: 'A', value: '1' }, { key: 'B', value: '2' }] };

/** The metadata as the gateway validates it, which is what is digested. */
function validated(input: object): ImageMetadata {
  const result = parseMetadata(input);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.metadata;
}
const digestOf = (input: object): string => metadataSha256(validated(input));

describe('upload body digests', () => {
  it('gives one metadata digest whatever order the fields came in, and another for any other value or list order', () => {
    const reordered = { envVars: [{ value: '1', key: 'A' }, { value: '2', key: 'B' }], port: 8080, imageVersion: 'v1-0-00', imageName: 'billing-api' };
    expect(digestOf(reordered)).toBe(digestOf(sent));
    expect(digestOf(sent)).toMatch(/^[0-9a-f]{64}$/);
    expect(digestOf({ ...sent, port: 8081 })).not.toBe(digestOf(sent));
    expect(digestOf({ ...sent, envVars: [...sent.envVars].reverse() })).not.toBe(digestOf(sent));
    expect(digestOf({ ...sent, port: '8080' })).toBe(digestOf(sent));
    // Extra metadata is metadata too, whatever order its fields came in.
    expect(digestOf({ ...sent, team: 'payments' })).not.toBe(digestOf(sent));
    expect(digestOf({ ...sent, team: 'payments', tier: { level: 1, zone: 'eu' } })).toBe(digestOf({ tier: { zone: 'eu', level: 1 }, team: 'payments', ...sent }));
  });

  it('tells references apart by their text, and names the parts that differ', () => {
    expect(referenceSha256('r.example/app:1.0')).toBe(referenceSha256('r.example/app:1.0'));
    expect(referenceSha256('r.example/app:1.0')).not.toBe(referenceSha256('r.example/app:1.1'));
    const held = { metadataSha256: 'a'.repeat(64), contentSha256: 'b'.repeat(64) };
    expect(differingParts(held, held, 'image')).toEqual([]);
    expect(differingParts(held, { ...held, metadataSha256: 'c'.repeat(64) }, 'image')).toEqual(['metadata']);
    expect(differingParts(held, { metadataSha256: 'c'.repeat(64), contentSha256: null }, 'reference')).toEqual(['metadata', 'reference']);
  });
});

describe('namedParts', () => {
  it('names a repeat\'s differing parts by the field they are sent in, and what was sent instead', () => {
    const upload = { completion: false, pinnedBefore: false };
    expect(namedParts(['metadata', 'image'], upload)).toEqual([{ field: 'metadata', said: 'other metadata' }, { field: 'image', said: 'another image' }]);
    expect(namedParts(['reference'], upload)).toEqual([{ field: 'reference', said: 'another reference' }]);
  });

  it('names a completion\'s differing content as its sha256: another, or none after one that pinned it', () => {
    expect(namedParts(['image'], { completion: true, pinnedBefore: true })).toEqual([{ field: 'sha256', said: 'another sha256' }]);
    expect(namedParts(['metadata', 'image'], { completion: true, pinnedBefore: false })).toEqual([{ field: 'metadata', said: 'other metadata' }, { field: 'sha256', said: 'no sha256' }]);
  });
});
