import type { Healthcheck } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { probesOf } from './probes.js';

const check = (test: string[], over: Partial<Healthcheck> = {}): Healthcheck => ({
  test, intervalSeconds: null, timeoutSeconds: null, startPeriodSeconds: null, retries: null, ...over,
});
const tcp = { port: 8080, protocol: 'TCP' as const };

describe('probesOf', () => {
  it('maps HEALTHCHECK CMD to exec probes: interval, timeout, retries, start period', () => {
    const probes = probesOf(check(['CMD', '/app/health', '--deep'], { intervalSeconds: 10, timeoutSeconds: 3, retries: 4, startPeriodSeconds: 45 }), tcp);
    expect(probes.source).toBe('healthcheck');
    expect(probes.liveness).toEqual({ exec: { command: ['/app/health', '--deep'] }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 4 });
    expect(probes.readiness).toEqual({ exec: { command: ['/app/health', '--deep'] }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 4, successThreshold: 1 });
    // 45 s of start period at 10 s a check is 5 checks, plus the 4 retries Docker allows afterwards.
    expect(probes.startup).toEqual({ exec: { command: ['/app/health', '--deep'] }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 9 });
  });

  it('runs CMD-SHELL through /bin/sh -c', () => {
    const probes = probesOf(check(['CMD-SHELL', 'curl -f http://localhost/ || exit 1']), null);
    expect(probes.liveness).toMatchObject({ exec: { command: ['/bin/sh', '-c', 'curl -f http://localhost/ || exit 1'] } });
  });

  // Docker runs CMD-SHELL with the image's SHELL (moby daemon/health.go: append(getShell(config), test[1:]...)): under
  // /bin/sh (dash) a check written for the image's `SHELL ["/bin/bash", …]` failed for ever and the pods restarted.
  it('runs CMD-SHELL through the image\'s SHELL when it has one, each of its words its own argument', () => {
    const bash = ['/bin/bash', '-o', 'pipefail', '-c'];
    const probes = probesOf(check(['CMD-SHELL', '[[ -f /tmp/ready ]] && curl -fs localhost | grep -q ok']), tcp, bash);
    const command = [...bash, '[[ -f /tmp/ready ]] && curl -fs localhost | grep -q ok'];
    expect(probes.liveness).toMatchObject({ exec: { command } });
    expect(probes.readiness).toMatchObject({ exec: { command } });
    expect(probes.startup).toMatchObject({ exec: { command } });
    // The SHELL's words go through the kubelet too: PowerShell's `$ErrorActionPreference` stays its own.
    expect(probesOf(check(['CMD-SHELL', 'exit 0']), null, ['pwsh', '-Command', '$ErrorActionPreference = "Stop";']).liveness)
      .toMatchObject({ exec: { command: ['pwsh', '-Command', '$$ErrorActionPreference = "Stop";', 'exit 0'] } });
  });

  it('keeps /bin/sh -c for an image with no SHELL, and for events written before images carried one', () => {
    for (const shell of [null, []]) {
      expect(probesOf(check(['CMD-SHELL', 'true']), null, shell).liveness).toMatchObject({ exec: { command: ['/bin/sh', '-c', 'true'] } });
    }
  });

  it('passes CMD-SHELL\'s further words as arguments of their own, as Docker does, not joined into the script', () => {
    // `sh -c 'echo "$0"' probe` runs the first word with $0 = probe; joined, it would run `echo "$0" probe`.
    expect(probesOf(check(['CMD-SHELL', 'test "$0" = probe', 'probe']), null).liveness)
      .toMatchObject({ exec: { command: ['/bin/sh', '-c', 'test "$$0" = probe', 'probe'] } });
  });

  it('writes each `$` of the command `$$`, so the kubelet runs it as Docker does: no $(NAME) expanded, $$ still the shell\'s PID', () => {
    expect(probesOf(check(['CMD-SHELL', 'kill -0 $$']), null).liveness).toMatchObject({ exec: { command: ['/bin/sh', '-c', 'kill -0 $$$$'] } });
    expect(probesOf(check(['CMD', '/app/check', '--url=$(HOST)', '$HOME']), null).readiness).toMatchObject({ exec: { command: ['/app/check', '--url=$$(HOST)', '$$HOME'] } });
  });

  it("uses Docker's defaults for unset fields and rounds fractions up to whole seconds", () => {
    expect(probesOf(check(['CMD', 'x']), null).liveness).toEqual({ exec: { command: ['x'] }, periodSeconds: 30, timeoutSeconds: 30, failureThreshold: 3 });
    expect(probesOf(check(['CMD', 'x'], { intervalSeconds: 0.2, timeoutSeconds: 2.5, retries: 0 }), null).liveness)
      .toEqual({ exec: { command: ['x'] }, periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 3 });
  });

  it('keeps the startup probe\'s failureThreshold within the int32 Kubernetes has for it, however long the start period', () => {
    // The validator takes durations and retries up to 2^31-1 each (Avro ints); a check every second over the longest start period, plus retries, is more.
    const probes = probesOf(check(['CMD', 'true'], { intervalSeconds: 1, startPeriodSeconds: 2_147_483_647, retries: 2_147_483_647, timeoutSeconds: 2_147_483_647 }), tcp);
    expect(probes.startup).toMatchObject({ periodSeconds: 1, timeoutSeconds: 2_147_483_647, failureThreshold: 2_147_483_647 });
    expect(probes.liveness).toMatchObject({ failureThreshold: 2_147_483_647 });
  });

  it('falls back to tcpSocket on the named port without a usable HEALTHCHECK', () => {
    for (const healthcheck of [null, check(['NONE']), check([]), check(['CMD']), check(['WHAT', 'x'])]) {
      const probes = probesOf(healthcheck, tcp);
      expect(probes.source).toBe('tcp-port');
      expect(probes.liveness).toMatchObject({ tcpSocket: { port: 'app' } });
      expect(probes.readiness).toMatchObject({ tcpSocket: { port: 'app' } });
      expect(probes.startup).toMatchObject({ tcpSocket: { port: 'app' }, failureThreshold: 30 });
    }
  });

  it('has no probes, and says why, without HEALTHCHECK and port', () => {
    const probes = probesOf(null, null);
    expect(probes).toMatchObject({ enabled: false, source: 'none', liveness: {}, readiness: {}, startup: {} });
    expect(probes.disabledReason).toMatch(/no HEALTHCHECK and exposes no port/);
  });

  it('has no probes for a UDP-only port, which tcpSocket cannot check', () => {
    const probes = probesOf(null, { port: 53, protocol: 'UDP' });
    expect(probes.enabled).toBe(false);
    expect(probes.disabledReason).toMatch(/UDP/);
  });
});
