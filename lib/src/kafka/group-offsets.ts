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

/** A consumer group this process is the only member of, until release(): other processes find it running and stay off. */
export interface HeldGroup {
  /** Commits `offsets` (on the held topics) as the group's member. */
  commit(offsets: readonly GroupOffset[]): Promise<void>;
  release(): Promise<void>;
}

/**
 * Joins `groupId` on `topics` as its only member, consuming nothing, and
 * holds it until released: the group itself is the lock of an operation on
 * its offsets (a re-drive), so a second run refuses instead of repeating the
 * first's work. Refuses with GroupRunningError a group that has members
 * already, or that another process joined at the same moment.
 */
export async function holdGroup(kafka: Kafka, groupId: string, topics: readonly string[]): Promise<HeldGroup> {
  // A holder killed outright holds the group until its session ends: 10 s, not kafkajs's 30 (the broker's least is 6).
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: FETCH_WAIT_MS, allowAutoTopicCreation: false, sessionTimeout: 10_000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    const before = await consumer.describeGroup();
    if (before.state !== 'Empty' && before.state !== 'Dead') throw new GroupRunningError(groupId, before.state);
    const joined = new Promise<void>((resolve) => { consumer.on(consumer.events.GROUP_JOIN, () => resolve()); });
    const running = consumer.run({ eachBatchAutoResolve: false, eachBatch: async () => undefined });
    consumer.pause(topics.map((topic) => ({ topic })));
    // run() resolves once the member starts (the join may still be under way) and rejects if it cannot.
    await Promise.race([joined, running.then(() => joined)]);
    const after = await consumer.describeGroup();
    if (after.members.length > 1) throw new GroupRunningError(groupId, `${after.state}, ${after.members.length} members joined at once`);
  } catch (error) {
    await consumer.disconnect();
    throw error;
  }
  return {
    async commit(offsets) {
      if (offsets.length === 0) return;
      // kafkajs commits seeks as a fetch starts: wait for one that starts after them (one under way now would not), and for its end.
      const committed = new Promise<void>((resolve) => {
        const stopStart = consumer.on(consumer.events.FETCH_START, () => {
          stopStart();
          const stopFetch = consumer.on(consumer.events.FETCH, () => {
            stopFetch();
            resolve();
          });
        });
      });
      for (const entry of offsets) consumer.seek(entry);
      await committed;
    },
    release: () => consumer.disconnect(),
  };
}

/**
 * Commits `offsets` for `groupId`, on any number of topics, with one group
 * join. kafkajs's `admin.setOffsets` joins once per topic and then sits out
 * a 5 s fetch wait each time: three topics cost 15 s idle and far more on a
 * busy machine. Like it, this refuses a group that has running members,
 * whose own commits would race these.
 */
export async function setGroupOffsets(kafka: Kafka, groupId: string, offsets: readonly GroupOffset[]): Promise<void> {
  if (offsets.length === 0) return;
  const group = await holdGroup(kafka, groupId, [...new Set(offsets.map((entry) => entry.topic))]);
  try {
    await group.commit(offsets);
  } finally {
    await group.release();
  }
}
