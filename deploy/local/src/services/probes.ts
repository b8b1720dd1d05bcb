import { connect } from 'node:net';
import mysql from 'mysql2/promise';
import { createKafka, createLogger } from '@orbit/lib';
import { mysqlSocket } from './paths.js';

const silent = createLogger({ service: 'stack-probe', level: 'silent' });

export function tcpOpen(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function httpOk(url: string, init: RequestInit = {}): Promise<boolean> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** The broker answers metadata requests, not merely a TCP accept. */
export async function kafkaAnswers(brokers: readonly string[]): Promise<boolean> {
  if (!(await tcpOpen(Number(brokers[0]?.split(':')[1] ?? 9092)))) return false;
  const admin = createKafka({ clientId: 'stack-probe', brokers, logger: silent, retries: 0, connectionTimeoutMs: 1_000 }).admin();
  try {
    await admin.connect();
    return (await admin.describeCluster()).brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function dynamoAnswers(endpoint: string): Promise<boolean> {
  return httpOk(endpoint, {
    method: 'POST',
    headers: {
      'X-Amz-Target': 'DynamoDB_20120810.ListTables',
      'Content-Type': 'application/x-amz-json-1.0',
      // DynamoDB Local checks that a SigV4 header is present, not that it is valid.
      Authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x',
    },
    body: '{}',
  });
}

export async function mysqlAnswers(): Promise<boolean> {
  try {
    const connection = await mysql.createConnection({ socketPath: mysqlSocket(), user: 'root', connectTimeout: 1_000 });
    await connection.query('SELECT 1');
    await connection.end();
    return true;
  } catch {
    return false;
  }
}
