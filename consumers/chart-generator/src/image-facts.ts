import { posix } from 'node:path';
import { asciiTrimmed, chartTextProblem, MAX_ENV_NAME, userKeyedRecord } from '@orbit/lib';
import { pinnedDigestOf, type ImageMetadata, type ImageSummary } from '@orbit/schemas';
import { ChartInputError } from './errors.js';

/** What the chart needs from the metadata and the image config, resolved once so values and manifests agree. */

export type PortProtocol = 'TCP' | 'UDP' | 'SCTP';
export interface AppPort { readonly port: number; readonly protocol: PortProtocol }

/** UID for images whose USER is a name or root: a name cannot be resolved without the image's /etc/passwd. */
export const FALLBACK_UID = 10001;

function validPort(port: number, field: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ChartInputError(field, `port ${port} is not an integer from 1 to 65535`);
  return port;
}

/** The image's EXPOSE entries that parse ("8080/tcp", "53/udp", "9000"), each once; ranges and nonsense are skipped. */
function parsedPortsOf(image: ImageSummary): AppPort[] {
  const ports: AppPort[] = [];
  for (const exposed of image.config.exposedPorts) {
    const match = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(exposed.trim());
    if (match === null) continue;
    const port = Number(match[1]);
    if (port < 1 || port > 65535) continue;
    const protocol = (match[2]?.toUpperCase() ?? 'TCP') as PortProtocol;
    if (!ports.some((known) => known.port === port && known.protocol === protocol)) ports.push({ port, protocol });
  }
  return ports;
}

/**
 * TCP ports images EXPOSE beside the one they serve on, below it often
 * enough to matter: SSH (Gitea's `EXPOSE 22 3000`), JMX's RMI registry and
 * the JVM's debugger (`EXPOSE 8080 1099 5005`). Node's inspector (9229) is
 * above the usual app ports anyway.
 */
const SIDE_PORTS: ReadonlySet<number> = new Set([22, 1099, 5005]);

const PROTOCOL_RANK: Readonly<Record<PortProtocol, number>> = { TCP: 0, UDP: 1, SCTP: 2 };

/**
 * The EXPOSE ports ranked for the app port, best first: TCP (probes and the
 * helm test can check it), then not a side port, then the lowest number.
 * Not the EXPOSE order: Docker and BuildKit keep ExposedPorts in a Go map,
 * written with its keys sorted as strings (`EXPOSE 80 443` is stored
 * `{"443/tcp":{},"80/tcp":{}}`, `EXPOSE 8080 50000` `{"50000/tcp":…}` first),
 * and the history's created_by is the same sorted map, so that order is lost.
 * The lowest port is the app's in common images (80 before 443, 8080 before
 * Jenkins' 50000, 3000 before 9229, 8080 before 9090 metrics).
 */
function exposedPortsOf(image: ImageSummary): AppPort[] {
  return parsedPortsOf(image).sort((a, b) => PROTOCOL_RANK[a.protocol] - PROTOCOL_RANK[b.protocol]
    || Number(SIDE_PORTS.has(a.port)) - Number(SIDE_PORTS.has(b.port)) || a.port - b.port);
}

/**
 * The protocol metadata.port speaks: TCP unless the image EXPOSEs that port
 * for UDP or SCTP only (`EXPOSE 8125/udp`, a statsd), where a TCP port would
 * get TCP probes nothing answers and the pod would restart forever.
 */
function protocolOf(port: number, exposed: readonly AppPort[]): PortProtocol {
  const protocols = exposed.filter((entry) => entry.port === port).map((entry) => entry.protocol);
  return protocols.includes('TCP') ? 'TCP' : protocols[0] ?? 'TCP';
}

/** metadata.port wins (with the protocol the image EXPOSEs it for); otherwise the best-ranked EXPOSE port (exposedPortsOf). */
export function appPortOf(metadata: ImageMetadata, image: ImageSummary): AppPort | null {
  const exposed = exposedPortsOf(image);
  if (metadata.port !== null) {
    const port = validPort(metadata.port, 'metadata.port');
    return { port, protocol: protocolOf(port, exposed) };
  }
  return exposed[0] ?? null;
}

/** At most this many ports beside the app's: an image may EXPOSE thousands, which no Service should list. */
export const MAX_EXTRA_PORTS = 32;

export interface NamedPort { readonly name: string; readonly containerPort: number; readonly protocol: PortProtocol }

/**
 * The image's other EXPOSE ports (a metrics or admin port beside the app's),
 * in exposedPortsOf's order, so the Service and the NetworkPolicy admit them too; none without an app
 * port. Named `<protocol>-<port>`: unique, and an IANA service name (at most
 * 15 characters, a letter in it), as a container port's name must be.
 */
export function extraPortsOf(image: ImageSummary, app: AppPort | null): NamedPort[] {
  if (app === null) return [];
  return exposedPortsOf(image)
    .filter(({ port, protocol }) => !(port === app.port && protocol === app.protocol))
    .slice(0, MAX_EXTRA_PORTS)
    .map(({ port, protocol }) => ({ name: `${protocol.toLowerCase()}-${port}`, containerPort: port, protocol }));
}

/**
 * uid runs the app; gid is the group USER names, null when it names none;
 * fsGroup owns mounted volumes (a PVC, which unlike an emptyDir is not
 * world-writable) and is given to the process as a supplementary group.
 */
export interface RunAs { readonly uid: number; readonly gid: number | null; readonly fsGroup: number }

const isId = (text: string): boolean => /^\d{1,10}$/.test(text) && Number(text) <= 2_147_483_647;

