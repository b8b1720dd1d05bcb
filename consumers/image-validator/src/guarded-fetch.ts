import type { RegistryFetch } from '@orbit/lib';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';

/** Throws to refuse a connection (the socket is closed before a byte of the request is sent). */
export type ConnectionCheck = (connected: { host: string; address: string; port: number }) => Promise<void>;

/** A guarded fetch, and its connection pool's end. */
export type ClosableFetch = RegistryFetch & {
  /** Closes every connection the fetch holds: a pool of one pull's own is let go when the pull ends, not when idle. */
  readonly close: () => Promise<void>;
};

/**
 * A fetch whose every connection is checked by the address it actually
 * reached, after DNS and before the request is written. Checking a URL's
 * name beforehand is not enough: the connection resolves the name again.
 * A refusal reaches the caller as fetch's TypeError with the check's error
 * as its `cause`.
 */
export function guardedFetch(check: ConnectionCheck, options: { connectTimeoutMs?: number } = {}): ClosableFetch {
  const connect = buildConnector({ timeout: options.connectTimeoutMs ?? 10_000 });
  const dispatcher = new Agent({
    connect: (target, callback) => {
      connect(target, (error, socket) => {
        if (error !== null) {
          callback(error, null);
          return;
        }
        const { remoteAddress, remotePort } = socket;
        const checked = remoteAddress === undefined || remotePort === undefined
          ? Promise.reject(new Error(`the connection to ${target.hostname} closed before it could be checked`))
          : check({ host: target.hostname, address: remoteAddress, port: remotePort });
        checked.then(() => callback(null, socket), (refusal: unknown) => {
          socket.destroy();
          callback(refusal instanceof Error ? refusal : new Error(String(refusal)), null);
        });
      });
    },
  });
  const fetch: RegistryFetch = (url, init) => undiciFetch(url, { ...init, dispatcher });
  return Object.assign(fetch, { close: () => dispatcher.destroy().catch(() => undefined) });
}
