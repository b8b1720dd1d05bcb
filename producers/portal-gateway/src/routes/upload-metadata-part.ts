import secureJson from 'secure-json-parse';
import type { ImageMetadata } from '@orbit/schemas';
import { badMetadata, badRequest } from '../errors.js';
import type { PartHead } from '../form-framing.js';
import { formPartIsAFile } from '../form-parts.js';
import { otherCharset } from '../json-body.js';
import { parseMetadata } from '../metadata.js';
import { utf8TextOf } from '../utf8-text.js';

/**
 * The config of a route whose body holds metadata: a port of 2^53 or more is refused as any port out of range
 * (parseMetadata), not told to be sent as a string, and a body over the limit is told metadata's own.
 */
export const METADATA_PORT_CHECKED = { numbersCheckedByRoute: ['metadata.port'], carriesMetadata: true };

/** Metadata is a few fields; anything bigger is not metadata. */
const MAX_METADATA_BYTES = 1024 * 1024;

export function metadataOrThrow(input: unknown): ImageMetadata {
  const parsed = parseMetadata(input);
  if (!parsed.ok) throw badMetadata(parsed.problems);
  return parsed.metadata;
}

/** A JSON body's fields beyond `known` are refused, naming the first: a misspelt one would otherwise be dropped unseen. */
export function onlyFields(body: object, known: readonly string[]): void {
  const unexpected = Object.keys(body).find((field) => !known.includes(field));
  if (unexpected !== undefined) throw badRequest(`unexpected field "${unexpected}"`, unexpected);
}

/**
 * The metadata part's text as JSON, read as a JSON body is: a leading BOM
 * skipped, prototype-poisoning keys (`__proto__`, `constructor.prototype`)
 * refused. Plain JSON.parse kept `__proto__` as a key no object can hold.
 */
function jsonOrThrow(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text.startsWith('\ufeff') ? text.slice(1) : text);
  } catch (error) {
    throw badRequest(`the metadata part is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, 'metadata');
  }
  try {
    if (typeof value === 'object' && value !== null) secureJson.scan(value, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw badRequest('the metadata part holds a "__proto__" key or "constructor" with "prototype", which are refused (prototype poisoning)', 'metadata');
  }
  return value;
}

/**
 * The reader's options for an upload's form: the metadata part comes as a file part, its bytes as sent (see
 * metadataPartValue), whatever its type; any other part as the app reads it (formPartIsAFile). One file more than the
 * app allows: a second metadata part is then refused by name ("send one"), not by the reader's count of files.
 */
export const METADATA_AS_FILE = {
  isPartAFile: (fieldName: string | undefined, contentType: string | undefined, fileName: string | undefined): boolean => fieldName === 'metadata' || formPartIsAFile(fieldName, contentType, fileName),
  limits: { files: 3 },
};

/** A metadata part as the reader hands it over: a file part, as METADATA_AS_FILE asks; a text field only were that broken. */
export type MetadataPart =
  | { readonly type: 'field' }
  | { readonly type: 'file'; readonly file: AsyncIterable<Buffer> & { readonly truncated: boolean } };

/**
 * The metadata part's JSON, from its bytes: it is always read as a file part (METADATA_AS_FILE), since the reader
 * decodes a text field's bytes lossily before anyone could refuse those that are not UTF-8. `curl -F metadata=@m.json`,
 * `-F metadata=<m.json` and browsers' Blob parts all arrive so.
 */
export async function metadataPartValue(part: MetadataPart, head: PartHead | undefined): Promise<unknown> {
  const charset = otherCharset(head?.contentType);
  // The reader drops a file part's charset and would read its bytes as UTF-8 all the same (café in latin1 was stored as caf\uFFFD).
  if (charset !== undefined) throw badRequest(`the metadata part declares charset ${charset}: send it in UTF-8, with charset=utf-8 or none (as a JSON body)`, 'metadata');
  // A programming error, not the client's: read as a field, its bytes were decoded lossily already, and taking that
  // text would undo the strict UTF-8 check in silence.
  if (part.type === 'field') throw new TypeError('the metadata part came as a text field: METADATA_AS_FILE must have the reader hand it over as a file, so that its bytes are checked as UTF-8');
  const bytes = await smallPart(part.file, MAX_METADATA_BYTES);
  // The reader stops a file at the upload limit, which may be no more than the metadata's own.
  if (part.file.truncated) throw badRequest(`the metadata part is over ${MAX_METADATA_BYTES} bytes`, 'metadata');
  const decoded = utf8TextOf(bytes);
  if ('problem' in decoded) throw badRequest(`the metadata part ${decoded.problem}`, 'metadata');
  return jsonOrThrow(decoded.text);
}

async function smallPart(file: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of file) {
    size += chunk.length;
    if (size > limit) throw badRequest(`the metadata part is over ${limit} bytes`, 'metadata');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * True when a multipart Content-Type has no boundary to split the body by:
 * what a client sends that sets `Content-Type: multipart/form-data` by hand
 * (fetch and axios users do) instead of letting the form set it.
 */
export function lacksBoundary(contentType: string | undefined): boolean {
  return !/;\s*boundary\s*=\s*(?:"[^"]+"|[^\s;"]+)/i.test(contentType ?? '');
}
