import { describe, expect, it } from 'vitest';
import { env, readConfig } from './config.js';
import { ConfigError } from './errors.js';
import { runtimeEnv } from './runtime-config.js';

describe('readConfig', () => {
  it('defaults every runtime variable to the local stack', () => {
    const config = readConfig(runtimeEnv, {});
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(config.SCHEMA_REGISTRY_URL).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
    expect(config.AWS_ENDPOINT_URL_S3).toBe('http://127.0.0.1:9000');
    expect(config.S3_FORCE_PATH_STYLE).toBe(true);
  });

  it('parses lists, numbers and booleans from strings', () => {
    const config = readConfig(runtimeEnv, { KAFKA_BROKERS: 'a:1, b:2', HEALTH_PORT: '9101', S3_FORCE_PATH_STYLE: 'false' });
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(config.HEALTH_PORT).toBe(9101);
    expect(config.S3_FORCE_PATH_STYLE).toBe(false);
  });

  it('reports every bad variable at once, one line each, by name', () => {
    const attempt = (): unknown => readConfig({ ...runtimeEnv, JWT_SECRET: env.string() }, { HEALTH_PORT: 'ninety', SCHEMA_REGISTRY_URL: 'not a url' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const problems = (error as ConfigError).problems;
      expect(problems).toHaveLength(3);
      expect(problems.find((line) => line.startsWith('HEALTH_PORT'))).toContain('"ninety"');
      expect(problems.find((line) => line.startsWith('SCHEMA_REGISTRY_URL'))).toContain('URL');
      expect(problems.find((line) => line.startsWith('JWT_SECRET'))).toContain('missing');
    }
  });

  it('never echoes a secret value in its message', () => {
    try {
      readConfig({ API_SECRET: env.int(1) }, { API_SECRET: 'hunter2' });
    } catch (error) {
      expect((error as ConfigError).message).not.toContain('hunter2');
    }
    expect.assertions(1);
  });
});
