/**
 * When a URL signed from now on stops working at the earliest, as an ISO date: a SigV4 signature's time
 * (X-Amz-Date) is to the second, cut down, so one signed at …:11.9 stops at …:11 plus its seconds; the
 * milliseconds said it worked 0.9 s longer. Taken before signing: a signature made later only lasts longer.
 */
export function presignExpiryFromNow(presignSeconds: number, now: number = Date.now()): string {
  return new Date(Math.floor(now / 1000) * 1000 + presignSeconds * 1000).toISOString();
}
