/** HTTP servers on 127.0.0.1 that a test starts and closes after each test: fake registries, token services, storage. */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

/**
 * A `listen(handler)` that starts a server on a free port of 127.0.0.1 and answers its `127.0.0.1:<port>`; every server
 * it started is closed, connections and all, after each test of the describe block it is called in.
 */
export function localHttpServers(): (handler: RequestListener) => Promise<string> {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
  return async (handler) => {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
}
