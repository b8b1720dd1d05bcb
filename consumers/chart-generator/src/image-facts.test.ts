import { describe, expect, it } from 'vitest';
import { ChartInputError } from './errors.js';
import { appPortOf, envOf, extraPortsOf, FALLBACK_UID, imageRepositoryOf, manifestDigestOf, runAsOf, workingDirOf, writablePathsOf } from './image-facts.js';
import { imageOf, metadataOf } from './testing/inputs.js';

describe('appPortOf', () => {
  it('prefers metadata.port', () => {
    expect(appPortOf(metadataOf({ port: 9000 }), imageOf({ exposedPorts: ['8080/tcp'] }))).toEqual({ port: 9000, protocol: 'TCP' });
  });

  it('gives metadata.port the protocol the image EXPOSEs it for: TCP unless only UDP or SCTP', () => {
    expect(appPortOf(metadataOf({ port: 8125 }), imageOf({ exposedPorts: ['8125/udp'] }))).toEqual({ port: 8125, protocol: 'UDP' });
    expect(appPortOf(metadataOf({ port: 9 }), imageOf({ exposedPorts: ['8080/tcp', '9/sctp'] }))).toEqual({ port: 9, protocol: 'SCTP' });
    expect(appPortOf(metadataOf({ port: 53 }), imageOf({ exposedPorts: ['53/udp', '53/tcp'] }))).toEqual({ port: 53, protocol: 'TCP' });
    expect(appPortOf(metadataOf({ port: 8125 }), imageOf({ exposedPorts: ['8126/udp'] }))).toEqual({ port: 8125, protocol: 'TCP' });
  });

  it('takes the lowest EXPOSEd TCP port when there is no metadata port, not the first key: Docker stores ExposedPorts sorted as strings', () => {
    // What `EXPOSE 80 443`, `EXPOSE 8080 50000` (Jenkins) and `EXPOSE 3000 9229` are stored as: found by a review, 443, 50000 and 9229 became the app port.
    expect(appPortOf(metadataOf(), imageOf({ exposedPorts: ['443/tcp', '80/tcp'] }))).toEqual({ port: 80, protocol: 'TCP' });
    expect(appPortOf(metadataOf(), imageOf({ exposedPorts: ['50000/tcp', '8080/tcp'] }))).toEqual({ port: 8080, protocol: 'TCP' });
    expect(appPortOf(metadataOf(), imageOf({ exposedPorts: ['3000/tcp', '9229/tcp'] }))).toEqual({ port: 3000, protocol: 'TCP' });
    expect(appPortOf(metadataOf(), imageOf({ exposedPorts: ['10000/tcp', '9000/tcp'] }))).toEqual({ port: 9000, protocol: 'TCP' });
    expect(appPortOf(metadataOf(), imageOf({ exposedPorts: ['3000'] }))).toEqual({ port: 3000, protocol: 'TCP' });
  });

  it('prefers TCP, which probes and the helm test can check, and a UDP or SCTP port only when there is no TCP one', () => {
    expect(appPortOf(metadataOf(), imageOf({ exposedPorts: ['53/udp', '53/tcp'] }))).toEqual({ port: 53, protocol: 'TCP' });
    expect(appPortOf(metadataOf(), imageOf({ exposedPorts: ['5353/udp', '8125/udp', '9090/tcp'] }))).toEqual({ port: 9090, protocol: 'TCP' });
    expect(appPortOf(metadataOf(), imageOf({ exposedPorts: ['8125/udp', '514/udp'] }))).toEqual({ port: 514, protocol: 'UDP' });
    expect(appPortOf(metadataOf(), imageOf({ exposedPorts: ['9/SCTP'] }))).toEqual({ port: 9, protocol: 'SCTP' });
  });

  it('passes over SSH, JMX and debugger ports beside an app port, but takes one when it is all there is', () => {
    expect(appPortOf(metadataOf(), imageOf({ exposedPorts: ['22/tcp', '3000/tcp'] }))).toEqual({ port: 3000, protocol: 'TCP' });
    expect(appPortOf(metadataOf(), imageOf({ exposedPorts: ['1099/tcp', '5005/tcp', '8080/tcp'] }))).toEqual({ port: 8080, protocol: 'TCP' });
    expect(appPortOf(metadataOf(), imageOf({ exposedPorts: ['22/tcp'] }))).toEqual({ port: 22, protocol: 'TCP' });
  });

  it('keeps a metadata port the ranking would not choose', () => {
    expect(appPortOf(metadataOf({ port: 443 }), imageOf({ exposedPorts: ['443/tcp', '80/tcp'] }))).toEqual({ port: 443, protocol: 'TCP' });
  });

  it('skips EXPOSE entries that do not parse', () => {
    expect(appPortOf(metadataOf(), imageOf({ exposedPorts: ['http', '70000/tcp', '0/tcp', '8000-8010/tcp', '7000/tcp'] }))).toEqual({ port: 7000, protocol: 'TCP' });
  });

  it('is null with no ports at all', () => {
    expect(appPortOf(metadataOf(), imageOf({ exposedPorts: [] }))).toBeNull();
  });

  it.each([0, -1, 65536, 80.5])('rejects metadata port %d', (port) => {
    expect(() => appPortOf(metadataOf({ port }), imageOf())).toThrow(ChartInputError);
  });
});

