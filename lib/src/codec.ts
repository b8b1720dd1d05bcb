import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
// Not re-exported by the package index; the 404 of a lookup arrives as the base class, a schema the
// library fetched but could not build as the argument error.
import { ConfluentSchemaRegistryArgumentError, ConfluentSchemaRegistryError } from '@kafkajs/confluent-schema-registry/dist/errors.js';
import avro from 'avsc';
import { createRequire } from 'node:module';
// The registry client is CommonJS: its middleware must be mappersmith's CommonJS build (the ESM build's types differ).
import type { TimeoutMiddleware as TimeoutMiddlewareOf } from 'mappersmith/middleware/timeout' with { 'resolution-mode': 'require' };
import { DecodeError, EncodeError, RetryExhaustedError, StoreUnavailableError } from './errors.js';
import { isWellFormedText } from './code-point.js';
import { retryPolicy, withRetry } from './retry.js';
import { envelopeProblem } from './envelope.js';
import { registryEndpoint } from './schema-registry-endpoint.js';

/** The Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro body. */
const WIRE_HEADER_BYTES = 5;

export type AvroSchemaJson = Record<string, unknown>;

/**
 * How long one registry request may go without a byte (the socket's idle time). Without a bound, a registry that took a request and never
 * answered held the consume loop until the stall detector replaced the consumer, and the gateway's upload with it.
 * The client answers a timeout as it does a refused connection (status 400), which the callers retry.
 */
export const REGISTRY_REQUEST_TIMEOUT_MS = 15_000;

const { TimeoutMiddleware } = createRequire(import.meta.url)('mappersmith/middleware/timeout') as { TimeoutMiddleware: typeof TimeoutMiddlewareOf };

/**
 * Each registry call is asked up to three times when it failed for want of an answer: Apicurio now and then logs a
 * registration as answered and never sends the answer (a clean-clone CI run met it), and every call here is
 * idempotent (a registration of a schema already there answers its id).
 */
const REGISTRY_CALL_RETRY = retryPolicy({ initialDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 3 });

/** A failure of a registry call that is no answer about the schema (404, 409, 422): worth asking again. */
function wantsAnotherAsk(error: unknown): boolean {
  if (error instanceof ConfluentSchemaRegistryError) return false;
  const status = typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
  return status !== 404 && status !== 409 && status !== 422;
}

/** `call`, asked again as REGISTRY_CALL_RETRY says; failing as its last attempt did. */
async function askedPatiently<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await withRetry(call, { policy: REGISTRY_CALL_RETRY, isRetriable: wantsAnotherAsk });
  } catch (error) {
    throw error instanceof RetryExhaustedError ? error.cause : error;
  }
}

/** How much of a map key a path names. */
const KEY_CHARS_NAMED = 64;

/** A map key or field name as a path names it, cut to KEY_CHARS_NAMED code points (never within a pair). */
function pathPart(name: string): string {
  const points = [...name];
  return points.length > KEY_CHARS_NAMED ? `${points.slice(0, KEY_CHARS_NAMED).join('')}…` : name;
}

/**
 * Where in `event` the first string or key that is not well-formed Unicode sits (`image.config.env.2`, as avsc
 * names fields; `a key of image.config.labels`), or undefined. Walked without recursion; bytes are not text.
 */
function illFormedTextAt(event: unknown): string | undefined {
  const pending: { value: unknown; path: string }[] = [{ value: event, path: '' }];
  const join = (path: string, name: string): string => (path === '' ? pathPart(name) : `${path}.${pathPart(name)}`);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, path } = next;
    if (typeof value === 'string') {
      if (!isWellFormedText(value)) return path || 'the value';
      continue;
    }
    if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) continue;
    const entries: [string, unknown][] = Array.isArray(value) ? value.map((item: unknown, index) => [String(index), item]) : Object.entries(value);
    for (const [name] of entries) {
      if (!isWellFormedText(name)) return path === '' ? 'a top-level key' : `a key of ${path}`;
    }
    for (let index = entries.length - 1; index >= 0; index -= 1) {
      const [name, item] = entries[index] as [string, unknown];
      pending.push({ value: item, path: join(path, name) });
    }
  }
  return undefined;
}

