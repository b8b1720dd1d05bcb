import { DEAD_LETTERED } from '@orbit/schemas';

/**
 * Reason codes of failed requests that leave an image stored, or able to still be stored: DEAD_LETTERED (the message
 * was set aside, not refused, and a re-drive gives the request the end its flow reaches) and the chart step's codes
 * (chart-generator CHART_ERROR_CODES, without `ORBIT_ERR_`), which come after the image's ImageStored: the projector
 * does not make a PipelineFailed wait for it, so for a while such a request is failed and ViewPort has no image yet.
 */
export const FAILURES_THAT_MAY_STORE: readonly string[] = [DEAD_LETTERED, 'CHART_VERSION', 'CHART_INPUT', 'CHART_COMMAND', 'CHART_ENVIRONMENT', 'CHART_ROW'];
// Written out, not imported: the gateway does not depend on a consumer; chart-name-holders.test.ts holds the two equal.

const failuresThatMayStore = FAILURES_THAT_MAY_STORE.map((code) => {
  // Written into the SQL as they are: constants, never input.
  if (!/^[A-Z_]+$/.test(code)) throw new RangeError(`not a reason code: ${code}`);
  return `'${code}'`;
}).join(', ');

/**
 * How long a name given its UID (uidFor) with no request yet holds its chart name: its first upload records its request
 * right after (the route asks for the UID once the image is in, then records), within a second or two. Freed at once,
 * a name of two twins sent together (`a.b` and `a_b`) lost the chart name to the other between its UID and its
 * request: its upload was answered 503, and the others 409 naming it though the name that kept the chart name was
 * another (found by a race review). A gateway that stopped in between leaves a name that holds for this long only.
 */
export const NAME_RECORDING_SECONDS = 60;

/**
 * SQL that is true when the image name whose UID the column `uidColumn` holds (image_names' n.image_uid) holds its chart name:
 * ViewPort has its image (a version of it was stored), or one of its requests is under way or failed in a way that
 * may still store it (FAILURES_THAT_MAY_STORE; a failure without a code too, as none should have), or it has no request
 * at all and got its UID (the row's `createdAtColumn`) within NAME_RECORDING_SECONDS: its upload is being recorded. A
 * name no request names past that, or whose every request failed before anything was stored (NOT_AN_ARCHIVE,
 * CHECKSUM_MISMATCH, NAME_CONFLICT, a registry that refused the push…), holds nothing: a registry reserves no repository
 * for pushes that never landed. A failed request stays failed (the projector's statuses go forward only, DEAD_LETTERED
 * apart), so such a name never holds again but by a new request, which is recorded under the name row's lock (lockImageUploads).
 */
export function holdsChartName(uidColumn: string, createdAtColumn: string): string {
  return `(EXISTS (SELECT 1 FROM wp_image_uid stored WHERE stored.image_uid = ${uidColumn})
    OR EXISTS (SELECT 1 FROM viewport_requests live WHERE live.image_uid = ${uidColumn}
               AND (live.status <> 'failed' OR live.error_code IS NULL OR live.error_code IN (${failuresThatMayStore})))
    OR (${createdAtColumn} > NOW(3) - INTERVAL ${NAME_RECORDING_SECONDS} SECOND
        AND NOT EXISTS (SELECT 1 FROM viewport_requests recording WHERE recording.image_uid = ${uidColumn})))`;
}
