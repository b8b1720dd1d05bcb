import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '../ports.js';
import { routeTestGateway, routeTestToken } from '../testing/route-gateway.js';
const UID = 'N'.repeat(60);

/** A gateway whose ViewPort holds no image yet, and whose request store holds `uploads`. */
function gateway(uploads: readonly RequestRecord[]) {
  const app = routeTestGateway({ uid: UID, uploads });
  const get = async (url: string, user = 'dev1') => {
    const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await routeTestToken(user)}` } });
    return { status: response.statusCode, body: response.json() as Record<string, unknown> };
  };
  return { get };
}

const upload = (status: RequestRecord['status']): RequestRecord => ({ requestId: 'req-1', kind: 'upload', imageUID: UID, imageVersion: 'v1-0-00', owner: 'dev1', status, error: null });

describe('GET /v1/images/{uid} before the first version is validated', () => {
  it('answers 404 IMAGE_NOT_READY naming the caller\'s upload still under way, for the image and its events', async () => {
    const { get } = gateway([upload('running')]);
    for (const url of [`/v1/images/${UID}`, `/v1/images/${UID}/events`]) {
      expect(await get(url)).toMatchObject({
        status: 404, body: { code: 'IMAGE_NOT_READY', message: expect.stringMatching(/no validated version yet: your upload req-1 of v1-0-00 is still under way; follow GET \/v1\/requests\/req-1\?wait=30/) as unknown },
      });
    }
  });

  it('stays a plain 404 for another user (UIDs cannot be probed) and once the upload has failed', async () => {
    expect(await gateway([upload('accepted')]).get(`/v1/images/${UID}`, 'someone-else')).toMatchObject({ status: 404, body: { code: 'ORBIT_ERR_NOT_FOUND' } });
    expect(await gateway([upload('failed')]).get(`/v1/images/${UID}`)).toMatchObject({ status: 404, body: { code: 'ORBIT_ERR_NOT_FOUND' } });
  });
});
