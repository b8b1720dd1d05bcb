import { describe, expect, it } from 'vitest';
import { kafkaProperties } from './kafka.js';
import { accountStatements } from './mysql.js';
import { PIPELINE } from './pipeline.js';

describe('kafka server.properties', () => {
  it('runs combined KRaft on loopback with the given ports and no topic auto-creation', () => {
    const text = kafkaProperties('/data/kafka/logs', 9092, 9093);
    expect(text).toContain('listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093');
    expect(text).toContain('controller.quorum.voters=1@127.0.0.1:9093');
    expect(text).toContain('log.dirs=/data/kafka/logs');
    expect(text).toContain('auto.create.topics.enable=false');
  });
});

describe('mysql account statements', () => {
  it('are idempotent and grant the main and side databases from both hosts', () => {
    const statements = accountStatements('viewport', 'orbit', 'orbit');
    expect(statements[0]).toBe('CREATE DATABASE IF NOT EXISTS `viewport`');
    expect(statements.filter((s) => s.startsWith('CREATE USER IF NOT EXISTS'))).toHaveLength(2);
    expect(statements).toContain("GRANT ALL PRIVILEGES ON `viewport\\_%`.* TO 'orbit'@'127.0.0.1'");
    expect(statements).toContain("GRANT ALL PRIVILEGES ON `viewport`.* TO 'orbit'@'localhost'");
  });
});

describe('pipeline services', () => {
  it('are the six services on distinct ports', () => {
    expect(PIPELINE.map(([name]) => name)).toEqual(['portal-gateway', 'image-validator', 'chart-generator', 'harbor-writer', 'viewport-projector', 'event-logger']);
    expect(new Set(PIPELINE.map(([, , port]) => port)).size).toBe(6);
  });
});
