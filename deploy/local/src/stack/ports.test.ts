import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './paths.js';
import { PORT_VARIABLES, portVariableOf, readPorts } from './ports.js';

describe('readPorts', () => {
  it('defaults to the documented ports', () => {
    expect(readPorts({})).toEqual({
      kafka: 9092, kafkaController: 9093, kafkaSecure: 9094, kafkaMtls: 9095, schemaRegistry: 8081, schemaRegistryManagement: 8091,
      dynamodb: 8000, s3: 9000, s3Console: 9001, mysql: 3306, registry: 5050,
    });
  });

  it('takes overrides and treats empty as unset', () => {
    expect(readPorts({ ORBIT_MYSQL_PORT: '13306', ORBIT_KAFKA_PORT: '' })).toMatchObject({ mysql: 13306, kafka: 9092 });
  });

  it('reports every bad value at once with a stable code', () => {
    expect(() => readPorts({ ORBIT_MYSQL_PORT: 'x', ORBIT_S3_PORT: '70000' })).toThrow(/ORBIT_S3_PORT="70000".*ORBIT_MYSQL_PORT="x"/);
    expect(() => readPorts({ ORBIT_MYSQL_PORT: '0' })).toThrow(expect.objectContaining({ code: 'ORBIT_ERR_STACK_CONFIG' }));
  });
});

describe('the port variables', () => {
  it('are each documented in the README with their default', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    for (const [variable, port] of PORT_VARIABLES) expect(readme, variable).toContain(`| \`${variable}\` | ${port} |`);
  });

  it('are found by the port they move, as configured now', () => {
    expect(portVariableOf(3306, {})).toBe('ORBIT_MYSQL_PORT');
    expect(portVariableOf(13306, { ORBIT_MYSQL_PORT: '13306' })).toBe('ORBIT_MYSQL_PORT');
    expect(portVariableOf(8080, {})).toBeUndefined();
  });
});
