/** Offset arithmetic of a partition: kafkajs gives offsets as decimal strings, which may pass 2^53. */

/** Messages of a partition after `offset`, as a fetch that saw `highWatermark` counts them. */
export function lagAfter(highWatermark: string, offset: bigint): number {
  return Math.max(0, Number(BigInt(highWatermark) - offset - 1n));
}

/** The offset to commit once `done` is handled: Kafka's committed offset is the next message to read. */
export function offsetAfter(done: string): string {
  return (BigInt(done) + 1n).toString();
}

/** The key of a partition's per-partition state (attempts, detached handler). */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}
