import { describe, expect, it } from 'vitest';
import type { ImageQuery } from '../ports.js';
import { routeTestGateway, routeTestToken } from '../testing/route-gateway.js';

const UID = 'N'.repeat(60);

/** A gateway that records what its image store is asked, and a GET /v1/images with `query` (already URL-encoded). */
function searching() {
  const searched: ImageQuery[] = [];
  const app = routeTestGateway({ uid: UID, searched });
  const search = async (query: string) => {
    const response = await app.inject({ url: `/v1/images?${query}`, headers: { authorization: `Bearer ${await routeTestToken('dev1')}` } });
    return { status: response.statusCode, body: response.json() as Record<string, unknown> };
  };
  return { searched, search };
}

describe('GET /v1/images?q=&category= and Unicode (found by a review: NFC and NFD "Béla" were two words)', () => {
  it('asks the store for q and category in one normal form, whichever the client sent', async () => {
    const { searched, search } = searching();
    // NFD, as macOS clients send it; NFC; and full-width letters an IME types.
    for (const query of ['q=Be%CC%81la&category=Be%CC%81la', 'q=B%C3%A9la&category=B%C3%A9la', 'q=%EF%BC%A2%C3%A9la&category=B%C3%A9la']) {
      expect((await search(query)).status).toBe(200);
    }
    expect(searched.map(({ q, category }) => [q, category])).toEqual([['B\u00e9la', 'B\u00e9la'], ['B\u00e9la', 'B\u00e9la'], ['B\u00e9la', 'B\u00e9la']]);
  });

  it('keeps a category\'s trailing space: `Béla ` is another category than `Béla`', async () => {
    const { searched, search } = searching();
    expect((await search('category=Be%CC%81la%20')).status).toBe(200);
    expect(searched[0]?.category).toBe('B\u00e9la ');
  });

  it('refuses a q holding a control or format character, or starting with a combining mark, with 400 rather than matching every text that holds one', async () => {
    const { searched, search } = searching();
    for (const [query, named] of [['q=%00', 'U+0000'], ['q=%01', 'U+0001'], ['q=%E2%80%8B', 'U+200B'], ['q=%E2%80%AE', 'U+202E'], ['q=B%C3%A9%E2%80%8Bla', 'U+200B']] as const) {
      const answer = await search(query);
      expect(answer, query).toMatchObject({ status: 400, body: { code: 'ORBIT_ERR_BAD_REQUEST', message: expect.stringContaining(named) as unknown, problems: [{ field: 'querystring.q' }] } });
    }
    expect(await search('q=%CC%81')).toMatchObject({ status: 400, body: { code: 'ORBIT_ERR_BAD_REQUEST', message: 'q must not start with a combining mark' } });
    expect(searched).toEqual([]);
  });

});
