import { OrbitError } from '../errors.js';
import type { Kafka } from './client.js';

/** The group has members consuming: moving its offsets now would race their commits. */
export class GroupRunningError extends OrbitError {
  constructor(groupId: string, state: string) {
    super('ORBIT_ERR_GROUP_RUNNING', `consumer group ${groupId} has running members (state ${state}); stop them before moving its offsets`);
  }
}

export interface GroupOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset the group will read. */
  readonly offset: string;
}

/** How long the committing member's fetch waits; it fetches nothing, so this is only how soon it notices it is done. */
const FETCH_WAIT_MS = 50;

/**
 * Commits `offsets` for `groupId`, on any number of topics, with one group
 * join. kafkajs's `admin.setOffsets` joins once per topic and then sits out
 * a 5 s fetch wait each time: three topics cost 15 s idle and far more on a
 * busy machine. Like it, this refuses a group that has running members,
 * whose own commits would race these.
 */
export async function setGroupOffsets(kafka: Kafka, groupId: string, offsets: readonly GroupOffset[]): Promise<void> {
  if (offsets.length === 0) return;
  const topics = [...new Set(offsets.map((entry) => entry.topic))];
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: FETCH_WAIT_MS, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    const { state } = await consumer.describeGroup();
    if (state !== 'Empty' && state !== 'Dead') throw new GroupRunningError(groupId, state);
    // The seeks are committed as the member's first fetch starts; the FETCH event says that fetch is over.
    const fetched = new Promise<void>((resolve) => { consumer.on(consumer.events.FETCH, () => resolve()); });
    const running = consumer.run({ eachBatchAutoResolve: false, eachBatch: async () => undefined });
    consumer.pause(topics.map((topic) => ({ topic })));
    for (const entry of offsets) consumer.seek(entry);
    // run() resolves once the member starts (then the fetch is still to come) and rejects if it cannot.
    await Promise.race([fetched, running.then(() => fetched)]);
  } finally {
    await consumer.disconnect();
  }
}
