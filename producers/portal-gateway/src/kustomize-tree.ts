import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import tar from 'tar-stream';
import { yamlTextOf } from '@orbit/lib';
import { isMap, isSeq, parseDocument } from 'yaml';

const gzipAsync = promisify(gzip);

/** Where a version's Kustomize overlay for an environment lives in the tree the chart-generator wrote. */
export const overlayPathOf = (environment: string): string => `overlays/${environment.toLowerCase()}/kustomization.yaml`;

/** The repository part of a pinned reference `registry/path@sha256:…`. */
const repositoryOf = (reference: string): string => reference.slice(0, reference.lastIndexOf('@'));

/**
 * The overlay as it must read today: pulling the image from where the
 * environment's manifests pin it. An overlay written before the environment
 * got a registry of its own names none (the version moved there later, by
 * `transfers:reconcile`); one whose registry changed names the old one. The
 * rest of the file (namespace, labels, patches) stays as written.
 */
export function overlayPulling(kustomization: string, uploadPin: string | null, environmentPin: string | null): string {
  if (uploadPin === null || environmentPin === null) return kustomization;
  const name = repositoryOf(uploadPin);
  const newName = repositoryOf(environmentPin);
  const document = parseDocument(kustomization, { version: '1.1' });
  const images = document.get('images', true);
  const others = isSeq(images) ? images.items.filter((item) => !(isMap(item) && item.get('name') === name)) : [];
  const renames = [...others, ...(name === newName ? [] : [document.createNode({ name, newName })])];
  if (renames.length === 0) document.delete('images');
  else document.set('images', document.createNode(renames));
  return yamlTextOf(document);
}

/**
 * The files as a gzipped tar under one folder, as `curl … | tar xz` then
 * `kubectl apply -k <folder>/overlays/<environment>` wants them. The same files
 * give the same bytes: entries in name order, no times, no owners.
 */
export async function tarGzOf(folder: string, files: ReadonlyMap<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  // The whole tar is read before it is gzipped: piping tar-stream's pack into
  // a gzip stream lost the tar's bytes whenever one entry filled the pack's
  // buffer (a 16 KiB file gave an empty gzip).
  const tarBytes = buffer(pack);
  for (const [path, text] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    pack.entry({ name: `${folder}/${path}`, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' }, text);
  }
  pack.finalize();
  return gzipAsync(await tarBytes);
}
