import { STATUS_CODES } from 'node:http';

/** How a raw answer is framed beyond its status and body. */
export interface RawAnswerOptions {
  /** An answer to a HEAD request: its headers say the body's length, but the body is not sent. */
  readonly head?: boolean;
}

/**
 * An HTTP/1.1 JSON answer, whole, for writing straight onto a socket where no ServerResponse can answer: one the
 * parser refused, or one cut at shutdown (answering through its ServerResponse would end it as if it had finished).
 * It has what Node puts on every answer (the reason phrase, a Date) and `Connection: close`: the caller closes the
 * connection after it. `headers` are added as given, a list value as one line each.
 */
export function rawJsonAnswer(status: number, body: unknown, headers: Readonly<Record<string, string | readonly string[]>> = {}, options: RawAnswerOptions = {}): string {
  const json = JSON.stringify(body);
  const extra = Object.entries(headers)
    .flatMap(([name, value]) => (typeof value === 'string' ? [value] : value).map((one) => `${name}: ${one}\r\n`))
    .join('');
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\n`
    + `Date: ${new Date().toUTCString()}\r\nConnection: close\r\n${extra}\r\n${options.head === true ? '' : json}`;
}
