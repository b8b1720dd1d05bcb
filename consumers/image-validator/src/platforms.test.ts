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

  it('honours an asked-for platform, else falls back to the first image', () => {
    expect(choosePlatform([amd, arm], { os: 'linux', architecture: 'arm64' })).toBe(arm);
    expect(choosePlatform([attestation, arm, amd], { os: 'windows', architecture: 'amd64' })).toBe(arm);
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
});
