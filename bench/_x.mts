import { createReadStream } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { RegistryClient } from '@orbit/lib';
import { startRegistry } from '../test/helpers/registry.js';
import { buildImage } from '../test/helpers/images.js';
import { quietLogger } from '../test/helpers/index.js';
import { pushImage } from '../consumers/harbor-writer/src/registry-push/push-image.js';
const t0 = Date.now(); const say = (m: string) => console.error(`${Date.now() - t0} ms ${m}`);
const reg = await startRegistry({ token: { users: { u: 'p' } } });
say('registry up');
const image = buildImage({ name: 'team/app', tag: 'v1', layers: [{ files: { a: 'b' } }, { files: { c: 'x'.repeat(10000) } }] });
const raw = execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${image.ociArchive}`]);
const m = JSON.parse(raw.toString()) as { config: { digest: string }; layers: { digest: string; size: number }[] };
const summary = { compression: 'NONE' as const, manifestDigest: `sha256:${createHash('sha256').update(raw).digest('hex')}`, configDigest: m.config.digest, layers: m.layers.map((l) => ({ digest: l.digest, sizeBytes: l.size })) };
const target = (creds?: { username: string; password: string }) => ({ client: new RegistryClient({ registry: reg.address, repository: 'team-a/app', insecure: true, actions: ['pull', 'push'], credentials: creds }), registry: reg.address, name: `${reg.address}/team-a/app`, tag: '1.0.0' });
for (let i = 0; i < 5; i++) {
  await pushImage(async () => createReadStream(image.ociArchive), summary, target(), quietLogger).then(() => say('anon pushed?!'), (e: Error) => say(`anon refused: ${e.message}`));
  const p = await pushImage(async () => createReadStream(image.ociArchive), summary, target({ username: 'u', password: 'p' }), quietLogger);
  say(`pushed ${JSON.stringify(p)}`);
}
console.error(JSON.stringify(reg.tokenRequests));
await reg.stop(); image.cleanup();