describe('extraPortsOf', () => {
  it('lists the other ports in the same order, lowest TCP first, named by protocol and number', () => {
    const image = imageOf({ exposedPorts: ['443/tcp', '443/udp', '80/tcp', '9113/tcp'] });
    expect(extraPortsOf(image, appPortOf(metadataOf(), image)).map(({ name }) => name)).toEqual(['tcp-443', 'tcp-9113', 'udp-443']);
  });
});

describe('runAsOf', () => {
  const F = FALLBACK_UID;
  it.each([
    // No group: none set, so the runtime takes the UID's /etc/passwd group or 0, as Docker does; fsGroup the UID.
    ['1000', { uid: 1000, gid: null, fsGroup: 1000 }],
    ['1000:1000', { uid: 1000, gid: 1000, fsGroup: 1000 }],
    ['1000:2000', { uid: 1000, gid: 2000, fsGroup: 2000 }],
    // A group name only the image's /etc/group resolves: left to the runtime too.
    ['1000:staff', { uid: 1000, gid: null, fsGroup: 1000 }],
    // OpenShift, UBI and Bitnami images: root-group files read through gid 0 (found by a review: 1001:0 ran as gid 1001 and could not read them).
    ['1001:0', { uid: 1001, gid: 0, fsGroup: 0 }],
    ['root', { uid: F, gid: null, fsGroup: F }],
    ['0', { uid: F, gid: null, fsGroup: F }],
    ['0:0', { uid: F, gid: 0, fsGroup: 0 }],
    ['nobody', { uid: F, gid: null, fsGroup: F }],
    ['nobody:nogroup', { uid: F, gid: null, fsGroup: F }],
    ['app:1000', { uid: F, gid: 1000, fsGroup: 1000 }],
    ['', { uid: F, gid: null, fsGroup: F }],
    [null, { uid: F, gid: null, fsGroup: F }],
    ['99999999999', { uid: F, gid: null, fsGroup: F }],
    ['1000:99999999999', { uid: 1000, gid: null, fsGroup: 1000 }],
  ])('USER %j -> %j', (user, expected) => {
    expect(runAsOf(user)).toEqual(expected);
  });
});

