import { Counter, type Registry } from 'prom-client';
import type { UploadRequested } from '@orbit/schemas';

/** The label each way an image reaches the gateway is counted under: a form streams through it, a presigned one goes to S3. */
const SOURCE_LABELS = { ARCHIVE: 'form', PRESIGNED: 'presigned' } as const satisfies Partial<Record<UploadRequested['source'], string>>;

/** Counts the bytes of one accepted upload; an upload whose size the gateway does not know (by reference) counts nothing. */
export type CountUploadBytes = (source: UploadRequested['source'], sizeBytes: number | null) => void;

/**
 * `orbit_upload_bytes_total{source}`: the bytes of the images the gateway accepted, the throughput an operator sizes
 * staging and the validator by (found by a review: only registry pushes had a byte counter). An upload by reference
 * is not here: the validator pulls it, and the gateway never learns its size.
 */
export function uploadBytesCounter(registry: Registry): CountUploadBytes {
  const bytes = new Counter({ name: 'orbit_upload_bytes_total', help: 'Bytes of the images uploads the gateway accepted carried, by how they came (form, presigned)', labelNames: ['source'], registers: [registry] });
  for (const source of Object.values(SOURCE_LABELS)) bytes.inc({ source }, 0);
  return (source, sizeBytes) => {
    const label = source === 'REFERENCE' ? undefined : SOURCE_LABELS[source];
    if (label !== undefined && sizeBytes !== null && sizeBytes > 0) bytes.inc({ source: label }, sizeBytes);
  };
}
