import { loadSchemas } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { testConfig, uniqueSuffix } from '../../test/helpers/index.js';
import { EventCodec } from './codec.js';
import { DecodeError } from './errors.js';

const topic = `test.codec.${uniqueSuffix()}`;
const codec = new EventCodec(testConfig.SCHEMA_REGISTRY_URL, new Map([[topic, loadSchemas().get('orbit.upload.requested')!]]));

/** Registers a schema of another kind under a subject of the test's own, through the registry's Confluent API. */
async function registered(schemaType: 'JSON' | 'PROTOBUF', schema: string): Promise<number> {
  const response = await fetch(`${testConfig.SCHEMA_REGISTRY_URL}/subjects/test-codec-${uniqueSuffix()}-value/versions`, {
    method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schemaType, schema }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { id: number }).id;
}

/** What a Confluent JSON or Protobuf serializer writes: magic byte, the schema's id, its own body. */
function wireValue(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

describe('EventCodec.decode of a record whose schema is not Avro', () => {
  it.each([
    ['a JSON Schema', () => registered('JSON', JSON.stringify({ type: 'object', properties: { a: { type: 'string' } } })), Buffer.from('{"a":"x"}')],
    ['a Protobuf schema', () => registered('PROTOBUF', `syntax = "proto3"; message M${uniqueSuffix()} { string a = 1; }`), Buffer.from([0x00, 0x0a, 0x01, 0x78])],
  ])('refuses %s for good (the DLQ), instead of blaming the registry and retrying for ever', async (_kind, register, body) => {
    const id = await register();
    const refused = await codec.decode(topic, wireValue(id, body)).then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(DecodeError);
    expect(refused).toMatchObject({ code: 'ORBIT_ERR_DECODE', retriable: false });
    expect(String((refused as DecodeError).cause)).toContain('not Avro');
  });
});
