import { describe, expect, it } from 'vitest';
import { choosePlatform, platformsListedTwice } from './platforms.js';

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
