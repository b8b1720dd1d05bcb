/** Ports for tests' own servers. Side-effect free: a unit test imports it without the stack helpers of ./index.ts. */
import { createServer, type AddressInfo } from 'node:net';

/** A loopback port nothing listens on now, as the OS hands it out (another process may take it before the caller binds it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
