import { TOPICS } from '@orbit/lib';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { readinessOf, schemaChecks, type SchemaSource } from './readiness.js';

describe('the gateway\'s schema readiness (found by an SRE review: with the registry down, /readyz said schema-registry up and orbit_dependency_up stayed 1)', () => {
  it('keeps the gateway ready on the id it keeps, and shows the registry down while it does not answer', async () => {
    const asked: string[] = [];
    let registryDown = false;
    const codec: SchemaSource = {
      // The id kept since the registry first gave it: asked again never.
      schemaIdOf: async () => 7,
      registry: {
        getLatestSchemaId: async (subject) => {
          asked.push(subject);
          // What @kafkajs/confluent-schema-registry throws when nothing listens: status 400, the network error in its words.
          if (registryDown) throw Object.assign(new Error('Confluent_Schema_Registry - Error, status 400: connect ECONNREFUSED 10.0.3.7:8081'), { name: 'ResponseError', status: 400 });
          return 7;
        },
      },
    };
    const checks = schemaChecks(codec);
    expect(checks.map(({ name, gates }) => [name, gates])).toEqual([['schema-ids', true], ['schema-registry', false]]);

    registryDown = true;
    const metrics = new Registry();
    const ready = await readinessOf(checks, 800, metrics)();
    // A gateway with its ids keeps serving (gating on the live registry would take every replica out of the Service)…
    expect(ready.ready).toBe(true);
    expect(ready.dependencies['schema-ids']).toMatchObject({ up: true, gates: true });
    // …and says the registry is away, as each consumer does.
    expect(ready.dependencies['schema-registry']).toMatchObject({ up: false, gates: false, error: 'ECONNREFUSED (connection refused)' });
    expect(asked).toEqual([`${TOPICS.uploadRequested}-value`]);
    const gauge = await metrics.metrics();
    expect(gauge).toContain('orbit_dependency_up{dependency="schema-registry"} 0');
    expect(gauge).toContain('orbit_dependency_up{dependency="schema-ids"} 1');
  });

  it('is not ready while the gateway has no id and the registry cannot give one', async () => {
    const away = (): Promise<number> => Promise.reject(Object.assign(new Error('Confluent_Schema_Registry - Error, status 400: connect ECONNREFUSED 10.0.3.7:8081'), { status: 400 }));
    const ready = await readinessOf(schemaChecks({ schemaIdOf: away, registry: { getLatestSchemaId: away } }), 800)();
    expect(ready.ready).toBe(false);
    expect(ready.dependencies['schema-ids']).toMatchObject({ up: false, gates: true });
  });
});
