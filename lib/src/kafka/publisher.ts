import type { EventCodec } from '../codec.js';
import type { EventEnvelope } from '../envelope.js';
import type { Logger } from '../logger.js';
import { entryOfPid } from '../pids.js';
import { childSpan, formatTraceparent, type TraceContext } from '../trace-context.js';
import type { Kafka, Producer } from './client.js';
import { orbitProducer } from './client.js';
import { HEADER } from './headers.js';

export interface PublishOptions {
  /** Trace of the message being handled; the event becomes a child span of it. */
  readonly trace?: TraceContext | undefined;
}

export interface OutgoingEvent {
  readonly topic: string;
  readonly event: EventEnvelope;
  readonly options?: PublishOptions;
}

/**
 * Publishes Orbit events: Avro through the registry codec, key = imageUID so an
 * image's events stay in order, the envelope mirrored in headers for tools that
 * cannot decode Avro, and traceparent carried on. The producer is idempotent
 * (acks=-1, one in-flight request), so a retried send does not duplicate.
 */
export class EventPublisher {
  private constructor(
    private readonly producer: Producer,
    private readonly codec: EventCodec,
    private readonly log: Logger,
  ) {}

  static async connect(kafka: Kafka, codec: EventCodec, logger: Logger): Promise<EventPublisher> {
    const producer = orbitProducer(kafka);
    try {
      await producer.connect();
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
    return new EventPublisher(producer, codec, logger.child({ component: 'publisher' }));
  }

  async publish(topic: string, event: EventEnvelope, options: PublishOptions = {}): Promise<void> {
    await this.publishAll([{ topic, event, options }]);
  }

  /** Sends several events in one request per topic; all or none are acknowledged. */
  async publishAll(events: readonly OutgoingEvent[]): Promise<void> {
    const byTopic = new Map<string, { key: string; value: Buffer; headers: Record<string, string> }[]>();
    for (const { topic, event, options } of events) {
      const value = await this.codec.encode(topic, event);
      const messages = byTopic.get(topic) ?? [];
      messages.push({ key: event.imageUID, value, headers: headersOf(event, options?.trace) });
      byTopic.set(topic, messages);
    }
    await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    for (const { topic, event } of events) {
      this.log.debug({ topic, pid: event.pid, correlationId: event.correlationId, imageUID: event.imageUID }, 'event published');
    }
  }

  /** Raw send for the DLQ and for tests that need bytes no codec would write. */
  async sendRaw(topic: string, messages: readonly { key: Buffer | string | null; value: Buffer | null; headers?: Record<string, string | Buffer> }[]): Promise<void> {
    await this.producer.send({ topic, acks: -1, messages: messages.map((message) => ({ ...message })) });
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}

function headersOf(event: EventEnvelope, trace: TraceContext | undefined): Record<string, string> {
  return {
    [HEADER.traceparent]: formatTraceparent(childSpan(trace)),
    [HEADER.eventType]: entryOfPid(event.pid).eventType,
    [HEADER.pid]: event.pid,
    [HEADER.correlationId]: event.correlationId,
    [HEADER.eventId]: event.eventId,
  };
}
