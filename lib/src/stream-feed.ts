/** What feedWritable needs of a writable: node's streams and streamx's (tar-stream) both have it. */
export interface FeedableWritable {
  readonly destroyed: boolean;
  write(chunk: Buffer): boolean;
  end(chunk: null): unknown;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/**
 * Writes `bytes` into `target` honouring backpressure, then ends it; stops
 * quietly once the target is destroyed (its reader gave up, and says why).
 */
export async function feedWritable(target: FeedableWritable, bytes: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of bytes) {
    if (target.destroyed) return;
    if (!target.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          target.off('drain', done);
          target.off('close', done);
          resolve();
        };
        target.on('drain', done);
        target.on('close', done);
      });
    }
  }
  target.end(null);
}
