import { randomFillSync } from 'node:crypto';

/**
 * W3C trace context (https://www.w3.org/TR/trace-context/): `traceparent` is
 * `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. The gateway starts a
 * trace; each consumer keeps the trace id and names itself as the new parent.
 */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ALL_ZERO = /^0+$/;

export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  if (value === undefined) return undefined;
  const match = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!match) return undefined;
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string];
  if (ALL_ZERO.test(traceId) || ALL_ZERO.test(spanId)) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.sampled ? '01' : '00'}`;
}

// Ids come from a pool refilled 4 KiB at a time: a consumer starts a span for
// every message, and one getrandom call per id cost more than decoding the event.
const randomPool = Buffer.alloc(4096);
let poolUsed = randomPool.length;

function randomHex(bytes: number): string {
  if (poolUsed + bytes > randomPool.length) {
    randomFillSync(randomPool);
    poolUsed = 0;
  }
  const hex = randomPool.toString('hex', poolUsed, poolUsed + bytes);
  poolUsed += bytes;
  return hex;
}

export function startTrace(): TraceContext {
  return { traceId: randomHex(16), spanId: randomHex(8), sampled: true };
}

/** A child span of `parent`, or a new trace when there is no valid parent. */
export function childSpan(parent: TraceContext | undefined): TraceContext {
  if (!parent) return startTrace();
  return { traceId: parent.traceId, spanId: randomHex(8), sampled: parent.sampled };
}
