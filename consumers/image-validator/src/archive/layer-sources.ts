import { z } from 'zod';
import { descriptorShape, firstIssue } from './json-shapes.js';
import { isForeignLayer } from './layers.js';
import { reject } from './rejections.js';

/** docker save's LayerSources: the descriptor of each layer (by its diff_id) that docker load must not take for an ordinary one. */
const layerSourcesShape = z.record(z.string(), descriptorShape).nullable().optional();

/**
 * Refuses a docker save image whose manifest.json declares a layer foreign or non-distributable, or fetched from
 * `urls`, in its LayerSources: docker save writes them so for Windows base layers, and docker load and skopeo push
 * them as such, fetched from elsewhere at run time. Orbit would push the bytes as an ordinary layer, which is
 * another image than the one saved (found by a review: the same layer in an OCI layout was refused, in a docker
 * save accepted).
 */
export function refuseForeignLayerSources(image: Readonly<Record<string, unknown>>): void {
  const sources = layerSourcesShape.safeParse(image['LayerSources']);
  if (!sources.success) reject('BAD_MANIFEST', `manifest.json's LayerSources has the wrong shape: ${firstIssue(sources.error)}`);
  for (const [diffId, source] of Object.entries(sources.data ?? {})) {
    const foreign = source.mediaType !== undefined && isForeignLayer(source.mediaType);
    const urls = source.urls ?? [];
    if (!foreign && urls.length === 0) continue;
    const from = urls.length > 0 ? ` fetched from ${urls[0] ?? ''}` : ' fetched from elsewhere';
    const what = foreign ? `a foreign layer (${source.mediaType ?? ''}),${from} at run time` : `a layer${from} at run time (it names urls)`;
    reject('UNSUPPORTED_LAYER', `manifest.json's LayerSources declares the layer ${diffId} ${what}; Orbit serves every layer from its own stores: save the image without foreign layers`);
  }
}
