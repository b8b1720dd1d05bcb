import { createKafka, PROJECTED_TOPICS } from '@orbit/lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quietLogger, testConfig, uniqueSuffix, waitFor } from '../../../test/helpers/index.js';
import { privateLifecycleTopics } from '../../../test/helpers/lifecycle-topics.js';
import { stallingProxy, type StallingProxy } from '../../../test/helpers/stalling-proxy.js';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';
import { rebuildProjection } from './rebuild.js';

/** COM_QUIT as a client sends it: a one-byte packet, sequence 0. */
const QUIT = Buffer.from([1, 0, 0, 0, 1]);

let proxy: StallingProxy;
let live: PrivateViewport;
beforeAll(async () => {
  const mysql = new URL(testConfig.MYSQL_URL);
  // Everything but a goodbye is answered: a connection that says QUIT hears nothing more, and is never closed.
  proxy = await stallingProxy(mysql.hostname, Number(mysql.port), { clientChunk: (chunk) => chunk.subarray(0, QUIT.length).equals(QUIT) });
  live = await privateViewport('rebuild_quit');
});
afterAll(async () => {
  await live.drop();
  await proxy.close();
});

describe('viewport:rebuild when MySQL falls silent at the goodbye of its own connections', () => {
  it('swaps and answers in seconds, its shadow and gate pools dropped (found by a review: the sockets of its pools stayed open waiting on the server and held the command)', async () => {
    const copies = await privateLifecycleTopics('rebuild-quit', PROJECTED_TOPICS);
    // The rebuild's own pools (the shadow's and the swap gate's) connect by this URL; the caller's pool does not.
    const url = new URL(testConfig.MYSQL_URL);
    url.port = String(proxy.port);
    url.pathname = `/${live.database}`;
    const started = performance.now();
    const report = await rebuildProjection({
      kafka: createKafka({ clientId: `rebuild-quit-${uniqueSuffix()}`, brokers: testConfig.KAFKA_BROKERS, logger: quietLogger }), codec: copies.codec, pool: live.pool,
      mysqlUrl: url.toString(), topics: copies.topics, liveGroup: 'viewport-projector-quit-test', logger: quietLogger, lifecycleTopicOf: copies.lifecycleTopicOf,
      publisher: { publish: async () => undefined },
    });
    expect(report.eventsReplayed).toBe(0);
    expect(proxy.silent()).toBe(true);
    // Each pool's goodbye is given OPS_MYSQL_END_TIMEOUT_MS (3 s) before its sockets are dropped; a socket left open
    // waiting for the server's goodbye would hold the command's process after its report.
    expect((performance.now() - started) / 1000).toBeLessThan(20);
    await waitFor(async () => (proxy.openClients() === 0 ? true : undefined), { what: 'the rebuild\'s connections to close', timeoutMs: 2_000, intervalMs: 50 });
  }, 60_000);
});
