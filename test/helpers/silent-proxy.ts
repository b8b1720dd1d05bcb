/**
 * A TCP proxy that can fall silent, as a paused or hung server does: it keeps
 * every connection and takes new ones, but passes no byte either way until it
 * speaks again. What it held is delivered then, as a resumed server reads
 * what waited in its socket.
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

export interface SilentProxy {
  /** host:port clients connect to. */
  readonly address: string;
  silence(): void;
  speak(): void;
  close(): Promise<void>;
}

export async function silentProxy(upstreamHost: string, upstreamPort: number): Promise<SilentProxy> {
  let silent = false;
  const held: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, upstreamHost);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from);
      from.on('data', (chunk: Buffer) => {
        if (silent) held.push(() => to.write(chunk));
        else to.write(chunk);
      });
      // A side that goes away closes the other after what was held for it, as a resumed server reads what
      // waited in its socket before it sees the connection closed.
      const close = (): void => { if (silent) held.push(() => to.end()); else to.end(); };
      from.on('close', () => { sockets.delete(from); close(); }).on('error', () => from.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    silence() {
      silent = true;
    },
    speak() {
      silent = false;
      for (const deliver of held.splice(0)) deliver();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
