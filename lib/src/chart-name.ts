/** Helm appends "-<chart>" style suffixes to release names; 53 leaves room for them inside the 63 of a DNS label. */
export const MAX_CHART_NAME = 53;

function dnsSlug(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '') // accents fall off so "Café" becomes "cafe" rather than "caf"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '') // DNS-1035 (Service names) needs a leading letter, stricter than DNS-1123
    .slice(0, MAX_CHART_NAME)
    .replace(/-+$/, '');
}

/**
 * Chart (and default release) name: a DNS label of at most 53 characters that
 * starts with a letter. A name with nothing usable in it falls back to the
 * image UID, so two such images still get different charts.
 */
export function chartNameOf(imageName: string, imageUID: string): string {
  const slug = dnsSlug(imageName);
  if (slug !== '') return slug;
  const uidPart = imageUID.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 8);
  return `image-${uidPart === '' ? 'unnamed' : uidPart}`;
}