export interface EventCodecOptions {
  /** Bound on one registry request, in milliseconds (default `REGISTRY_REQUEST_TIMEOUT_MS`). */
  readonly requestTimeoutMs?: number;
}

export function subjectOf(topic: string): string {
  return `${topic}-value`;
}

/**
 * Avro codec over a Confluent-compatible registry. Producers encode with the id
 * the registry gave the schema this build ships; consumers decode any writer
 * version into this build's schema (the reader), so replay of the oldest events
 * yields today's shape. Writer schemas and resolvers are cached per schema id.
 */
export class EventCodec {
  readonly registry: SchemaRegistry;
  private readonly readerTypes = new Map<string, avro.Type>();
  private readonly readerSchemas: ReadonlyMap<string, AvroSchemaJson>;
  private readonly writerIds = new Map<string, Promise<number>>();
  private readonly resolvers = new Map<string, { reader: avro.Type; resolver: avro.Resolver | undefined }>();

  constructor(registryUrl: string, schemasByTopic: ReadonlyMap<string, AvroSchemaJson>, options: EventCodecOptions = {}) {
    // Retries of the registry client are kept short: the consume loop owns backoff.
    const endpoint = registryEndpoint(registryUrl);
    this.registry = new SchemaRegistry({
      host: endpoint.host,
      ...(endpoint.auth ? { auth: { ...endpoint.auth } } : {}),
      retry: { retries: 1, initialRetryTimeInSecs: 0.05 },
      middlewares: [TimeoutMiddleware(options.requestTimeoutMs ?? REGISTRY_REQUEST_TIMEOUT_MS)],
    });
    this.readerSchemas = schemasByTopic;
  }

  private readerTypeOf(topic: string): avro.Type {
    let type = this.readerTypes.get(topic);
    if (!type) {
      const schema = this.readerSchemas.get(topic);
      if (!schema) throw new EncodeError(topic, `no schema is bundled for topic ${topic}`);
      type = avro.Type.forSchema(schema as avro.Schema);
      this.readerTypes.set(topic, type);
    }
    return type;
  }

