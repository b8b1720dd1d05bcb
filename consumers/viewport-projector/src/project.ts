import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { OrbitError, TOPICS } from '@orbit/lib';
import type { ChartGenerated, ChartPromoted, ImageRejected, ImageStored, ImageValidated, OrbitEvent, PipelineFailed } from '@orbit/schemas';

export type RequestStatus = 'accepted' | 'running' | 'succeeded' | 'failed';

/** What a projected event means for the request, for the ViewportUpdated that follows the commit. */
export interface ProjectionResult {
  readonly requestId: string;
  readonly status: RequestStatus;
  readonly imageVersion: string | null;
  readonly environment: string | null;
}

const at = (millis: number): Date => new Date(millis);

/**
 * Kafka orders events within a topic partition, not across topics: a
 * ChartGenerated or ChartPromoted can arrive before the ImageStored of the
 * same version (a backlog, a crash, a replay). The version is then retried
 * (the partition pauses with backoff) until its ImageStored is projected, so
 * the projection never depends on which topic was read first.
 */
export class VersionNotProjectedYetError extends OrbitError {
  constructor(imageUID: string, imageVersion: string) {
    super('ORBIT_ERR_PROJECTION_PENDING', `version ${imageVersion} of ${imageUID} is not projected yet; waiting for its ImageStored`, { retriable: true });
  }
}

/** A request moves forward only: a late or replayed event never turns `succeeded` back into `running`. */
async function setRequestStatus(connection: PoolConnection, event: OrbitEvent & { requestId: string }, status: RequestStatus, error?: { code: string; message: string }, kind: 'upload' | 'transfer' = 'upload'): Promise<void> {
  await connection.execute(
    `INSERT INTO viewport_requests (request_id, kind, image_uid, image_version, user_login, status, error_code, error_message, error_pid, created_at, updated_at)
     VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE
       error_code = IF(status IN ('succeeded', 'failed'), error_code, VALUES(error_code)),
       error_message = IF(status IN ('succeeded', 'failed'), error_message, VALUES(error_message)),
       error_pid = IF(status IN ('succeeded', 'failed'), error_pid, VALUES(error_pid)),
       updated_at = IF(status IN ('succeeded', 'failed'), updated_at, VALUES(updated_at)),
       status = IF(status IN ('succeeded', 'failed'), status, VALUES(status))`,
    [event.requestId, kind, event.imageUID, event.actor.username, status, error?.code ?? null, error?.message ?? null, error ? event.pid : null, at(event.occurredAt), at(event.occurredAt)],
  );
}

async function upsertPost(connection: PoolConnection, post: { guid: string; author: string; title: string; name: string; content: string; status: string; parent: number; type: string; when: Date }): Promise<number> {
  // LAST_INSERT_ID(ID) makes insertId the post's id whether it was inserted or updated: no second round trip.
  const [result] = await connection.execute<ResultSetHeader>(
    `INSERT INTO wp_posts (post_author, post_date_gmt, post_modified_gmt, post_title, post_name, post_content, post_excerpt, post_status, post_parent, post_type, guid)
     VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE ID = LAST_INSERT_ID(ID), post_modified_gmt = GREATEST(post_modified_gmt, VALUES(post_modified_gmt)),
       post_status = VALUES(post_status), post_content = VALUES(post_content)`,
    [post.author, post.when, post.when, post.title, post.name, post.content, post.status, post.parent, post.type, post.guid],
  );
  return Number(result.insertId);
}

/** All of a post's meta in one multi-row upsert: one round trip however many keys. */
async function setMeta(connection: PoolConnection, postId: number, meta: Record<string, unknown>): Promise<void> {
  const entries = Object.entries(meta);
  if (entries.length === 0) return;
  await connection.execute(
    `INSERT INTO wp_postmeta (post_id, meta_key, meta_value) VALUES ${entries.map(() => '(?, ?, ?)').join(', ')} ON DUPLICATE KEY UPDATE meta_value = VALUES(meta_value)`,
    entries.flatMap(([key, value]) => [postId, key, typeof value === 'string' ? value : JSON.stringify(value)]),
  );
}

