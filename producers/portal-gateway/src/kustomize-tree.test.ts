import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { overlayPathOf, overlayPulling, tarGzOf } from './kustomize-tree.js';

const UPLOAD = 'registry.dev:5000/orbit/billing-api@sha256:aaaa';
const OWN = 'harbor.test/orbit-testing/billing-api@sha256:aaaa';
const overlay = [
  'apiVersion: "kustomize.config.k8s.io/v1beta1"',
  'kind: "Kustomization"',
  'namespace: "orbit-testing"',
  'resources:',
  '  - "../../base"',
  '',
].join('\n');

async function entriesOf(archive: Buffer): Promise<{ name: string; mode: number | undefined; mtime: number | undefined; text: string }[]> {
  const found: { name: string; mode: number | undefined; mtime: number | undefined; text: string }[] = [];
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      found.push({ name: entry.header.name, mode: entry.header.mode, mtime: entry.header.mtime?.getTime(), text: Buffer.concat(chunks).toString('utf8') });
    }
  })();
  extract.end(gunzipSync(archive));
  await done;
  return found;
}

describe('overlayPulling', () => {
  it('renames the image to the environment\'s own registry when the overlay was written before it had one, keeping the rest', () => {
    const rewritten = parse(overlayPulling(overlay, UPLOAD, OWN)) as Record<string, unknown>;
    expect(rewritten).toEqual({ ...parse(overlay) as object, images: [{ name: 'registry.dev:5000/orbit/billing-api', newName: 'harbor.test/orbit-testing/billing-api' }] });
  });

  it('replaces a rename to a registry the environment no longer pulls from, and drops it when it pulls from the upload\'s', () => {
    const stale = overlayPulling(overlay, UPLOAD, 'old.registry/orbit-testing/billing-api@sha256:aaaa');
    expect((parse(overlayPulling(stale, UPLOAD, OWN)) as { images: unknown[] }).images).toEqual([{ name: 'registry.dev:5000/orbit/billing-api', newName: 'harbor.test/orbit-testing/billing-api' }]);
    expect(parse(overlayPulling(stale, UPLOAD, UPLOAD))).toEqual(parse(overlay));
  });

  it('leaves the overlay as written when the environment pulls from the upload\'s registry, or nothing says where it was pushed', () => {
    expect(overlayPulling(overlay, UPLOAD, null)).toBe(overlay);
    expect(overlayPulling(overlay, null, OWN)).toBe(overlay);
  });
});

describe('tarGzOf', () => {
  it('writes the files under one folder, in name order, without times or owners: the same files give the same bytes', async () => {
    const files = new Map([[overlayPathOf('Testing'), overlay], ['base/kustomization.yaml', 'resources: []\n']]);
    const archive = await tarGzOf('billing-api', files);
    expect(await entriesOf(archive)).toEqual([
      { name: 'billing-api/base/kustomization.yaml', mode: 0o644, mtime: 0, text: 'resources: []\n' },
      { name: 'billing-api/overlays/testing/kustomization.yaml', mode: 0o644, mtime: 0, text: overlay },
    ]);
    expect((await tarGzOf('billing-api', new Map([...files].reverse()))).equals(archive)).toBe(true);
  });

  it('is whole for any size of file, a multiple of the stream buffer (16 KiB) too, and for many files', async () => {
    for (const size of [0, 511, 512, 16383, 16384, 16385, 32768, 65536, 1 << 20]) {
      const text = 'x'.repeat(size);
      expect(await entriesOf(await tarGzOf('tree', new Map([['a.yaml', text]]))), `${size} bytes`).toEqual([
        { name: 'tree/a.yaml', mode: 0o644, mtime: 0, text },
      ]);
    }
    const many = new Map(Array.from({ length: 200 }, (_, index) => [`f${String(index).padStart(3, '0')}.yaml`, `${index}\n`.repeat(100)]));
    expect((await entriesOf(await tarGzOf('tree', many))).map((entry) => entry.text)).toEqual([...many.values()]);
  });
});