describe('envOf', () => {
  it('puts metadata envVars over the image ENV', () => {
    const env = envOf(
      metadataOf({ envVars: [{ key: 'MODE', value: 'prod' }, { key: 'PATH', value: '/opt/bin' }] }),
      imageOf({ env: ['PATH=/usr/bin', 'LANG=C.UTF-8', 'EQ=a=b=c'] }),
    );
    expect(env).toEqual({ PATH: '/opt/bin', LANG: 'C.UTF-8', EQ: 'a=b=c', MODE: 'prod' });
  });

  it('keeps values exactly, whatever YAML or templates would make of them', () => {
    const values = ['yes', '{{ .Values }}', 'a\nb', '"q"', '', '*x', '&y', 'key: v', '0123'];
    const env = envOf(metadataOf({ envVars: values.map((value, i) => ({ key: `K${i}`, value })) }), imageOf({ env: [] }));
    expect(Object.values(env)).toEqual(values);
  });

  it('leaves image entries that cannot be ConfigMap keys to the image', () => {
    expect(envOf(metadataOf(), imageOf({ env: ['BAD KEY=x', 'NOVALUE', 'OK=1'] }))).toEqual({ OK: '1' });
    // Valid characters, but the API server refuses these keys (they would clash with the files a ConfigMap volume writes).
    expect(envOf(metadataOf(), imageOf({ env: ['.=dot', '..=dots', '..data=x', '...=y', '.hidden=1', 'a..b=2'] }))).toEqual({ '.hidden': '1', 'a..b': '2' });
  });

  it('leaves image entries whose value helm would change to the image: a character it cannot carry, `<no value>` it deletes', () => {
    expect(envOf(metadataOf(), imageOf({ env: ['DEL=a\u007f', 'A_PORT=<no value>8080', 'GREETING=Hello <no value>!', 'OK=<no-value>'] }))).toEqual({ OK: '<no-value>' });
  });

  it.each(['__proto__', 'constructor', 'toString'])('keeps a variable named %s, from the metadata and from the image ENV, as a key like any other (found by a review: __proto__ was dropped from every chart)', (key) => {
    const fromMetadata = envOf(metadataOf({ envVars: [{ key, value: 'from metadata' }] }), imageOf({ env: [] }));
    const fromImage = envOf(metadataOf(), imageOf({ env: [`${key}=from image`] }));
    expect(Object.entries(fromMetadata)).toEqual([[key, 'from metadata']]);
    expect(Object.entries(fromImage)).toEqual([[key, 'from image']]);
    expect(Object.entries(envOf(metadataOf({ envVars: [{ key, value: 'metadata wins' }] }), imageOf({ env: [`${key}=image`] })))).toEqual([[key, 'metadata wins']]);
  });

  it.each(['BAD KEY', '', 'a/b', 'ü', '{{x}}', '.', '..x', 'K'.repeat(254)])('rejects metadata variable name %j', (key) => {
    expect(() => envOf(metadataOf({ envVars: [{ key, value: 'v' }] }), imageOf())).toThrow(/ORBIT_ERR_CHART_INPUT|variable name/);
  });
});

describe('workingDirOf', () => {
  it('keeps absolute paths, resolves relative ones against the image WORKDIR, and is empty when unset', () => {
    expect(workingDirOf(metadataOf({ workingDir: '/srv/my app/' }), imageOf())).toBe('/srv/my app');
    expect(workingDirOf(metadataOf({ workingDir: 'sub/../data' }), imageOf({ workingDir: '/app' }))).toBe('/app/data');
    expect(workingDirOf(metadataOf({ workingDir: '../..' }), imageOf())).toBe('/');
    expect(workingDirOf(metadataOf({ workingDir: null }), imageOf({ workingDir: '/app' }))).toBe('');
    // A hand-built config's relative WorkingDir, which runc refuses: resolved against / (found by a review: charted as is).
    expect(workingDirOf(metadataOf({ workingDir: null }), imageOf({ workingDir: 'app' }))).toBe('/app');
    expect(workingDirOf(metadataOf({ workingDir: 'sub' }), imageOf({ workingDir: 'app' }))).toBe('/app/sub');
    expect(workingDirOf(metadataOf({ workingDir: '  ' }), imageOf())).toBe('');
  });

  it('trims only the ASCII white space the gateway trims, never a Unicode space, which is part of the path (found by a review: /srv and U+3000 ran in /srv)', () => {
    expect(workingDirOf(metadataOf({ workingDir: '/srv\u3000' }), imageOf())).toBe('/srv\u3000');
    expect(workingDirOf(metadataOf({ workingDir: '/data\u00a0' }), imageOf())).toBe('/data\u00a0');
    expect(workingDirOf(metadataOf({ workingDir: ' /tmp \n' }), imageOf())).toBe('/tmp');
  });
});

