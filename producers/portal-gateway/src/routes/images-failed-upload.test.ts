import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '../ports.js';
import { routeTestGateway, routeTestToken } from '../testing/route-gateway.js';

const UID = 'F'.repeat(60);

/** A gateway whose ViewPort holds no image, and whose request store holds `uploads`. */
async function get(uploads: readonly RequestRecord[], url: string, user = 'dev1') {
  const app = routeTestGateway({ uid: UID, uploads });
  const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await routeTestToken(user)}` } });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

const refused = (requestId: string, createdAt: string, code: string): RequestRecord => ({
  requestId, kind: 'upload', imageUID: UID, imageVersion: 'v1-0-00', owner: 'dev1', status: 'failed',
  error: { code, message: 'the archive holds no manifest.json', pid: 'c8bms18-c20bre24-911' }, createdAt: new Date(createdAt), updatedAt: new Date(createdAt),
});

describe('GET /v1/images/{uid} of an image whose only upload failed', () => {
  it('answers its owner 404 IMAGE_UPLOAD_FAILED naming the failed upload, its code and where its steps are, for the image and its events', async () => {
    const uploads = [refused('req-new', '2026-12-06T10:00:05Z', 'NO_MANIFEST'), refused('req-old', '2026-12-06T10:00:00Z', 'NOT_A_TAR')];
    for (const url of [`/v1/images/${UID}`, `/v1/images/${UID}/events`]) {
      expect(await get(uploads, url)).toEqual({
        status: 404, body: { code: 'IMAGE_UPLOAD_FAILED', problems: [], message: `image ${UID} has no version: your upload req-new of v1-0-00 failed NO_MANIFEST; its steps are at GET /v1/requests/req-new` },
      });
    }
  });

  it('answers anyone else a plain 404, and names an upload still under way rather than one that failed', async () => {
    const uploads = [refused('req-1', '2026-12-06T10:00:00Z', 'NO_MANIFEST')];
    expect(await get(uploads, `/v1/images/${UID}/events`, 'someone-else')).toMatchObject({ status: 404, body: { code: 'ORBIT_ERR_NOT_FOUND' } });
    const running: RequestRecord = { requestId: 'req-2', kind: 'upload', imageUID: UID, imageVersion: 'v2-0-00', owner: 'dev1', status: 'running', error: null };
    expect(await get([...uploads, running], `/v1/images/${UID}/events`)).toMatchObject({ status: 404, body: { code: 'IMAGE_NOT_READY' } });
  });
});
