/** The upload route's answer to a portal form wrong in several metadata checks: one 400 naming every field. */
import { describe, expect, it } from 'vitest';
import { routeTestGateway, routeTestToken } from './testing/route-gateway.js';

/** A multipart form of the metadata part (JSON) and an image part, as a browser's FormData sends it. */
function form(metadata: unknown): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----orbit-metadata-boundary';
  const part = (disposition: string, type: string, body: string) => `--${boundary}\r\nContent-Disposition: form-data; ${disposition}\r\nContent-Type: ${type}\r\n\r\n${body}\r\n`;
  const body = `${part('name="metadata"', 'application/json', JSON.stringify(metadata))}${part('name="image"; filename="a.tar"', 'application/x-tar', 'x')}--${boundary}--\r\n`;
  return { payload: Buffer.from(body), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

describe('POST /v1/uploads with bad metadata', () => {
  it('names every bad field of every check in one 400, the schema\'s, the naming rules\' and the chart\'s (found by a review: four submissions)', async () => {
    const app = routeTestGateway({ uid: 'uid-metadata' });
    const sent = form({ imageName: 'Bad Name!', imageVersion: '1.0', imageCategory: 'nope', port: 99999, envVars: [{ key: '1x', value: 'a' }], workingDir: '/srv\u0000' });
    const answer = await app.inject({ method: 'POST', url: '/v1/uploads', ...sent, headers: { ...sent.headers, authorization: `Bearer ${await routeTestToken('dev1')}` } });
    expect([answer.statusCode, answer.json().code]).toEqual([400, 'ORBIT_ERR_BAD_METADATA']);
    const problems = (answer.json() as { problems: { field: string; message: string }[] }).problems;
    expect(problems.map(({ field }) => field)).toEqual(['port', 'envVars.0.key', 'imageName', 'imageVersion', 'workingDir']);
    for (const problem of problems) expect(Object.keys(problem).toSorted()).toEqual(['field', 'message']);
    await app.close();
  });
});
