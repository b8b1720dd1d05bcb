import { describe, expect, it } from 'vitest';
import { readPorts } from './ports.js';

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
