import { connect } from 'node:net';
import mysql from 'mysql2/promise';
import { createKafka, createLogger } from '@orbit/lib';

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
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** A KRaft broker accepts TCP well before it serves metadata; only an answered request counts. */
export async function kafkaAnswers(port: number): Promise<boolean> {
  if (!(await tcpOpen(port))) return false;
  const admin = createKafka({ clientId: 'orbit-stack-probe', brokers: [`127.0.0.1:${port}`], logger: silent, retries: 0, connectionTimeoutMs: 1_000 }).admin();
  try {
    await admin.connect();
    return (await admin.describeCluster()).brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function dynamoAnswers(port: number): Promise<boolean> {
  return httpOk(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: {
      'X-Amz-Target': 'DynamoDB_20120810.ListTables',
      'Content-Type': 'application/x-amz-json-1.0',
      // DynamoDB Local wants a SigV4-shaped header but does not verify it.
      Authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x',
    },
    body: '{}',
  });
}

export async function mysqlAnswers(socketPath: string): Promise<boolean> {
  try {
    const connection = await mysql.createConnection({ socketPath, user: 'root', connectTimeout: 1_000 });
    try {
      await connection.query('SELECT 1');
    } finally {
      await connection.end();
    }
    return true;
  } catch {
    return false;
  }
}
