import type { Kafka } from './client.js';
import { orbitProducer } from './client.js';
import { holdGroup } from './group-offsets.js';
import { HEADER, headerBytes, headersToStrings } from './headers.js';
import { readTopicToEnd } from './read-to-end.js';

/** One dead letter as ops see it: where it failed, why, and its original bytes. */
export interface DeadLetterEntry {
  readonly dlqTopic: string;
  readonly dlqPartition: number;
  readonly dlqOffset: string;
  readonly originalTopic: string;
  readonly originalPartition: string;
  readonly originalOffset: string;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly attempts: string;
  readonly consumerGroup: string;
  readonly failedAt: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The message's own headers, without the orbit-dlq-* ones: every value of each, as the bytes it was written with. */
  readonly originalHeaders: Record<string, Buffer[]>;
  /** Put back on its topic already by a `dlq:redrive` without offsets: what the next one leaves alone. */
  readonly redriven: boolean;
  /** The letter this one was re-driven from (`<dlq>/<partition>/<offset>`) when it failed again after a re-drive. */
  readonly redrivenFrom: string | null;
  /** The value's length when the letter could not keep the message (too large for the DLQ); null when it did. */
  readonly omittedValueBytes: number | null;
}

/** A letter a re-drive leaves where it is, and why. */
export interface SetAsideLetter {
  readonly letter: DeadLetterEntry;
  readonly reason: string;
}

export interface RedriveOutcome {
  /** Put back on their topics, each for the consumer group that failed on it. */
  readonly redriven: DeadLetterEntry[];
  readonly setAside: SetAsideLetter[];
}

/**
 * Why a re-drive should leave `letter` alone, if it should. Bytes that could
 * not be decoded fail again in every group (unless named on purpose, say
 * after the schema they need was registered); a letter that kept no message
 * has nothing to send.
 */
export function whyNotRedriven(letter: DeadLetterEntry, named: boolean): string | undefined {
  if (letter.omittedValueBytes !== null) {
    return `the message (${letter.omittedValueBytes} bytes) was too large to keep in the letter; it is on ${letter.originalTopic}/${letter.originalPartition}@${letter.originalOffset}`;
  }
  if (letter.errorCode === 'ORBIT_ERR_DECODE' && !named) return 'it could not be decoded, and would fail again; name its offset to re-drive it anyway';
  return undefined;
}

/** The header a re-driven message carries: where it was a dead letter before. */
const REDRIVEN_FROM = 'orbit-redriven-from';

/** The consumer group whose committed offsets on a DLQ marked what was re-driven already, for every DLQ at once (before per-topic groups). */
export const REDRIVE_GROUP = 'orbit-dlq-redrive';

/**
 * The group a re-drive of `dlqTopic` holds while it runs and commits to: one
 * per DLQ, so that re-drives of two topics neither wait for nor refuse each other.
 */
export const redriveGroupOf = (dlqTopic: string): string => `${REDRIVE_GROUP}.${dlqTopic}`;

const DLQ_HEADERS: ReadonlySet<string> = new Set([
  HEADER.dlqError, HEADER.dlqMessage, HEADER.dlqRetriable, HEADER.dlqAttempts, HEADER.dlqTopic, HEADER.dlqPartition, HEADER.dlqOffset, HEADER.dlqGroup, HEADER.dlqFailedAt,
  HEADER.dlqOmitted, HEADER.dlqOmittedSha256,
]);

/**
 * Every dead letter on `dlqTopic`, read from the beginning up to its end now,
 * without committing anything (a throwaway group that never commits).
 */
export async function listDeadLetters(kafka: Kafka, dlqTopic: string, timeoutMs = 30_000): Promise<DeadLetterEntry[]> {
  const letters: DeadLetterEntry[] = [];
  const already = await redrivenUpTo(kafka, dlqTopic);
  await readTopicToEnd(kafka, dlqTopic, (message, partition) => {
    const headers = headersToStrings(message.headers);
    letters.push({
      redriven: BigInt(message.offset) < (already.get(partition) ?? 0n), redrivenFrom: headers[REDRIVEN_FROM] ?? null,
      dlqTopic, dlqPartition: partition, dlqOffset: message.offset,
      originalTopic: headers[HEADER.dlqTopic] ?? '', originalPartition: headers[HEADER.dlqPartition] ?? '', originalOffset: headers[HEADER.dlqOffset] ?? '',
      errorCode: headers[HEADER.dlqError] ?? '', errorMessage: headers[HEADER.dlqMessage] ?? '', attempts: headers[HEADER.dlqAttempts] ?? '',
      consumerGroup: headers[HEADER.dlqGroup] ?? '', failedAt: headers[HEADER.dlqFailedAt] ?? '',
      key: message.key, value: message.value,
      omittedValueBytes: headers[HEADER.dlqOmitted] === undefined ? null : Number(headers[HEADER.dlqOmitted]),
      originalHeaders: Object.fromEntries(Object.entries(headerBytes(message.headers)).filter(([name]) => !DLQ_HEADERS.has(name))),
    });
  }, { groupPrefix: 'orbit-dlq-list', timeoutMs });
  return letters.sort((a, b) => a.dlqPartition - b.dlqPartition || Number(BigInt(a.dlqOffset) - BigInt(b.dlqOffset)));
}

