import { env } from '@orbit/lib';

/** Longest retention taken: a century, which keeps `expiresAt` a small whole number of seconds. */
export const MAX_EVENT_LOG_RETENTION_DAYS = 36_500;

/** The event-logger's variables on top of the runtime ones. */
export const eventLoggerEnv = {
  /**
   * Days a row of the user event log and of the user error log is kept after its event's time: each row carries
   * `expiresAt` (epoch seconds), and DynamoDB's TTL, which provisioning turns on for those two tables, deletes it
   * within a few days of then. 0 keeps rows for ever (no `expiresAt`). @default 400
   */
  ORBIT_EVENT_LOG_RETENTION_DAYS: env.int(400, 0, MAX_EVENT_LOG_RETENTION_DAYS),
};
