import type { parseArgs } from 'node:util';
import type { LetterFilter } from './kafka/dlq-filter.js';
import { namedLetterAt, writtenPositionOf, type NamedLetter } from './kafka/dlq-named.js';
import { ALL_TOPICS, dlqTopicOf, sourceTopicOf } from './topics.js';

const NARROWING = '[--group G] [--error-code CODE] [--key K] [--since TIME] [--until TIME] [--pending] [--limit N] [--timeout SECONDS]';
export const DLQ_USAGE = `npm run dlq:list -- [topic] ${NARROWING} [--json] | npm run dlq:redrive -- <topic> [--offset PARTITION@OFFSET]... [--undecodable] ${NARROWING}`;
/** What `--help` prints: the usage line and what the commands do. */
export const DLQ_HELP = `${DLQ_USAGE}   (dlq:list prints the dead letters of a topic, or of every topic, one line each; dlq:redrive puts them back on their original topic for the group that failed them, each once; the options narrow both to the letters they name. A re-drive sets aside the letters that could not be decoded, which would fail again while a consumer that cannot decode them runs: --undecodable also re-drives the letters that could not be decoded (ORBIT_ERR_DECODE), those set aside before included, once every consumer decodes them; --offset sends the letters it names whatever they are)`;

/** The options of the dlq commands, for parseArgs (`parseCommandLine`). */
export const DLQ_OPTIONS = {
  offset: { type: 'string', multiple: true },
  undecodable: { type: 'boolean' },
  group: { type: 'string' },
  'error-code': { type: 'string' },
  key: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  pending: { type: 'boolean' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

/** The options' values as parseArgs gives them: derived, so a new option is written once. */
export type DlqOptionValues = Readonly<ReturnType<typeof parseArgs<{ options: typeof DLQ_OPTIONS }>>['values']>;

/** What both commands take besides their topic: which letters, and how long a read may stall. */
interface Narrowing {
  readonly filter: LetterFilter;
  /** How long a read of a DLQ may go without progress, from `--timeout` (seconds). */
  readonly timeoutMs?: number;
}

export type DlqCommand =
  | ({ readonly kind: 'list'; readonly dlqTopics: readonly string[]; readonly json: boolean } & Narrowing)
  | ({
    readonly kind: 'redrive'; readonly dlqTopic: string; readonly offsets?: readonly NamedLetter[];
    /** `--undecodable`: the letters that could not be decoded go too (without it a re-drive sets them aside). */
    readonly undecodable?: true;
  } & Narrowing);

type Refusal = { readonly refused: string };

/**
 * A time as `--since`/`--until` take it: an ISO 8601 date or date and time (a letter's `at=` as the list prints it),
 * in UTC unless it names an offset. A date and time without one is UTC too: JavaScript reads it in the machine's
 * zone (a date alone in UTC), so `10:15` meant 09:15Z in Berlin (found by a review), and the letters' times are UTC.
 */
function timeOf(option: string, text: string | undefined): Date | undefined | Refusal {
  if (text === undefined) return undefined;
  const form = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
  const withZone = form && text.length > 10 && form[1] === undefined ? `${text}Z` : text;
  const time = form && isCalendarDate(text.slice(0, 10)) ? new Date(withZone) : new Date(Number.NaN);
  return Number.isNaN(time.getTime()) ? { refused: `--${option} takes a time such as 2026-12-06 or 2026-12-06T10:15:00Z, not "${text}"` } : time;
}

/** `YYYY-MM-DD` names a day of the calendar: JavaScript reads 2026-02-30 as 2026-03-02 rather than refusing it. */
function isCalendarDate(date: string): boolean {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= lastDay;
}

const isRefusal = (value: unknown): value is Refusal => typeof value === 'object' && value !== null && 'refused' in value;

/** The filter and timeout the options ask for, or why they do not make one. */
function narrowingOf(values: DlqOptionValues): Narrowing | Refusal {
  const since = timeOf('since', values.since);
  const until = timeOf('until', values.until);
  if (isRefusal(since)) return since;
  if (isRefusal(until)) return until;
  if (values.limit !== undefined && !/^[1-9]\d*$/.test(values.limit)) return { refused: `--limit takes a number of letters, 1 or more, not "${values.limit}"` };
  if (values.timeout !== undefined && !(/^\d+(\.\d+)?$/.test(values.timeout) && Number(values.timeout) > 0)) {
    return { refused: `--timeout takes the seconds a read of the DLQ may go without progress, more than 0, not "${values.timeout}"` };
  }
  for (const option of ['group', 'error-code', 'key'] as const) {
    if (values[option] === '') return { refused: `--${option} needs a value` };
  }
  const filter: LetterFilter = {
    ...(values.group !== undefined ? { group: values.group } : {}),
    ...(values['error-code'] !== undefined ? { errorCode: values['error-code'] } : {}),
    ...(values.key !== undefined ? { key: values.key } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(values.pending ? { pending: true } : {}),
    ...(values.limit !== undefined ? { limit: Number(values.limit) } : {}),
  };
  return { filter, ...(values.timeout !== undefined ? { timeoutMs: Math.round(Number(values.timeout) * 1000) } : {}) };
}

/**
 * The dlq command a user's words ask for, or why they do not make one. Checked
 * before anything reaches Kafka: an unknown topic there is a 30-second wait on
 * metadata retries ending in a stack trace, and a malformed offset simply
 * matched no letter ("0 dead letter(s) re-driven").
 */
export function dlqCommandOf(positionals: readonly string[], options: DlqOptionValues = {}): DlqCommand | Refusal {
  const offsets = options.offset;
  const [command, topic, ...extra] = positionals;
  if (command !== 'list' && command !== 'redrive') return { refused: `usage: ${DLQ_USAGE}` };
  if (extra.length > 0) return { refused: `one topic at a time, not ${[topic, ...extra].join(' ')}\nusage: ${DLQ_USAGE}` };
  let dlqTopic: string | undefined;
  if (topic !== undefined) {
    const original = sourceTopicOf(topic) ?? topic;
    if (!(ALL_TOPICS as readonly string[]).includes(original)) return { refused: `unknown topic "${topic}"; Orbit's topics are ${ALL_TOPICS.join(', ')} (or their .dlq)` };
    dlqTopic = dlqTopicOf(original);
  }
  const named = offsets?.map((offset) => namedLetterOf(offset, dlqTopic));
  const refusedName = named?.find(isRefusal);
  if (refusedName) return refusedName;
  const narrowing = narrowingOf(options);
  if (isRefusal(narrowing)) return narrowing;
  if (command === 'list') {
    if (offsets) return { refused: `--offset goes with redrive only\nusage: ${DLQ_USAGE}` };
    if (options.undecodable) return { refused: `--undecodable goes with redrive only (dlq:list shows every letter, undecodable or not)\nusage: ${DLQ_USAGE}` };
    return { kind: 'list', dlqTopics: dlqTopic ? [dlqTopic] : ALL_TOPICS.map(dlqTopicOf), json: options.json === true, ...narrowing };
  }
  if (options.json) return { refused: `--json goes with list only\nusage: ${DLQ_USAGE}` };
  if (!dlqTopic) return { refused: 'dlq:redrive needs the topic whose dead letters to re-drive, e.g. npm run dlq:redrive -- orbit.image.stored' };
  // A letter named goes undecodable or not: the flag with offsets would read as a bulk re-drive that is not one.
  if (options.undecodable && offsets) return { refused: `--undecodable goes with a re-drive without --offset (a letter named goes, undecodable or not)\nusage: ${DLQ_USAGE}` };
  return {
    kind: 'redrive', dlqTopic, ...(named ? { offsets: named.filter((name): name is NamedLetter => !isRefusal(name)) } : {}), ...(options.undecodable ? { undecodable: true as const } : {}),
    ...narrowing,
  };
}

/**
 * The letter `--offset` names, as `<partition>@<offset>` or `<offset>` (whether an offset alone names one letter is the
 * DLQ's to say: of one partition only), its DLQ before a / or not, or why it names none.
 */
function namedLetterOf(text: string, dlqTopic: string | undefined): NamedLetter | Refusal {
  const position = writtenPositionOf(text);
  if (position === undefined) {
    return { refused: `--offset takes a letter's position as \`npm run dlq:list\` prints it, <partition>@<offset> (its DLQ before a / may stay), or in a DLQ of one partition an offset alone, whole numbers, not "${text}"` };
  }
  if (position.dlqTopic !== undefined && position.dlqTopic !== dlqTopic) return { refused: `--offset ${text} is a letter of ${position.dlqTopic}, not of ${dlqTopic ?? 'the DLQ named'}` };
  return namedLetterAt(position);
}
