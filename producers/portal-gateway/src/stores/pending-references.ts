import { isDockerHub, parseImageReference, plainAddress, reachesThisHost, type EventEnvelope } from '@orbit/lib';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { ReferenceUploadsPending, RegistryUploadsPending, type AcceptedRequest } from '../ports.js';

/**
 * How long an upload by reference that never finished counts against its owner's limit: the staging bucket's one-day
 * expiry, as an unfinished upload holds its version (UPLOAD_HOLDS_VERSION_SECONDS). A request no consumer ever ended
 * (its command lost with a broker's data, say) must not take one of the owner's places for ever; a pipeline that is
 * merely down or behind finishes its requests within that, and until then the owner is refused (429), not let pile on.
 * The same for its source registry's limit.
 */
export const REFERENCE_UPLOAD_COUNTS_SECONDS = 24 * 3600;

/** Whether `command` is an upload the validator pulls from a registry (POST /v1/uploads/references, or JSON at /v1/uploads). */
export function isReferenceUpload(command: EventEnvelope): boolean {
  return 'source' in command && command.source === 'REFERENCE';
}

/** How many uploads by reference may be accepted and not finished at once; each absent: not limited so. */
export interface ReferenceUploadLimits {
  /** Of one owner's (ReferenceUploadsPending past it). */
  readonly maxPendingReferenceUploads?: number;
  /** From one source registry, every owner's together (RegistryUploadsPending past it). */
  readonly maxPendingReferenceUploadsPerRegistry?: number;
}

/** What one upload by reference counts against: its owner and its source registry, each with its limit when it has one. */
export interface ReferenceCounting {
  readonly owner: string;
  /** The registry it is pulled from, as sourceRegistryOf names it. */
  readonly registry: string;
  readonly perOwner: number | undefined;
  readonly perRegistry: number | undefined;
}

/** What `command` counts against when it is an upload by reference and a limit is set; undefined otherwise (no lock taken). */
export function referenceCountingOf(command: EventEnvelope, owner: string, limits: ReferenceUploadLimits): ReferenceCounting | undefined {
  const { maxPendingReferenceUploads: perOwner, maxPendingReferenceUploadsPerRegistry: perRegistry } = limits;
  if (!isReferenceUpload(command) || (perOwner === undefined && perRegistry === undefined)) return undefined;
  const reference = 'reference' in command && typeof command.reference === 'string' ? command.reference : '';
  return { owner, registry: sourceRegistryOf(reference), perOwner, perRegistry };
}

/** Docker Hub's one name here, whichever of its names a reference writes (see isDockerHub). */
const DOCKER_HUB = 'docker.io';
/** The ports a registry named without one is reached on: HTTPS's, or plain HTTP's for one spoken to insecurely. */
const DEFAULT_PORTS: ReadonlySet<string> = new Set(['443', '80']);
/** reference_uploads.registry's width. */
const REGISTRY_COLUMN_CHARS = 255;

/**
 * The registry `reference` is pulled from, one name per registry, so that no spelling escapes its limit: the
 * reference grammar's canonical host (lower case, a port without leading zeros, IPv6 per RFC 5952), and further a
 * host as every socket reads it (`127.1` is `127.0.0.1`, an IPv4-mapped IPv6 literal its IPv4 address), no default
 * port (`:443`, and `:80`: a host on both is one server to wait on), and Docker Hub as `docker.io` (`index.docker.io`
 * and `registry-1.docker.io` are pulled from the same API). Text that is no reference (the gateway checks them
 * before) is named by what precedes its first slash.
 */
export function sourceRegistryOf(reference: string): string {
  const named = parseImageReference(reference)?.registry ?? (reference.trim().split('/')[0] ?? '').toLowerCase();
  const close = named.startsWith('[') ? named.indexOf(']') : -1;
  const colon = named.indexOf(':', close + 1);
  const host = addressOf(colon === -1 ? named : named.slice(0, colon));
  const port = colon === -1 ? undefined : named.slice(colon + 1).replace(/^0+(?=\d)/, '');
  if (isDockerHub(host)) return DOCKER_HUB;
  const server = onThisHost(host) ? THIS_HOST : host;
  return (port === undefined || DEFAULT_PORTS.has(port) ? server : `${server}:${port}`).slice(0, REGISTRY_COLUMN_CHARS);
}

/** The one name of a registry on the gateway's own host, however it is reached (found by a reread: each loopback name counted apart). */
const THIS_HOST = 'localhost';

/** Whether `host` (as addressOf gives it) is this very host: `localhost`, a loopback or unspecified address. */
function onThisHost(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return reachesThisHost(host.startsWith('[') ? host.slice(1, -1) : host);
}

/** A host as a URL reads it; an IPv6 literal in brackets, or the IPv4 address an IPv4-mapped one is. */
function addressOf(host: string): string {
  const read = URL.canParse(`http://${host}/`) ? new URL(`http://${host}/`).hostname : host;
  if (!read.startsWith('[')) return read;
  const plain = plainAddress(read.slice(1, -1));
  return plain.includes(':') ? `[${plain}]` : plain;
}

/**
 * Makes the owner's row in reference_upload_owners, and the registry's in reference_upload_registries (those whose
 * limit is set), in statements of their own (committed at once), before the acceptance's transaction: a transaction
 * that inserted the row itself and then rolled back (a version under way, the owner over their limit) while two other
 * first acceptances of the owner waited on its insert left those two each holding a lock where the row was and
 * waiting for the other's to insert it (InnoDB's insert-then-rollback deadlock, suspected by a review). Made at once,
 * a row is only ever locked in a transaction, never inserted there.
 */
