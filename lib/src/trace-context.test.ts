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

  it('reads a traceparent header written in upper case or with surrounding whitespace, as the same trace', () => {
    expect(parseTraceparent(' 00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01\r\n')).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true });
  });

  it('counts a trace as sampled by the sampled bit alone: flags 03 (sampled and random) is sampled, 02 is not', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03')?.sampled).toBe(true);
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02')?.sampled).toBe(false);
  });

  it('keeps a parent\'s sampling decision in its child span: an unsampled trace stays unsampled', () => {
    const unsampled = parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')!;
    expect(childSpan(unsampled).sampled).toBe(false);
    expect(formatTraceparent(childSpan(unsampled))).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$/);
  });

  it('never hands out the same id twice, across refills of its random pool', () => {
    const traces = Array.from({ length: 1000 }, () => startTrace());
    const spans = traces.flatMap((trace) => [trace.spanId, childSpan(trace).spanId]);
    expect(new Set(spans).size).toBe(spans.length);
    expect(new Set(traces.map((trace) => trace.traceId)).size).toBe(traces.length);
    for (const trace of traces) expect(parseTraceparent(formatTraceparent(trace))).toEqual(trace);
  });
});
