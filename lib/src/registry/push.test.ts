import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { RegistryClient } from './client.js';
import { OCI_MANIFEST_TYPE, sha256Of } from './image-manifest.js';
import { RegistryPush, tagManifest } from './push.js';

const ours = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST_TYPE, config: { digest: `sha256:${'1'.repeat(64)}` }, layers: [] }));
const theirs = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST_TYPE, config: { digest: `sha256:${'2'.repeat(64)}` }, layers: [] }));

/**
 * A registry (registry.access.redhat.com, some proxies) whose manifest
 * answers carry no Docker-Content-Digest, holding `tagged` under its tags;
 * it notes each manifest PUT.
 */
function withoutDigestHeader(tagged: Record<string, Buffer>): { push: RegistryPush; puts: string[] } {
  const puts: string[] = [];
  const client = new RegistryClient({
    registry: 'registry.test', repository: 'team/app', insecure: false,
    fetch: async (input, init) => {
      const reference = /\/manifests\/(.+)$/.exec(String(input))?.[1] ?? '';
      if (init.method === 'PUT') {
        puts.push(reference);
        return new Response(null, { status: 201 });
      }
      const bytes = tagged[reference];
      if (bytes === undefined) return new Response(null, { status: 404 });
      return new Response(init.method === 'HEAD' ? null : bytes, { headers: { 'content-type': OCI_MANIFEST_TYPE, 'content-length': String(bytes.length) } });
    },
  });
  return { push: new RegistryPush(client, 'registry.test'), puts };
}

function recordingLogger(): { log: ReturnType<typeof createLogger>; messages: string[] } {
  const messages: string[] = [];
  const log = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { messages.push(String((JSON.parse(chunk.toString()) as { msg?: unknown }).msg)); done(); } }) });
  return { log, messages };
}

describe('tagManifest at a registry that answers a manifest HEAD without its digest', () => {
  it('counts a tag already naming the very manifest as done: nothing put, nothing warned', async () => {
    const { push, puts } = withoutDigestHeader({ '1.0.0': ours });
    const { log, messages } = recordingLogger();
    expect(await tagManifest(push, { name: 'registry.test/team/app', tags: ['1.0.0'] }, sha256Of(ours), async () => ours, log)).toBe('1.0.0');
    expect(puts).toEqual([]);
    expect(messages).toEqual([]);
  });

  it('still leaves a tag naming another manifest to it, saying so, and takes the next free tag', async () => {
    const { push, puts } = withoutDigestHeader({ '1.0.0': theirs });
    const { log, messages } = recordingLogger();
    expect(await tagManifest(push, { name: 'registry.test/team/app', tags: ['1.0.0', '1.0.0-2'] }, sha256Of(ours), async () => ours, log)).toBe('1.0.0-2');
    expect(puts).toEqual(['1.0.0-2']);
    expect(messages).toEqual(['the tag already names another manifest; left as it is']);
  });
});