/** Offsets (per DLQ partition) below which letters were re-driven already: by the topic's own group, or earlier by the shared one. */
async function redrivenUpTo(kafka: Kafka, dlqTopic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const upTo = new Map<number, bigint>();
    for (const groupId of [REDRIVE_GROUP, redriveGroupOf(dlqTopic)]) {
      const [topic] = await admin.fetchOffsets({ groupId, topics: [dlqTopic] });
      for (const { partition, offset } of topic?.partitions ?? []) {
        if (Number(offset) >= 0 && BigInt(offset) > (upTo.get(partition) ?? 0n)) upTo.set(partition, BigInt(offset));
      }
    }
    return upTo;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Puts dead letters back on their original topics with their original key,
 * value and headers, each marked for the consumer group that failed on it:
 * the other groups of the topic handled the original already and pass it over
 * (re-sent to all, each failing group wrote a letter of its own, 3 → 9 → 27).
 * Letters for the same message and group go once. Without `offsets` it
 * re-drives every letter not re-driven yet, save those `whyNotRedriven` sets
 * aside, and records how far it got, so running it twice sends nothing twice.
 * It holds the re-drive group meanwhile: a second re-drive of the topic
 * started before this one ends refuses (GroupRunningError) before sending anything.
 */
export async function redriveDeadLetters(kafka: Kafka, dlqTopic: string, options: { offsets?: readonly string[] } = {}): Promise<RedriveOutcome> {
  const group = await holdGroup(kafka, redriveGroupOf(dlqTopic), [dlqTopic]);
  try {
    const letters = await listDeadLetters(kafka, dlqTopic);
    const chosen = options.offsets ? letters.filter((letter) => options.offsets?.includes(letter.dlqOffset)) : letters.filter((letter) => !letter.redriven);
    const redriven: DeadLetterEntry[] = [];
    const setAside: SetAsideLetter[] = [];
    const sentFor = new Map<string, DeadLetterEntry>();
    for (const letter of chosen) {
      const reason = whyNotRedriven(letter, options.offsets !== undefined);
      const messageForGroup = `${letter.consumerGroup}|${letter.originalTopic}/${letter.originalPartition}@${letter.originalOffset}`;
      const same = sentFor.get(messageForGroup);
      if (reason !== undefined) setAside.push({ letter, reason });
      else if (same) setAside.push({ letter, reason: `the same message for ${letter.consumerGroup || 'its group'} goes with ${same.dlqTopic}/${same.dlqPartition}@${same.dlqOffset}` });
      else {
        sentFor.set(messageForGroup, letter);
        redriven.push(letter);
      }
    }
    if (chosen.length === 0) return { redriven, setAside };
    if (redriven.length > 0) {
      const producer = orbitProducer(kafka);
      await producer.connect();
      try {
        for (const letter of redriven) {
          await producer.send({
            topic: letter.originalTopic, acks: -1,
            messages: [{
              key: letter.key, value: letter.value,
              headers: {
                ...letter.originalHeaders, [REDRIVEN_FROM]: `${letter.dlqTopic}/${letter.dlqPartition}/${letter.dlqOffset}`,
                ...(letter.consumerGroup !== '' ? { [HEADER.redriveGroup]: letter.consumerGroup } : {}),
              },
            }],
          });
        }
      } finally {
        await producer.disconnect();
      }
    }
    if (!options.offsets) {
      const next = new Map<number, bigint>();
      for (const letter of chosen) next.set(letter.dlqPartition, BigInt(letter.dlqOffset) + 1n);
      await group.commit([...next].map(([partition, offset]) => ({ topic: dlqTopic, partition, offset: offset.toString() })));
    }
    return { redriven, setAside };
  } finally {
    await group.release();
  }
}
