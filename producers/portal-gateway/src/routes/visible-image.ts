import type { EnvironmentName } from '@orbit/lib';
import type { Caller } from '../auth.js';
import { notFound } from '../errors.js';
import type { ImageReader, ImageView } from '../ports.js';
import { readableEnvironments, visibleImage } from '../read-access.js';
import type { TransferPolicy } from '../transfer-rules.js';

/**
 * An image as the caller may see it (read-access.ts), holding `version` alone
 * (none when it has no such version), with the environments of other owners'
 * images their roles let them read; 404 when they may see none of it, as for
 * an image that does not exist, so UIDs cannot be probed: another owner's
 * image whose version the caller may not read is not found.
 */
export async function imageSeenBy(
  images: ImageReader, caller: Caller, uid: string, policy: TransferPolicy | undefined, version: string,
): Promise<{ readonly image: ImageView; readonly readable: EnvironmentName[] }> {
  const readable = policy ? readableEnvironments(caller.roles, policy) : [];
  // A route about one version reads that version alone: on an image of a thousand versions, reading all was ×19 slower.
  const found = await images.getVersion(uid, version);
  const image = visibleImage(found, caller.actor.username, readable);
  if (!image) throw notFound(`image ${uid}`);
  return { image, readable };
}
