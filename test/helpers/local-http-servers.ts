/** HTTP servers on 127.0.0.1 that a test starts and closes after each test: fake registries, token services, storage. */
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
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

/**
 * A TCP peer that answers an HTTP request as Redis or Kafka answer a stray one (a line that is no HTTP, then the
 * connection closed), on a free port of 127.0.0.1 until `close`.
 */
export async function notHttpListener(): Promise<{ readonly address: string; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createNetServer((socket) => { sockets.push(socket); socket.end('-ERR unknown command\r\n'); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
