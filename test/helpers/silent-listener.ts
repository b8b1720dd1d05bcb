/** A peer that takes connections and never says a word (a hung process, a black-holed network), for tests of deadlines. Side-effect free. */
import { createServer, type AddressInfo, type Socket } from 'node:net';

export interface SilentListener {
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  /** Drops every connection it holds and stops listening. */
  close(): Promise<void>;
}

export async function silentListener(): Promise<SilentListener> {
  const held: Socket[] = [];
  const server = createServer((socket) => { held.push(socket); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
