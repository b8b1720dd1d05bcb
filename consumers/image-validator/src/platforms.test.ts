import { describe, expect, it } from 'vitest';
import { choosePlatform } from './platforms.js';

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
