import { z } from 'zod';
import type { Descriptor } from '../archive/index.js';
import { platformMismatch, platformName, platformOfConfig, type Platform } from '../platforms.js';
import { MAX_MANIFEST_BYTES, PullRefusedError, sha256Of, type RegistryClient } from '@orbit/lib';

/** The config's os and architecture (its variant, OS version and features are read beside them); the rest of it is the validator's to read. */
const configPlatformShape = z.looseObject({ os: z.string(), architecture: z.string() });

/** A config blob as the registry sent it, to be written into the archive instead of fetched a second time. */
export interface FetchedConfig {
  readonly digest: string;
  readonly bytes: Buffer;
}

function platformOf(bytes: Buffer): Platform | undefined {
  try {
    const parsed = configPlatformShape.safeParse(JSON.parse(bytes.toString('utf8')));
    return parsed.success ? platformOfConfig(parsed.data) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The config of the one platform an index is pulled for, refused when it
 * names another platform than the index entry claims: a node picks the entry
 * by that claim and runs what the config says. A whole index's archive lets
 * the validator compare the two for every entry (archive/index-platforms.ts),
 * but one platform's archive holds no index to compare against (found by a
 * review: an arm64 image listed as linux/amd64 was stored), so it is done
 * here, in the validator's words, and an index gets one answer however it is
 * pulled. A config that is not what its digest says, not JSON or lacks the
 * fields is left to the validator, which refuses it as it would any other.
 */
export async function claimedPlatformConfig(client: RegistryClient, entry: Descriptor, config: Descriptor): Promise<FetchedConfig | undefined> {
  const claimed = entry.platform;
  // Past the validator's JSON limit (the same 4 MiB) the config is refused there, unread here.
  if (!claimed || config.size > MAX_MANIFEST_BYTES) return undefined;
  const bytes = await client.getBounded(`/blobs/${config.digest}`, '*/*', MAX_MANIFEST_BYTES);
  if (bytes === null || sha256Of(bytes) !== config.digest) return undefined;
  const said = platformOf(bytes);
  const mismatch = said && platformMismatch(`the index's manifest ${entry.digest} (${platformName(entry)})`, claimed, said);
  if (mismatch) throw new PullRefusedError('BAD_MANIFEST', mismatch);
  return { digest: config.digest, bytes };
}
