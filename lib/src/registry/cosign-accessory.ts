/** cosign's tag for a manifest's signatures, attestations or SBOM: `sha256-<hex>.sig` / `.att` / `.sbom`. */
const COSIGN_ACCESSORY_TAG = /^sha256-[0-9a-f]{64}\.(?:sig|att|sbom)$/;

/** Whether `tag` is one of cosign's accessory tags, the only tags a referrer copy may move (an image's tags never are). */
export const isCosignAccessoryTag = (tag: string): boolean => COSIGN_ACCESSORY_TAG.test(tag);

interface AccessoryShape {
  readonly mediaType: unknown;
  readonly configType: unknown;
  /** Each layer's descriptor as canonical JSON: a signature is its annotations as much as its payload's digest. */
  readonly layers: readonly string[];
}

/** Keys sorted at every level: two descriptors that say the same are one string, whatever order their JSON was written in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function shapeOf(bytes: Buffer): AccessoryShape | undefined {
  let document: { mediaType?: unknown; config?: { mediaType?: unknown }; layers?: unknown };
  try {
    document = JSON.parse(bytes.toString('utf8')) as typeof document;
  } catch {
    return undefined;
  }
  if (!Array.isArray(document.layers)) return undefined;
  return { mediaType: document.mediaType, configType: document.config?.mediaType, layers: (document.layers as unknown[]).map(canonicalJson) };
}

/**
 * Whether `earlier`, the manifest a cosign tag names in the target, is a
 * predecessor of `later`, the one it names at the source now: cosign adds a
 * signature (or attestation) by putting under the same tag a manifest with
 * one more layer, so an earlier one's layers are all among the later one's,
 * under the same kind of config. Then moving the tag loses nothing the
 * target had. Anything else (a layer the source lacks: signed in the target
 * too; not an image manifest) has diverged and is not the copy's to replace.
 */
export function isAccessoryPredecessor(earlier: Buffer, later: Buffer): boolean {
  const before = shapeOf(earlier);
  const after = shapeOf(later);
  if (before === undefined || after === undefined) return false;
  if (before.mediaType !== after.mediaType || before.configType !== after.configType) return false;
  const layersNow = new Set(after.layers);
  return before.layers.every((layer) => layersNow.has(layer));
}
