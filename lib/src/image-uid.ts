import { randomBytes } from 'node:crypto';

export const IMAGE_UID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const IMAGE_UID_LENGTH = 60;
/** 62 * 4 = 248: bytes at or above it are dropped so each character is equally likely. */
const UNBIASED_LIMIT = 256 - (256 % IMAGE_UID_ALPHABET.length);

/** 60 characters of [A-Za-z0-9] from the OS CSPRNG, without modulo bias. */
export function newImageUID(random: (size: number) => Buffer = randomBytes): string {
  let uid = '';
  while (uid.length < IMAGE_UID_LENGTH) {
    for (const byte of random(IMAGE_UID_LENGTH)) {
      if (byte >= UNBIASED_LIMIT) continue;
      uid += IMAGE_UID_ALPHABET[byte % IMAGE_UID_ALPHABET.length];
      if (uid.length === IMAGE_UID_LENGTH) break;
    }
  }
  return uid;
}

/** What newImageUID gives, as a pattern for the API document: every path or query naming an image is held to it. */
export const IMAGE_UID_PATTERN = `^[A-Za-z0-9]{${IMAGE_UID_LENGTH}}$`;
