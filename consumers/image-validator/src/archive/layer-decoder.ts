/** What a layer decompressed to, or why it could not be decompressed. */
export type Decoded =
  | { readonly ok: true; readonly sha256: string; readonly size: number }
  | { readonly ok: false; readonly why: string; /** The bytes were never judged: this machine lacks the decoder. */ readonly decoderMissing?: boolean };

/** Decompresses one entry as it streams and keeps the sha256 and length of the output. */
export interface LayerDecoder {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<Decoded>;
  discard(): void;
}
