import { describe, expect, it } from 'vitest';
import { DecodeError, TOPICS } from '@orbit/lib';
import { assertConfiguredRegistry, configuredRegistriesOf, unconfiguredRegistryProblem } from './pushed-registry.js';

const registries = ['localhost:5000/orbit', 'registry.testing.example/orbit-testing'];
const digest = `sha256:${'a'.repeat(64)}`;

describe('unconfiguredRegistryProblem', () => {
  it('passes an image pushed under ORBIT_IMAGE_REGISTRY or an environment\'s registry, and one not pushed at all', () => {
    expect(unconfiguredRegistryProblem(`localhost:5000/orbit/dev1/app-abc@${digest}`, registries)).toBeUndefined();
    expect(unconfiguredRegistryProblem(`localhost:5000/orbit/app-abc@${digest}`, registries)).toBeUndefined();
    expect(unconfiguredRegistryProblem(`Registry.Testing.Example/orbit-testing/dev1/app@${digest}`, registries)).toBeUndefined();
    expect(unconfiguredRegistryProblem(`localhost:5000/orbit/dev1/app@${digest}`, ['localhost:5000/orbit/'])).toBeUndefined();
    expect(unconfiguredRegistryProblem(null, registries)).toBeUndefined();
  });

  it('names an image in any other registry: a forged ImageStored made the chart-generator push to the host it named (found by a review)', () => {
    expect(unconfiguredRegistryProblem(`registry.example.com/orbit/dev1/app@${digest}`, registries))
      .toBe(`imageReference "registry.example.com/orbit/dev1/app@${digest}" is not under a registry this service is configured for (ORBIT_IMAGE_REGISTRY or ORBIT_ENVIRONMENT_REGISTRIES: localhost:5000/orbit, registry.testing.example/orbit-testing); no chart is pushed beside it or pins it`);
    // A prefix of a name is not the registry: the path must go on from it.
    expect(unconfiguredRegistryProblem(`localhost:5000/orbitevil/app@${digest}`, registries)).toMatch(/is not under a registry/);
    expect(unconfiguredRegistryProblem(`localhost:5000.evil.example/orbit/app@${digest}`, registries)).toMatch(/is not under a registry/);
    expect(unconfiguredRegistryProblem(`localhost:5001/orbit/app@${digest}`, registries)).toMatch(/is not under a registry/);
    // The registry alone, with no repository in it.
    expect(unconfiguredRegistryProblem(`localhost:5000/orbit@${digest}`, registries)).toMatch(/is not under a registry/);
    expect(unconfiguredRegistryProblem(`evil.example/x@${digest}`, ['', 'localhost:5000/orbit'])).toMatch(/configured for \(ORBIT_IMAGE_REGISTRY or ORBIT_ENVIRONMENT_REGISTRIES: localhost:5000\/orbit\)/);
  });
});

describe('assertConfiguredRegistry', () => {
  it('refuses such an event as one no Orbit service writes, so the loop dead-letters it with the reason', () => {
    expect(() => assertConfiguredRegistry(`localhost:5000/orbit/app@${digest}`, registries, TOPICS.imageStored)).not.toThrow();
    const refused = (() => {
      try {
        assertConfiguredRegistry(`registry.example.com/orbit/app@${digest}`, registries, TOPICS.imageStored);
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(DecodeError);
    expect(refused).toMatchObject({ code: 'ORBIT_ERR_DECODE', retriable: false });
    expect(String((refused as DecodeError).cause)).toContain('imageReference "registry.example.com/orbit/app@');
  });

  it('names the topic the event was read from: the letter says which event was forged', () => {
    expect(() => assertConfiguredRegistry(`registry.example.com/orbit/app@${digest}`, registries, TOPICS.imageStored)).toThrow(expect.objectContaining({ topic: TOPICS.imageStored }));
    expect(() => assertConfiguredRegistry(`registry.example.com/orbit/app@${digest}`, registries, TOPICS.imageCopied)).toThrow(expect.objectContaining({ topic: TOPICS.imageCopied }));
  });
});

describe('configuredRegistriesOf', () => {
  it('is ORBIT_IMAGE_REGISTRY and every ORBIT_ENVIRONMENT_REGISTRIES registry', () => {
    expect(configuredRegistriesOf({ registry: 'localhost:5000/orbit' })).toEqual(['localhost:5000/orbit']);
    expect(configuredRegistriesOf({ registry: 'localhost:5000/orbit', environmentRegistries: new Map([['Testing', 'a.example/t'], ['Production', 'b.example/p']]) }))
      .toEqual(['localhost:5000/orbit', 'a.example/t', 'b.example/p']);
  });
});