  /** The registry id of this build's schema for `topic`, registering it if new. */
  schemaIdOf(topic: string): Promise<number> {
    let id = this.writerIds.get(topic);
    if (!id) {
      const schema = this.readerSchemas.get(topic);
      if (!schema) return Promise.reject(new EncodeError(topic, `no schema is bundled for topic ${topic}`));
      const subject = subjectOf(topic);
      // Provisioning registers every schema; registering here only covers a
      // subject provisioning has not seen (tests' own topics).
      id = askedPatiently(() => this.registry.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema: JSON.stringify(schema) }))
        .catch((error: unknown) => {
          // The library turns the registry's 404 ("not registered") into its base error class.
          if (!(error instanceof ConfluentSchemaRegistryError)) throw error;
          return askedPatiently(() => this.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject, compatibility: COMPATIBILITY.BACKWARD_TRANSITIVE }))
            .then((answer) => answer.id);
        })
        .catch((error: unknown) => {
          this.writerIds.delete(topic);
          throw asRegistryError(error, (cause) => new EncodeError(topic, cause));
        });
      this.writerIds.set(topic, id);
    }
    return id;
  }

  async encode(topic: string, event: object): Promise<Buffer> {
    const type = this.readerTypeOf(topic);
    // avsc writes a lone surrogate as bytes that are not UTF-8 (ED A0 80) in a string of up to 64 bytes, as U+FFFD in a
    // longer one: a Python subscriber (Confluent's AvroDeserializer) could not decode orbit.image.validated. Refused, not
    // replaced: the event would say another text than its producer read. A consumer's handler that meets this ends its
    // message in the DLQ, and its request failed (DEAD_LETTERED), like any event that does not match its schema.
    const illFormed = illFormedTextAt(event);
    if (illFormed !== undefined) {
      throw new EncodeError(topic, new TypeError(`${illFormed} holds text that is not well-formed Unicode (half of a surrogate pair alone), which Avro would write as bytes no UTF-8 reader takes`));
    }
    const id = await this.schemaIdOf(topic);
    let body: Buffer;
    try {
      body = type.toBuffer(event);
    } catch (cause) {
      const paths: string[] = [];
      type.isValid(event, { errorHook: (path) => paths.push(path.join('.')) });
      throw new EncodeError(topic, new TypeError(`invalid fields: ${paths.join(', ') || String(cause)}`));
    }
    const header = Buffer.alloc(WIRE_HEADER_BYTES);
    header.writeInt32BE(id, 1);
    return Buffer.concat([header, body]);
  }

  async decode(topic: string, value: Buffer | null): Promise<unknown> {
    if (!value || value.length < WIRE_HEADER_BYTES || value[0] !== 0) {
      throw new DecodeError(topic, new TypeError('not in the Confluent wire format (magic byte 0 + schema id)'));
    }
    const writerId = value.readInt32BE(1);
    const { reader, resolver } = await this.resolverFor(topic, writerId);
    try {
      return resolver ? reader.fromBuffer(value.subarray(WIRE_HEADER_BYTES), resolver) : reader.fromBuffer(value.subarray(WIRE_HEADER_BYTES));
    } catch (cause) {
      throw new DecodeError(topic, cause);
    }
  }

  private async resolverFor(topic: string, writerId: number): Promise<{ reader: avro.Type; resolver: avro.Resolver | undefined }> {
    const key = `${topic}#${writerId}`;
    const cached = this.resolvers.get(key);
    if (cached) return cached;
    const reader = this.readerTypeOf(topic);
    let fetched: unknown;
    try {
      fetched = await askedPatiently(() => this.registry.getSchema(writerId));
    } catch (error) {
      if (error instanceof ConfluentSchemaRegistryArgumentError) throw new DecodeError(topic, error);
      throw asRegistryError(error, (cause) => new DecodeError(topic, cause));
    }
    // Only the fetch may be the registry's fault. A JSON Schema or Protobuf id (a Confluent serializer of another
    // kind writing to the topic) or an Avro schema avsc refuses is the message's: retried, it wedged the partition
    // for ever while the logs blamed the registry.
    const schemaType = this.registry.cache.getSchema(writerId)?.type;
    if (schemaType !== SchemaType.AVRO) throw new DecodeError(topic, new TypeError(`schema ${writerId} is ${schemaType ?? 'of an unknown type'}, not Avro`));
    let writer: avro.Type;
    try {
      writer = avro.Type.forSchema(fetched as avro.Schema);
    } catch (cause) {
      throw new DecodeError(topic, cause);
    }
    let entry: { reader: avro.Type; resolver: avro.Resolver | undefined };
    try {
      entry = { reader, resolver: reader.equals(writer) ? undefined : reader.createResolver(writer) };
    } catch (cause) {
      throw new DecodeError(topic, cause); // the writer's schema cannot be read as this topic's events
    }
    this.resolvers.set(key, entry);
    return entry;
  }
}

/**
 * The error for an event that decoded but no Orbit service would write (`problem` says why): undecodable
 * (ORBIT_ERR_DECODE), so the consume loop sets it aside with its bytes instead of acting on it or retrying it.
 */
export function unusableEvent(topic: string, problem: string): DecodeError {
  return new DecodeError(topic, new TypeError(`decoded, but not a usable Orbit event: ${problem}`));
}

/**
 * Decodes an Orbit event and refuses, as undecodable, one whose envelope is
 * unusable (`envelopeProblem`): the consumers set it aside with its bytes
 * instead of acting on it, and a rebuild passes over the same ones.
 */
export async function decodeOrbitEvent(codec: EventCodec, topic: string, value: Buffer | null): Promise<unknown> {
  const event = await codec.decode(topic, value);
  const problem = envelopeProblem(event);
  if (problem !== undefined) throw unusableEvent(topic, problem);
  return event;
}

/**
 * A 404 (unknown id or subject) or 422 (schema refused) is permanent; anything
 * else from the registry, a network failure included, means "try again".
 */
function asRegistryError(error: unknown, permanent: (cause: unknown) => Error): Error {
  const status = typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
  if (status === 404 || status === 409 || status === 422) return permanent(error);
  if (error instanceof EncodeError || error instanceof DecodeError) return error;
  return new StoreUnavailableError('schema-registry', error);
}
