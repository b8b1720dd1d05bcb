/**
 * Every error Orbit raises on purpose is an OrbitError with a stable `code`
 * and a `retriable` flag. Whether to retry is read from that flag (or from the
 * classifier in retry-classifier.ts for foreign errors), never from message text.
 */
export interface OrbitErrorOptions {
  readonly cause?: unknown;
  readonly retriable?: boolean;
}

export class OrbitError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: OrbitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** Configuration is missing or malformed; `problems` has one line per variable. */
export class ConfigError extends OrbitError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('ORBIT_ERR_CONFIG', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** A retry policy gave up; the DLQ writes `attempts` and the cause as headers. */
export class RetryExhaustedError extends OrbitError {
  readonly attempts: number;
  constructor(attempts: number, cause: unknown) {
    super('ORBIT_ERR_RETRY_EXHAUSTED', `gave up after ${attempts} attempts`, { cause });
    this.attempts = attempts;
  }
}

/** A message could not be decoded (unknown schema id, not Avro, wrong magic byte). */
export class DecodeError extends OrbitError {
  readonly topic: string;
  constructor(topic: string, cause: unknown) {
    super('ORBIT_ERR_DECODE', `message on ${topic} could not be decoded`, { cause });
    this.topic = topic;
  }
}

/** An event failed to encode against its registered schema: a programming error. */
export class EncodeError extends OrbitError {
  readonly topic: string;
  constructor(topic: string, cause: unknown) {
    super('ORBIT_ERR_ENCODE', `event for ${topic} does not match its schema`, { cause });
    this.topic = topic;
  }
}

/** A store (S3, DynamoDB, MySQL, Kafka, registry) did not answer; try again later. */
export class StoreUnavailableError extends OrbitError {
  readonly store: string;
  constructor(store: string, cause: unknown) {
    super('ORBIT_ERR_STORE_UNAVAILABLE', `${store} is unavailable`, { cause, retriable: true });
    this.store = store;
  }
}

/** A message handler failed for good; the consume loop sends the message to the DLQ. */
export class PoisonMessageError extends OrbitError {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  constructor(where: { topic: string; partition: number; offset: string }, cause: unknown) {
    super('ORBIT_ERR_POISON_MESSAGE', `message ${where.topic}[${where.partition}]@${where.offset} cannot be processed`, { cause });
    this.topic = where.topic;
    this.partition = where.partition;
    this.offset = where.offset;
  }
}

/** A lookup in a fixed catalogue (PIDs, topics, tables) found nothing: a programming error. */
export class UnknownEntryError extends OrbitError {
  constructor(catalogue: string, key: string) {
    super('ORBIT_ERR_UNKNOWN_ENTRY', `${catalogue} has no entry "${key}"`);
  }
}

/** Stable codes of the errors above, for docs/errors.md and its test. */
export const ERROR_CODES = [
  'ORBIT_ERR_CONFIG',
  'ORBIT_ERR_RETRY_EXHAUSTED',
  'ORBIT_ERR_DECODE',
  'ORBIT_ERR_ENCODE',
  'ORBIT_ERR_STORE_UNAVAILABLE',
  'ORBIT_ERR_POISON_MESSAGE',
  'ORBIT_ERR_UNKNOWN_ENTRY',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