export async function makeReferenceCountRows(pool: Pool, counting: ReferenceCounting): Promise<void> {
  if (counting.perOwner !== undefined) await pool.execute('INSERT IGNORE INTO reference_upload_owners (user_login) VALUES (?)', [counting.owner]);
  if (counting.perRegistry !== undefined) await pool.execute('INSERT IGNORE INTO reference_upload_registries (registry) VALUES (?)', [counting.registry]);
}

/**
 * Takes the owner's row lock, then the registry's (made before the transaction by makeReferenceCountRows; each only
 * when its limit is set): every acceptance of one of the owner's uploads by reference queues on the first, every one
 * from the registry on the second, so two sent at once cannot both see one place left. One order everywhere (the
 * image's lock before them, lockImageUploads, then the owner's, then the registry's, then any key), so two
 * acceptances never wait on each other's. Upserts, as the claims' are, of rows that are there: each takes its row's
 * exclusive lock at once, with no shared-then-exclusive upgrade to deadlock on (and makes a row deleted meanwhile
 * again). Locking statements: they fix no snapshot, so a plain read after them sees every acceptance committed before.
 */
export async function lockReferenceCounts(connection: PoolConnection, counting: ReferenceCounting): Promise<void> {
  if (counting.perOwner !== undefined) {
    await connection.execute('INSERT INTO reference_upload_owners (user_login) VALUES (?) ON DUPLICATE KEY UPDATE user_login = user_login', [counting.owner]);
  }
  if (counting.perRegistry !== undefined) {
    await connection.execute('INSERT INTO reference_upload_registries (registry) VALUES (?) ON DUPLICATE KEY UPDATE registry = registry', [counting.registry]);
  }
}

/** Whether `error` is a refusal of admitReferenceUpload's: nothing of the upload was recorded. */
export function refusedAsPending(error: unknown): error is ReferenceUploadsPending | RegistryUploadsPending {
  return error instanceof ReferenceUploadsPending || error instanceof RegistryUploadsPending;
}

/** The statuses a request ends with; before them it is accepted or running. */
const finished = (status: unknown): boolean => status === 'succeeded' || status === 'failed';

/**
 * Under the locks of lockReferenceCounts: refuses the upload, nothing recorded, when the owner has `perOwner` uploads
 * by reference accepted and not finished (ReferenceUploadsPending), or its registry has `perRegistry` of every owner's
 * (RegistryUploadsPending), else notes it as one of them. "Finished" is the request's status in viewport_requests,
 * which the gateway writes (accepted) in this very transaction and the projector moves on: a projector that lags, or a
 * pipeline that is down, keeps the requests unfinished, so uploads are refused until they end, never let through by a
 * status that is late. A request whose row a rebuild has not projected back yet counts as unfinished; one noted before
 * registries were (migration 0018, registry null) counts for its owner only. The owner's rows of finished requests are
 * dropped here, by key (no ranged locks), under the owner's lock: never another owner's, whose lock is not held.
 */
export async function admitReferenceUpload(connection: PoolConnection, request: AcceptedRequest, counting: ReferenceCounting): Promise<void> {
  const { perOwner, perRegistry, registry } = counting;
  const done = perOwner === undefined ? [] : await admitForOwner(connection, request.owner, perOwner);
  if (perRegistry !== undefined) {
    const pending = await pendingFromRegistry(connection, registry);
    if (pending >= perRegistry) throw new RegistryUploadsPending(registry, pending, perRegistry);
  }
  if (done.length > 0) await connection.query('DELETE FROM reference_uploads WHERE request_id IN (?)', [done]);
  await connection.execute('INSERT INTO reference_uploads (request_id, user_login, registry) VALUES (?, ?, ?)', [request.requestId, request.owner, registry]);
}

/** Refuses the owner's upload when they have `limit` under way (ReferenceUploadsPending); else their rows that are over, to drop. */
async function admitForOwner(connection: PoolConnection, owner: string, limit: number): Promise<string[]> {
  const [rows] = await connection.execute<RowDataPacket[]>(
    `SELECT p.request_id, r.status, p.created_at < NOW(3) - INTERVAL ${REFERENCE_UPLOAD_COUNTS_SECONDS} SECOND AS lapsed
     FROM reference_uploads p LEFT JOIN viewport_requests r ON r.request_id = p.request_id
     WHERE p.user_login = ? ORDER BY p.created_at, p.request_id`, [owner]);
  const over = (row: RowDataPacket): boolean => finished(row['status']) || Number(row['lapsed']) === 1;
  const pending = rows.filter((row) => !over(row)).map((row) => String(row['request_id']));
  if (pending.length >= limit) throw new ReferenceUploadsPending(pending, limit);
  return rows.filter(over).map((row) => String(row['request_id']));
}

/**
 * How many uploads by reference from `registry`, of every owner, are accepted and not finished: counted, not listed
 * (they are other owners' requests). Only rows within REFERENCE_UPLOAD_COUNTS_SECONDS are read, through the registry's
 * index: finished rows stay until their owner's next upload by reference drops them.
 */
async function pendingFromRegistry(connection: PoolConnection, registry: string): Promise<number> {
  const [rows] = await connection.execute<RowDataPacket[]>(
    `SELECT COUNT(*) AS pending FROM reference_uploads p LEFT JOIN viewport_requests r ON r.request_id = p.request_id
     WHERE p.registry = ? AND p.created_at >= NOW(3) - INTERVAL ${REFERENCE_UPLOAD_COUNTS_SECONDS} SECOND
       AND (r.status IS NULL OR r.status NOT IN ('succeeded', 'failed'))`, [registry]);
  return Number(rows[0]?.['pending'] ?? 0);
}
