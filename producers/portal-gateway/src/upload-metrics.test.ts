import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { uploadBytesCounter } from './upload-metrics.js';

describe('orbit_upload_bytes_total', () => {
  it('counts accepted bytes by how they came, from 0 for each, and nothing for an upload by reference, whose size the gateway never sees', async () => {
    const registry = new Registry();
    const count = uploadBytesCounter(registry);
    const scrape = async (): Promise<string> => registry.getSingleMetricAsString('orbit_upload_bytes_total');
    expect(await scrape()).toMatch(/^orbit_upload_bytes_total\{source="form"\} 0$/m);
    expect(await scrape()).toMatch(/^orbit_upload_bytes_total\{source="presigned"\} 0$/m);
    count('ARCHIVE', 1_000);
    count('ARCHIVE', 500);
    count('PRESIGNED', 7_000_000_000);
    count('REFERENCE', null);
    count('PRESIGNED', null);
    const text = await scrape();
    expect(text).toMatch(/^orbit_upload_bytes_total\{source="form"\} 1500$/m);
    expect(text).toMatch(/^orbit_upload_bytes_total\{source="presigned"\} 7000000000$/m);
    expect(text).not.toContain('reference');
  });
});
