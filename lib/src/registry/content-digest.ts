import { createHash } from 'node:crypto';
import { PullRefusedError } from './registry-errors.js';

/** The algorithms a registry names digests with (OCI image spec, "Registered algorithms"), as node:crypto calls them. */
const HASHES: ReadonlyMap<string, string> = new Map([['sha256', 'sha256'], ['sha512', 'sha512']]);

/**
 * Refuses a manifest whose bytes are not the ones the registry says it sent
 * (its Docker-Content-Digest answer header), as containerd does: a broken
 * registry, or a proxy or cache between it and Orbit that changed or mixed up
 * the answer. Only for a pull by tag: by digest the bytes are already held to
 * the digest asked. `said` null (no header) passes: many registries leave it
 * out on some paths, and the spec makes it optional.
 */
export function requireContentDigest(said: string | null, bytes: Buffer, asked: string): void {
  if (said === null || said.trim() === '') return;
  const value = said.trim();
  const [algorithm = '', encoded = ''] = value.split(':', 2);
  // A Map: a header naming `constructor:` found Object on a plain record, and createHash threw a TypeError (a review).
  const hash = HASHES.get(algorithm);
  // go-digest (containerd's) refuses a header it cannot parse or check: so does Orbit, rather than take the bytes unchecked.
  if (hash === undefined || !/^[a-f0-9]+$/.test(encoded)) {
    throw new PullRefusedError('REGISTRY_ERROR', `the registry answered ${asked} with Docker-Content-Digest "${value.slice(0, 200)}", which is no sha256 or sha512 digest: Orbit cannot check the manifest it sent`);
  }
  const received = `${algorithm}:${createHash(hash).update(bytes).digest('hex')}`;
  if (received !== value) {
    throw new PullRefusedError('REGISTRY_ERROR', `the registry answered ${asked} with a manifest whose digest is ${received}, but said (Docker-Content-Digest) it is ${value}: a broken registry, or a proxy or cache between it and Orbit that changed the answer; nothing was pulled`);
  }
}