async function projectStored(connection: PoolConnection, event: ImageStored): Promise<ProjectionResult> {
  const when = at(event.occurredAt);
  const imagePost = await upsertPost(connection, {
    guid: `orbit:image:${event.imageUID}`, author: event.actor.username, title: event.metadata.imageName, name: event.metadata.imageName,
    content: event.metadata.description ?? '', status: 'publish', parent: 0, type: 'orbit_image', when,
  });
  await connection.execute(
    `INSERT INTO wp_image_uid (image_uid, post_id, user_login, image_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE updated_at = GREATEST(updated_at, VALUES(updated_at))`,
    [event.imageUID, imagePost, event.actor.username, event.metadata.imageName, when, when],
  );
  await setMeta(connection, imagePost, { imageCategory: event.metadata.imageCategory ?? '', part: event.metadata.part ?? '' });
  const versionPost = await upsertPost(connection, {
    guid: `orbit:image:${event.imageUID}:${event.metadata.imageVersion}`, author: event.actor.username, title: `${event.metadata.imageName} ${event.metadata.imageVersion}`,
    name: event.metadata.imageVersion, content: '', status: 'stored', parent: imagePost, type: 'orbit_image_version', when,
  });
  await setMeta(connection, versionPost, {
    imageVersion: event.metadata.imageVersion, environments: ['Development'], digest: event.image.manifestDigest, configDigest: event.image.configDigest,
    sizeBytes: String(event.sizeBytes), sha256: event.sha256, layers: event.image.layers, s3Location: event.stored, requestId: event.requestId,
    metadata: event.metadata, architecture: event.image.architecture, os: event.image.os,
  });
  await setRequestStatus(connection, event, 'running');
  return { requestId: event.requestId, status: 'running', imageVersion: event.metadata.imageVersion, environment: 'Development' };
}

async function projectChart(connection: PoolConnection, event: ChartGenerated): Promise<ProjectionResult> {
  const [rows] = await connection.execute<RowDataPacket[]>('SELECT ID FROM wp_posts WHERE guid = ?', [`orbit:image:${event.imageUID}:${event.imageVersion}`]);
  const versionPost = Number(rows[0]?.['ID'] ?? 0);
  if (versionPost === 0) throw new VersionNotProjectedYetError(event.imageUID, event.imageVersion);
  await connection.execute("UPDATE wp_posts SET post_status = 'ready' WHERE ID = ?", [versionPost]);
  await setMeta(connection, versionPost, { chartName: event.chartName, chartVersion: event.chartVersion, helmChartName: event.helmChartName, chartLocation: event.chart });
  await setRequestStatus(connection, event, 'succeeded');
  return { requestId: event.requestId, status: 'succeeded', imageVersion: event.imageVersion, environment: event.environment };
}

/**
 * The transfer's last step: the version becomes present in the target
 * environment (Development and the rest stay) and the request succeeds.
 * Nothing of a transfer is visible before this, so a transfer that fails half
 * way leaves ViewPort as it was.
 */
async function projectPromotion(connection: PoolConnection, event: ChartPromoted): Promise<ProjectionResult> {
  const [rows] = await connection.execute<RowDataPacket[]>(
    `SELECT v.ID, m.meta_value FROM wp_posts v LEFT JOIN wp_postmeta m ON m.post_id = v.ID AND m.meta_key = 'environments' WHERE v.guid = ? FOR UPDATE`,
    [`orbit:image:${event.imageUID}:${event.imageVersion}`]);
  const row = rows[0];
  if (!row) throw new VersionNotProjectedYetError(event.imageUID, event.imageVersion);
  {
    const current = JSON.parse(String(row['meta_value'] ?? '[]')) as string[];
    const environments = current.includes(event.targetEnvironment) ? current : [...current, event.targetEnvironment];
    await setMeta(connection, Number(row['ID']), { environments });
    await connection.execute('UPDATE wp_posts SET post_modified_gmt = GREATEST(post_modified_gmt, ?) WHERE ID = ?', [at(event.occurredAt), Number(row['ID'])]);
  }
  await setRequestStatus(connection, event, 'succeeded', undefined, 'transfer');
  return { requestId: event.requestId, status: 'succeeded', imageVersion: event.imageVersion, environment: event.targetEnvironment };
}

/** Applies one event to ViewPort inside the caller's transaction; undefined for events it ignores. */
export async function project(connection: PoolConnection, topic: string, event: OrbitEvent): Promise<ProjectionResult | undefined> {
  switch (topic) {
    case TOPICS.imageValidated: {
      const validated = event as ImageValidated;
      await setRequestStatus(connection, validated, 'running');
      return { requestId: validated.requestId, status: 'running', imageVersion: validated.metadata.imageVersion, environment: null };
    }
    case TOPICS.imageStored:
      return projectStored(connection, event as ImageStored);
    case TOPICS.chartGenerated:
      return projectChart(connection, event as ChartGenerated);
    case TOPICS.imageRejected: {
      const rejected = event as ImageRejected;
      await setRequestStatus(connection, rejected, 'failed', { code: rejected.reasonCode, message: rejected.message });
      return { requestId: rejected.requestId, status: 'failed', imageVersion: null, environment: null };
    }
    case TOPICS.chartPromoted:
      return projectPromotion(connection, event as ChartPromoted);
    case TOPICS.pipelineFailed: {
      const failure = event as PipelineFailed;
      await setRequestStatus(connection, failure, 'failed', { code: failure.reasonCode, message: failure.message }, failure.flow === 'transfer' ? 'transfer' : 'upload');
      return { requestId: failure.requestId, status: 'failed', imageVersion: null, environment: null };
    }
    default:
      return undefined;
  }
}
