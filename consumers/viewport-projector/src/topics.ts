import { TOPICS } from '@orbit/lib';

/**
 * How far down the causal chain a topic's events come: a ChartGenerated is
 * only ever produced after its version's ImageStored, a ChartPromoted after
 * both. The projector makes the later ones wait for the earlier ones.
 */
const CAUSAL_DEPTH: Readonly<Record<string, number>> = { [TOPICS.imageStored]: 1, [TOPICS.chartGenerated]: 2, [TOPICS.chartPromoted]: 3 };

/**
 * The topics in the order a replay must read their end offsets: latest in
 * the chain first. A snapshot is not atomic across topics; read this way,
 * every event inside it has what it waits for inside it too (that was
 * produced earlier and its topic's end is read later). Read the other way,
 * a ChartGenerated could fall inside while its ImageStored fell outside, and
 * a replay bounded by the snapshot would wait for it for ever.
 */
export function dependentsFirst(topics: readonly string[], lifecycleTopicOf: (topic: string) => string = (topic) => topic): string[] {
  return [...topics].sort((a, b) => (CAUSAL_DEPTH[lifecycleTopicOf(b)] ?? 0) - (CAUSAL_DEPTH[lifecycleTopicOf(a)] ?? 0));
}
