import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { RequestRefusedError } from '../errors.js';
import { referenceBody } from './upload-reference.js';

const metadata = { imageName: 'af-v6', imageVersion: 'v0-0-01', imageCategory: 'tools' };
const sent = (reference: string): FastifyRequest => ({ body: { metadata, reference } }) as unknown as FastifyRequest;

describe('referenceBody', () => {
  it('answers 400 naming reference for a host no URL can hold, which was accepted 202 and dead-lettered by the validator (found by a review: "[6]/af/x:1")', () => {
    const cases: Record<string, RegExp> = {
      '[6]/af/x:1': /^reference has registry host "\[6\]", which is no IPv6 literal/,
      '[1:2:3]:5000/af/x:1': /^reference has registry host "\[1:2:3\]", which is no IPv6 literal/,
      '[fe80::1%eth0]/af/x:1': /^reference has registry host "\[fe80::1%eth0\]", which is no IPv6 literal Orbit can pull from: a zone/,
      '[::ffff:127.0.0.1]/af/x:1': /write \[::ffff:7f00:1\]$/,
      'reg.5000/af/x:1': /^reference has registry host "reg\.5000", which ends in a number/,
    };
    for (const [reference, message] of Object.entries(cases)) {
      let refused: unknown;
      try { referenceBody(sent(reference)); } catch (error) { refused = error; }
      expect(refused, reference).toBeInstanceOf(RequestRefusedError);
      expect(refused, reference).toMatchObject({ statusCode: 400, problems: [{ field: 'reference', message: expect.stringMatching(message) as unknown }] });
    }
    expect(referenceBody(sent('[::1]:5000/af/x:1')).reference.registry).toBe('[::1]:5000');
  });
});