describe('writablePathsOf', () => {
  it('collects image VOLUMEs and metadata volumes, normalised and deduplicated, without / and /tmp', () => {
    const paths = writablePathsOf(
      metadataOf({ workingDir: '/srv/app', volumes: [{ key: 'a', value: 'cache' }, { key: 'b', value: '/data/' }, { key: 'c', value: '/tmp' }, { key: 'd', value: '/x/../y' }] }),
      imageOf({ volumes: ['/data', '/', '/var/log/app/'] }),
    );
    expect(paths).toEqual(['/data', '/srv/app/cache', '/var/log/app', '/y']);
  });

  it('resolves relative paths against / when there is no working directory, never above it', () => {
    expect(writablePathsOf(metadataOf({ volumes: [{ key: 'x', value: '../../etc' }] }), imageOf())).toEqual(['/etc']);
  });

  it("falls back to the image's WORKDIR for relative paths", () => {
    expect(writablePathsOf(metadataOf({ volumes: [{ key: 'x', value: 'cache' }] }), imageOf({ workingDir: '/opt/app' }))).toEqual(['/opt/app/cache']);
  });

  it('is empty without volumes', () => {
    expect(writablePathsOf(metadataOf(), imageOf())).toEqual([]);
    expect(writablePathsOf(metadataOf(), imageOf({ workingDir: 'app', volumes: ['data'] }))).toEqual(['/app/data']);
  });

  it('cleans an image VOLUME as Docker does, and resolves a relative one under the WORKDIR', () => {
    expect(writablePathsOf(metadataOf(), imageOf({ workingDir: '/opt/app', volumes: ['/var/log/./app//', 'logs', '/data/../cache/'] })))
      .toEqual(['/cache', '/opt/app/logs', '/var/log/app']);
  });

  it('keeps the white space at an image VOLUME\'s ends, and trims a metadata volume of ASCII white space alone (found by a review: "/ " was dropped, /data and U+00A0 became /data)', () => {
    expect(writablePathsOf(metadataOf(), imageOf({ volumes: ['/data\u00a0', '/cache ', '/ ', '/srv\u3000'] }))).toEqual(['/ ', '/cache ', '/data\u00a0', '/srv\u3000']);
    expect(writablePathsOf(metadataOf({ volumes: [{ key: 'a', value: '/data\u00a0' }, { key: 'b', value: ' /cache \t' }] }), imageOf())).toEqual(['/cache', '/data\u00a0']);
  });
});

describe('image reference checks', () => {
  it('wants a sha256 manifest digest', () => {
    expect(manifestDigestOf(imageOf({}, { manifestDigest: `sha256:${'a'.repeat(64)}` }))).toBe(`sha256:${'a'.repeat(64)}`);
    expect(() => manifestDigestOf(imageOf({}, { manifestDigest: 'sha256:abc' }))).toThrow(ChartInputError);
    expect(() => manifestDigestOf(imageOf({}, { manifestDigest: `SHA256:${'a'.repeat(64)}` }))).toThrow(ChartInputError);
  });

  it('wants a repository without tag or digest', () => {
    for (const ok of ['registry.example/orbit/app', 'localhost:5000/a/b', 'docker.io/library/busybox', 'r.example/a__b/c-d']) expect(imageRepositoryOf(ok)).toBe(ok);
    for (const bad of ['', 'app', 'registry.example/orbit/app:1.0', 'registry.example/orbit/app@sha256:x', 'Registry.example/App', 'r.example/a b', 'r.example//a']) {
      expect(() => imageRepositoryOf(bad), bad).toThrow(ChartInputError);
    }
  });
});
