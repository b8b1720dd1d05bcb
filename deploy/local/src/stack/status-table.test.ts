import { describe, expect, it } from 'vitest';
import { formatStatus } from './status-table.js';

describe('formatStatus', () => {
  it('aligns columns and shows a dash for no pid', () => {
    const text = formatStatus([
      { name: 'kafka', port: 9092, pid: 123, state: 'healthy', log: '/s/logs/kafka.log' },
      { name: 'schema-registry', port: 8081, pid: undefined, state: 'down', log: '/s/logs/schema-registry.log' },
    ]);
    expect(text.split('\n')).toEqual([
      'SERVICE          PORT  PID  STATE    LOG',
      'kafka            9092  123  healthy  /s/logs/kafka.log',
      'schema-registry  8081  -    down     /s/logs/schema-registry.log',
    ]);
  });
});
