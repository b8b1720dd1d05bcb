import { describe, expect, it } from 'vitest';
import { choosePlatform, normalizedCpu, platformMismatch, platformOfConfig, platformsListedTwice } from './platforms.js';

const arm = { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } };
const amd = { platform: { os: 'linux', architecture: 'amd64' } };
const attestation = { platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': 'sha256:…' } };

describe('choosePlatform', () => {
  it('takes linux/amd64 wherever it is listed', () => {
    expect(choosePlatform([arm, attestation, amd])).toBe(amd);
  });

  it('never takes a BuildKit attestation while an image is listed, even first', () => {
    expect(choosePlatform([attestation, arm])).toBe(arm);
    expect(choosePlatform([{ annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } }, arm])).toBe(arm);
  });

  it('takes the image over an unknown/unknown entry listed first even without the attestation annotation (an index some tools write without it)', () => {
    const unannotated = { platform: { os: 'unknown', architecture: 'unknown' } };
    const armOnly = { platform: { os: 'linux', architecture: 'arm64' } };
    expect(choosePlatform([unannotated, armOnly])).toBe(armOnly);
  });

  it('honours an asked-for platform, else falls back to the first image', () => {
    expect(choosePlatform([amd, arm], { os: 'linux', architecture: 'arm64' })).toBe(arm);
    expect(choosePlatform([attestation, arm, amd], { os: 'windows', architecture: 'amd64' })).toBe(arm);
  });

  it('takes plain linux/amd64 (or v1) over v2, v3 or v4 listed before it, which older x86-64 CPUs cannot run; likewise arm64 over arm64/v9 (found by a review)', () => {
    const amdV3 = { platform: { os: 'linux', architecture: 'amd64', variant: 'v3' } };
    const amdV2 = { platform: { os: 'linux', architecture: 'amd64', variant: 'v2' } };
    const amdV1 = { platform: { os: 'linux', architecture: 'amd64', variant: 'v1' } };
    expect(choosePlatform([amdV3, amdV2, amd])).toBe(amd);
    expect(choosePlatform([amdV3, amdV1])).toBe(amdV1);
    // Only newer variants: the first is still taken rather than nothing.
    expect(choosePlatform([arm, amdV3, amdV2])).toBe(amdV3);
    const armV9 = { platform: { os: 'linux', architecture: 'arm64', variant: 'v9' } };
    const armPlain = { platform: { os: 'linux', architecture: 'arm64' } };
    expect(choosePlatform([armV9, arm], { os: 'linux', architecture: 'arm64' })).toBe(arm);
    expect(choosePlatform([armV9, armPlain], { os: 'linux', architecture: 'arm64' })).toBe(armPlain);
  });

  it('leaves an index of attestations alone (the manifest check refuses it) and an empty one undecided', () => {
    expect(choosePlatform([attestation])).toBe(attestation);
    expect(choosePlatform([])).toBeUndefined();
  });
});

describe('platformsListedTwice', () => {
  const amd64 = { os: 'linux', architecture: 'amd64' };
  it('names a platform listed for two different images (found by a probe: it passed without a word), and nothing else', () => {
    expect(platformsListedTwice([{ digest: 'sha256:a', platform: amd64 }, { digest: 'sha256:b', platform: amd64 }, { digest: 'sha256:c', platform: { os: 'linux', architecture: 'arm64' } }], 'index.json'))
      .toBe('index.json lists linux/amd64 for 2 different images (sha256:a, sha256:b): a runtime runs the first one listed');
    expect(platformsListedTwice([{ digest: 'sha256:a', platform: amd64 }, { digest: 'sha256:a', platform: amd64 }, { digest: 'sha256:b', platform: { ...amd64, variant: 'v2' } }], 'index.json')).toBeUndefined();
    expect(platformsListedTwice([{ digest: 'sha256:a', platform: amd64 }, { digest: 'sha256:b', platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } }], 'x')).toBeUndefined();
  });

  it('tells Windows images apart by os.version: one per build (ltsc2025, ltsc2022, 1809) is no platform listed twice, the same build twice is (found by a review)', () => {
    const windows = (digest: string, build: string) => ({ digest, platform: { os: 'windows', architecture: 'amd64', 'os.version': build } });
    const builds = [windows('sha256:a', '10.0.26100.4061'), windows('sha256:b', '10.0.20348.3692'), windows('sha256:c', '10.0.17763.7314')];
    expect(platformsListedTwice([{ digest: 'sha256:l', platform: amd64 }, ...builds], 'index.json')).toBeUndefined();
    expect(platformsListedTwice([...builds, windows('sha256:d', '10.0.20348.3692')], 'index.json'))
      .toBe('index.json lists windows/amd64 10.0.20348.3692 for 2 different images (sha256:b, sha256:d): a runtime runs the first one listed');
  });
});

