import type { EnvironmentName } from '@orbit/lib';
import type { Caller } from '../auth.js';
import { notFound } from '../errors.js';
import type { ImageReader, ImageView } from '../ports.js';
import { readableEnvironments, visibleImage } from '../read-access.js';
import type { TransferPolicy } from '../transfer-rules.js';

/**
 * An image as the caller may see it (read-access.ts), with the environments
 * of other owners' images their roles let them read; 404 when they may see
 * none of it, as for an image that does not exist, so UIDs cannot be probed.
 */
export async function imageSeenBy(
  images: ImageReader, caller: Caller, uid: string, policy: TransferPolicy | undefined,
): Promise<{ readonly image: ImageView; readonly readable: EnvironmentName[] }> {
  const readable = policy ? readableEnvironments(caller.roles, policy) : [];
  const image = visibleImage(await images.get(uid), caller.actor.username, readable);
  if (!image) throw notFound(`image ${uid}`);
  return { image, readable };
}
