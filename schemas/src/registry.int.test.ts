import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { EventCodec, subjectOf, type AvroSchemaJson } from '@orbit/lib';
import { startService, stopService } from '@orbit/local-stack';
import { testConfig, uniqueSuffix, waitFor } from '../../test/helpers/index.js';
import { BUNDLED_SCHEMA_DIR, loadSchemas } from './catalogue.js';
import { RegistryAdmin } from './registry-admin.js';
import { sampleEvents } from './samples.js';
import { REQUIRED_COMPATIBILITY, syncSubject } from './sync.js';

const admin = new RegistryAdmin(testConfig.SCHEMA_REGISTRY_URL);
const CHECK_CLI = fileURLToPath(new URL('../dist/check-cli.js', import.meta.url));

function withField(schema: AvroSchemaJson, field: Record<string, unknown>): AvroSchemaJson {
  return { ...schema, fields: [...(schema['fields'] as unknown[]), field] };
}

describe('schema registry (Apicurio ccompat)', () => {
  it('pins BACKWARD_TRANSITIVE on every provisioned subject', async () => {
    for (const topic of loadSchemas().keys()) {
      expect(await admin.compatibility(subjectOf(topic))).toBe(REQUIRED_COMPATIBILITY);
    }
  });

  it('accepts a compatible evolution and refuses a breaking one', async () => {
    const topic = `test.schema.${uniqueSuffix()}`;
    const v1 = loadSchemas().get('orbit.viewport.updated')!;
    expect((await syncSubject(admin, topic, v1, false)).action).toBe('registered');
    const compatible = withField(v1, { name: 'note', type: ['null', 'string'], default: null });
    expect((await syncSubject(admin, topic, compatible, false)).action).toBe('registered');
    const breaking = withField(v1, { name: 'mandatory', type: 'long' });
    const report = await syncSubject(admin, topic, breaking, true);
    expect(report.action).toBe('incompatible');
    expect(report.problems.length).toBeGreaterThan(0);
    // The registry itself refuses it too, so nothing can slip past provisioning.
    expect(await admin.isCompatible(subjectOf(topic), breaking)).toBe(false);
  });

  // A symbol added to an enum (1a8a202's ZSTD) is BACKWARD compatible, so it was registered without a word, yet consumers
  // still built with the version before cannot read what it writes: told, not refused.
  it('tells a change consumers of the latest registered version cannot read, and lets it through', async () => {
    const topic = `test.schema.${uniqueSuffix()}`;
    // An enum without a default, as Compression was before 1a8a202: a reader of it has nowhere to put a new symbol.
    const compression = (symbols: string[], fallback?: string): AvroSchemaJson => ({
      type: 'record', name: 'Packed', namespace: 'orbit.test',
      fields: [{ name: 'compression', type: { type: 'enum', name: 'Compression', symbols, ...(fallback ? { default: fallback } : {}) } }],
    });
    expect((await syncSubject(admin, topic, compression(['NONE', 'GZIP']), false)).action).toBe('registered');
    const added = await syncSubject(admin, topic, compression(['NONE', 'GZIP', 'ZSTD'], 'NONE'), true);
    expect(added.action).toBe('would-register');
    expect(added.notForward).toEqual([expect.objectContaining({ subject: subjectOf(topic), version: expect.any(Number) })]);
    expect((await syncSubject(admin, topic, compression(['NONE', 'GZIP']), true)).notForward).toEqual([]);
  });

  it('`schemas:check` fails on a breaking change to a bundled schema and passes on the bundled ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orbit-schemas-'));
    cpSync(BUNDLED_SCHEMA_DIR, dir, { recursive: true });
    const ok = spawnSync(process.execPath, [CHECK_CLI], { env: { ...process.env, ORBIT_SCHEMAS_DIR: dir }, encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    const file = join(dir, 'ImageStored.avsc');
    const schema = JSON.parse(readFileSync(file, 'utf8')) as AvroSchemaJson;
    writeFileSync(file, JSON.stringify(withField(schema, { name: 'checksumAlgorithm', type: 'string' })));
    const broken = spawnSync(process.execPath, [CHECK_CLI], { env: { ...process.env, ORBIT_SCHEMAS_DIR: dir }, encoding: 'utf8' });
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain('INCOMPATIBLE orbit.image.stored-value');
  });

  it('still decodes earlier messages after the registry restarts (durable storage)', async () => {
    const topic = 'orbit.image.stored';
    const event = sampleEvents()['orbit.image.stored'];
    const bytes = await new EventCodec(testConfig.SCHEMA_REGISTRY_URL, loadSchemas()).encode(topic, event);
    // Back up even when this test times out: every later test needs the registry.
    onTestFinished(async () => { await startService('schema-registry'); });
    await stopService('schema-registry');
    await startService('schema-registry');
    await waitFor(async () => (await fetch(`${testConfig.SCHEMA_REGISTRY_URL}/subjects`)).ok, { timeoutMs: 90_000, what: 'the registry to answer again' });
    // A fresh codec has no cache: the writer schema must come from the restarted registry.
    const decoded = await new EventCodec(testConfig.SCHEMA_REGISTRY_URL, loadSchemas()).decode(topic, bytes);
    expect(decoded).toEqual(event);
  });
});
