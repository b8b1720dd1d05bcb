/**
 * Codecs for the record-batch compressions kafkajs leaves out (it ships gzip
 * only, and fails the whole fetch of a batch it cannot decompress, so one
 * foreign producer, or a topic whose `compression.type` makes the broker
 * recompress Orbit's own messages, stopped the consumer for good). All pure
 * JavaScript: no native build to break on an install or an upgrade of Node.
 * client.ts registers them; these take kafkajs's codec shape.
 */
import { decompress as zstdDecompress } from 'fzstd';
import snappyCodec from 'kafkajs-snappy';
import lz4 from 'lz4js';
import { ConfigError } from '../errors.js';

/** What kafkajs calls: `compress` gets its encoder (whose `buffer` is the records), `decompress` the batch's bytes. */
export interface RecordBatchCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Snappy, in Kafka's xerial framing (Java's producer and the broker) or raw (librdkafka). */
export const snappy = (): RecordBatchCodec => snappyCodec();

/**
 * LZ4 frames, as the Java client, the broker and librdkafka write them. lz4js
 * misreads a frame with block checksums, which none of them sets.
 */
export const lz4Frames = (): RecordBatchCodec => ({
  compress: async (encoder) => asBuffer(lz4.compress(encoder.buffer)),
  decompress: async (buffer) => asBuffer(lz4.decompress(buffer)),
});

/** Read only: fzstd does not compress, and Orbit's producers never ask for zstd; one set to would fail on its first send. */
export const zstd = (): RecordBatchCodec => ({
  compress: () => Promise.reject(new ConfigError(['Orbit reads zstd-compressed records but cannot write them: produce with gzip or no compression'])),
  decompress: async (buffer) => asBuffer(zstdDecompress(buffer)),
});
