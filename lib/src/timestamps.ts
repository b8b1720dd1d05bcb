/**
 * The one helper every DynamoDB writer uses for the two creation stamps the
 * design asks for on each row.
 */
export interface CreatedTimestamps {
  readonly createdTimestampUTC: string;
  readonly createdTimestampUnix: number;
}

export function createdTimestamps(now: Date = new Date()): CreatedTimestamps {
  return { createdTimestampUTC: now.toISOString(), createdTimestampUnix: Math.floor(now.getTime() / 1000) };
}

export function withCreatedTimestamps<T extends object>(item: T, now: Date = new Date()): T & CreatedTimestamps {
  return { ...item, ...createdTimestamps(now) };
}
