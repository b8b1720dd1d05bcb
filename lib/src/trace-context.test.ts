import { describe, expect, it } from 'vitest';
import { childSpan, formatTraceparent, parseTraceparent, startTrace } from './trace-context.js';

describe('traceparent', () => {
  it('round-trips a W3C traceparent', () => {
    const value = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(formatTraceparent(parseTraceparent(value)!)).toBe(value);
  });

  it('rejects malformed and all-zero ids', () => {
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeUndefined();
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBeUndefined();
    expect(parseTraceparent('garbage')).toBeUndefined();
    expect(parseTraceparent(undefined)).toBeUndefined();
  });

  it('keeps the trace id and makes a new span id for a child', () => {
    const parent = startTrace();
    const child = childSpan(parent);
    expect(child.traceId).toBe(parent.traceId);
    expect(child.spanId).not.toBe(parent.spanId);
    expect(childSpan(undefined).traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('never hands out the same id twice, across refills of its random pool', () => {
    const traces = Array.from({ length: 1000 }, () => startTrace());
    const spans = traces.flatMap((trace) => [trace.spanId, childSpan(trace).spanId]);
    expect(new Set(spans).size).toBe(spans.length);
    expect(new Set(traces.map((trace) => trace.traceId)).size).toBe(traces.length);
    for (const trace of traces) expect(parseTraceparent(formatTraceparent(trace))).toEqual(trace);
  });
});