/**
 * The pod must run as non-root, so root (0, "root") and user names both become
 * FALLBACK_UID. The group is kept as a runtime keeps it: a numeric group, 0
 * included, is the runAsGroup (OpenShift, UBI and Bitnami images run as
 * `1001:0` with root-group files they read through gid 0; the restricted Pod
 * Security Standard bounds only the UID). No group, or a group name the
 * image's /etc/group would resolve, sets none: the runtime then takes the
 * UID's primary group from the image's /etc/passwd, or 0 (what Docker and
 * containerd do, and what an unknown FALLBACK_UID gets: OpenShift's arbitrary
 * UID in group 0). fsGroup is that group when numeric, else the UID.
 */
export function runAsOf(user: string | null): RunAs {
  const [userPart = '', groupPart] = (user ?? '').trim().split(':', 2);
  const uid = isId(userPart) && Number(userPart) > 0 ? Number(userPart) : FALLBACK_UID;
  const gid = groupPart !== undefined && isId(groupPart) ? Number(groupPart) : null;
  return { uid, gid, fsGroup: gid ?? uid };
}

/** ConfigMap keys allow only these, and not `.`, `..` or a leading `..`; anything else makes the API server reject the whole ConfigMap. */
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;
const isConfigMapKey = (key: string): boolean => CONFIG_MAP_KEY.test(key) && key.length <= MAX_ENV_NAME && key !== '.' && !key.startsWith('..');

/**
 * Image ENV first, metadata envVars over it. An image entry that cannot be a
 * key, or whose value helm cannot carry or would cut (`<no value>`), is left
 * to the image (it still has it).
 */
export function envOf(metadata: ImageMetadata, image: ImageSummary): Record<string, string> {
  const env = userKeyedRecord<string>();
  for (const entry of image.config.env) {
    const eq = entry.indexOf('=');
    const key = eq === -1 ? entry : entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    if (eq === -1 || !isConfigMapKey(key) || chartTextProblem(value) !== null) continue;
    env[key] = value;
  }
  for (const { key, value } of metadata.envVars) {
    if (key.length > MAX_ENV_NAME) throw new ChartInputError('metadata.envVars', `variable name ${JSON.stringify(key)} is ${key.length} characters; at most ${MAX_ENV_NAME}`);
    if (!isConfigMapKey(key)) throw new ChartInputError('metadata.envVars', `variable name ${JSON.stringify(key)} may only hold letters, digits, '-', '_' and '.', and may not be '.' nor start with '..'`);
    env[key] = value;
  }
  return env;
}

export const TMP_PATH = '/tmp';

/**
 * The working directory the container must be given, absolute, or '' to keep
 * the image's: runc refuses a relative cwd. metadata.workingDir resolves
 * against the image's WORKDIR the way a Dockerfile WORKDIR would; an image
 * whose own WorkingDir is relative (a hand-built config: `"app"`) gets it
 * resolved against `/`, as Docker's builder resolves a first `WORKDIR app`,
 * where the image's own would stop every start.
 */
export function workingDirOf(metadata: ImageMetadata, image: ImageSummary): string {
  const dir = asciiTrimmed(metadata.workingDir ?? '');
  const own = image.config.workingDir ?? '';
  const base = posix.resolve('/', own);
  if (dir !== '') return posix.resolve(base, dir);
  return own === '' || posix.isAbsolute(own) ? '' : base;
}

/**
 * Writable paths besides /tmp: the root filesystem is read-only, so every
 * image VOLUME and metadata volume gets an emptyDir. Paths are cleaned as
 * Docker cleans a VOLUME (`/var/log/./app//` is `/var/log/app`), relative ones
 * resolved against the working directory, and a path given twice once cleaned
 * is mounted once. An image's VOLUME keeps the white space at its ends: that
 * is where the image writes, and no one could send it otherwise; a metadata
 * volume is trimmed of ASCII white space, as the gateway trims it. The
 * emptyDirs are named writable-N in this list's order, not by a metadata
 * volume's key, which only tells the metadata's volumes apart.
 */
export function writablePathsOf(metadata: ImageMetadata, image: ImageSummary): string[] {
  const base = workingDirOf(metadata, image) || image.config.workingDir || '/';
  // base is absolute: workingDirOf resolves a relative image WORKDIR, so a relative VOLUME lands under it.
  const paths = new Set<string>();
  const add = (path: string, field: string): void => {
    if (path === '') return;
    if (path.includes('\0')) throw new ChartInputError(field, 'a volume path holds a NUL character');
    const resolved = posix.resolve(posix.isAbsolute(base) ? base : '/', path);
    if (resolved !== '/' && resolved !== TMP_PATH) paths.add(resolved);
  };
  for (const path of image.config.volumes) add(path, 'image.config.volumes');
  for (const { value } of metadata.volumes) add(asciiTrimmed(value), 'metadata.volumes');
  return [...paths].sort();
}

/**
 * The digest pods pull the image by, `sha256:<64 hex>`: a multi-platform
 * image's index (each node then takes its own platform), else its manifest.
 * A malformed one would make every pod fail to start.
 */
export function manifestDigestOf(image: ImageSummary): string {
  const digest = pinnedDigestOf(image);
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new ChartInputError(image.index ? 'image.index.digest' : 'image.manifestDigest', `${JSON.stringify(digest)} is not sha256:<64 hex digits>`);
  }
  return digest;
}

/** An image repository as `docker pull` accepts it without tag or digest: host[:port]/path, lower case. */
export function imageRepositoryOf(repository: string): string {
  const ok = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$/.test(repository);
  if (!ok) throw new ChartInputError('imageRepository', `${JSON.stringify(repository)} is not a repository like registry.example/orbit/name`);
  return repository;
}