describe('platformMismatch', () => {
  const role = 'the entry';
  const linux = (architecture: string, variant?: string) => ({ os: 'linux', architecture, ...(variant === undefined ? {} : { variant }) });

  it('refuses a variant the config does not name (found by a review: arm/v7 listed as arm/v6, arm64/v8 as arm64/v9 were stored)', () => {
    expect(platformMismatch(role, linux('arm', 'v6'), linux('arm', 'v7'))).toBe('the entry is listed as linux/arm/v6 but its config says linux/arm/v7');
    expect(platformMismatch(role, linux('arm64', 'v9'), linux('arm64', 'v8'))).toBe('the entry is listed as linux/arm64/v9 but its config says linux/arm64/v8');
    expect(platformMismatch(role, linux('amd64', 'v3'), linux('amd64', 'v2'))).toBe('the entry is listed as linux/amd64/v3 but its config says linux/amd64/v2');
  });

  it('reads variants as containerd does: other spellings of one variant, and the baseline of amd64 (v1) and arm64 (v8), are the same', () => {
    expect(platformMismatch(role, linux('amd64', 'v1'), linux('amd64'))).toBeUndefined();
    expect(platformMismatch(role, linux('amd64'), linux('amd64', 'v1'))).toBeUndefined();
    expect(platformMismatch(role, linux('arm', '7'), linux('arm', 'v7'))).toBeUndefined();
    expect(platformMismatch(role, linux('arm64', 'v8.0'), linux('aarch64', 'v8'))).toBeUndefined();
    expect(platformMismatch(role, linux('arm64', '9'), linux('arm64', 'v9.0'))).toBeUndefined();
  });

  it('keeps a config that names no variant: it says nothing of its CPU (older arm images were listed as arm/v6 over such configs)', () => {
    expect(platformMismatch(role, linux('arm', 'v6'), linux('arm'))).toBeUndefined();
    expect(platformMismatch(role, linux('arm64', 'v9'), linux('arm64'))).toBeUndefined();
  });

  it('keeps an entry that names no variant: it claims any CPU of its architecture, as buildx and crane list them', () => {
    expect(platformMismatch(role, linux('arm'), linux('arm', 'v6'))).toBeUndefined();
    expect(platformMismatch(role, linux('arm64'), linux('arm64', 'v9'))).toBeUndefined();
    expect(platformMismatch(role, linux('amd64'), linux('amd64', 'v3'))).toBeUndefined();
  });

  it('still compares os and architecture, in the words it always used', () => {
    expect(platformMismatch(role, linux('amd64'), linux('arm64'))).toBe('the entry is listed as linux/amd64 but its config says linux/arm64');
    expect(platformMismatch(role, { os: 'windows', architecture: 'amd64' }, linux('amd64'))).toBe('the entry is listed as windows/amd64 but its config says linux/amd64');
    expect(platformMismatch(role, undefined, linux('arm64'))).toBeUndefined();
  });

  it('compares os.version and os.features when both sides state them', () => {
    const windows = (osVersion?: string, features?: string[]) => ({ os: 'windows', architecture: 'amd64', ...(osVersion === undefined ? {} : { 'os.version': osVersion }), ...(features === undefined ? {} : { 'os.features': features }) });
    expect(platformMismatch(role, windows('10.0.20348.3692'), windows('10.0.17763.7314'))).toBe('the entry is listed as windows/amd64 10.0.20348.3692 but its config says windows/amd64 10.0.17763.7314');
    expect(platformMismatch(role, windows('10.0.20348.3692'), windows())).toBeUndefined();
    expect(platformMismatch(role, windows(), windows('10.0.20348.3692'))).toBeUndefined();
    expect(platformMismatch(role, windows(undefined, ['win32k']), windows(undefined, ['other']))).toBe('the entry is listed as windows/amd64 with os.features win32k but its config says windows/amd64 with os.features other');
    expect(platformMismatch(role, windows(undefined, ['b', 'a']), windows(undefined, ['a', 'b']))).toBeUndefined();
    expect(platformMismatch(role, windows(undefined, ['win32k']), windows())).toBeUndefined();
  });
});

describe('normalizedCpu', () => {
  it('reads architectures and variants as containerd/platforms does', () => {
    expect(normalizedCpu('x86_64', 'V1')).toEqual({ architecture: 'amd64', variant: '' });
    expect(normalizedCpu('amd64', 'v4')).toEqual({ architecture: 'amd64', variant: 'v4' });
    expect(normalizedCpu('aarch64', undefined)).toEqual({ architecture: 'arm64', variant: '' });
    expect(normalizedCpu('arm64', '9.0')).toEqual({ architecture: 'arm64', variant: 'v9' });
    expect(normalizedCpu('armhf', undefined)).toEqual({ architecture: 'arm', variant: 'v7' });
    expect(normalizedCpu('armel', undefined)).toEqual({ architecture: 'arm', variant: 'v6' });
    expect(normalizedCpu('arm', '5')).toEqual({ architecture: 'arm', variant: 'v5' });
    expect(normalizedCpu('i386', 'anything')).toEqual({ architecture: '386', variant: '' });
    expect(normalizedCpu('s390x', undefined)).toEqual({ architecture: 's390x', variant: '' });
  });
});

describe('platformOfConfig', () => {
  it('takes the variant, os.version and os.features a config states, and leaves out what is of another type', () => {
    expect(platformOfConfig({ os: 'linux', architecture: 'arm', variant: 'v6', rootfs: {} })).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(platformOfConfig({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.3692', 'os.features': ['win32k'] }))
      .toEqual({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.3692', 'os.features': ['win32k'] });
    expect(platformOfConfig({ os: 'linux', architecture: 'arm', variant: 7, 'os.features': [1] })).toEqual({ os: 'linux', architecture: 'arm' });
  });
});
