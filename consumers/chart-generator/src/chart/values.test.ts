import { describe, expect, it } from 'vitest';
import { inputOf, SCENARIOS } from '../testing/inputs.js';
import { buildValues } from './values.js';

describe('buildValues', () => {
  it('gives the pod volumes to the image USER\'s group: a user 1000:2000 runs as 1000, group 2000, fsGroup 2000', () => {
    expect(buildValues(inputOf({}, { user: '1000:2000' })).podSecurityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 2000, fsGroup: 2000 });
  });

  it('keeps the image\'s group as a runtime does: 1001:0 runs in group 0, a USER without a group gets no runAsGroup (found by a review: both ran as gid 1001)', () => {
    expect(buildValues(inputOf({}, { user: '1001:0' })).podSecurityContext).toMatchObject({ runAsUser: 1001, runAsGroup: 0, fsGroup: 0 });
    const noGroup = buildValues(inputOf({}, { user: '1001' })).podSecurityContext;
    expect(noGroup).toMatchObject({ runAsUser: 1001, fsGroup: 1001 });
    expect(noGroup).not.toHaveProperty('runAsGroup');
  });

  it('runs two pods when autoscaling is turned off, so one pod\'s restart is no outage', () => {
    expect(buildValues(SCENARIOS.realistic!).replicaCount).toBe(2);
  });

  it('keeps the helm test pod small: it reserves 10m CPU and 16Mi, and may use up to 100m and 32Mi', () => {
    expect(buildValues(SCENARIOS.realistic!).tests.resources).toEqual({ requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } });
  });

  it('probes a CMD-SHELL healthcheck with the image\'s SHELL, and with /bin/sh -c for an image event that carries none', () => {
    const healthcheck = { test: ['CMD-SHELL', '[[ -e /run/ok ]]'], intervalSeconds: 10, timeoutSeconds: 2, startPeriodSeconds: null, retries: 3 };
    const bash = buildValues(inputOf({}, { healthcheck, shell: ['/bin/bash', '-c'] })).probes;
    expect(bash.liveness).toMatchObject({ exec: { command: ['/bin/bash', '-c', '[[ -e /run/ok ]]'] } });
    const before = buildValues(inputOf({}, { healthcheck })).probes;
    expect(before.liveness).toMatchObject({ exec: { command: ['/bin/sh', '-c', '[[ -e /run/ok ]]'] } });
  });
});
