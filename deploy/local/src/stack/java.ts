import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StackError } from './errors.js';

/** `java -version` says `"25.0.1"`, `"21"` or, before Java 9, `"1.8.0_392"`. */
export function javaMajorOf(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

export interface JavaCandidate {
  readonly java: string;
  readonly versionOutput: string;
}

/**
 * `newest`: the newest candidate at or above `minMajor`, on a tie the earlier one (the explicit setting comes
 * first); `first`: the first candidate at or above it.
 */
export function pickJava(candidates: readonly JavaCandidate[], minMajor: number, prefer: JavaPreference = 'newest'): string | undefined {
  let best: { java: string; major: number } | undefined;
  for (const candidate of candidates) {
    const major = javaMajorOf(candidate.versionOutput);
    if (major === undefined || major < minMajor) continue;
    if (prefer === 'first') return candidate.java;
    if (!best || major > best.major) best = { java: candidate.java, major };
  }
  return best?.java;
}

export type JavaPreference = 'newest' | 'first';

/** `first` looks at PATH's `java` before the others, so a machine whose `java` runs a service keeps it. */
function candidatePaths(prefer: JavaPreference): string[] {
  const homes = [process.env['ORBIT_JAVA21_HOME'], process.env['JAVA_HOME']].filter((home): home is string => Boolean(home));
  const jvms = existsSync('/usr/lib/jvm') ? readdirSync('/usr/lib/jvm').sort().map((dir) => join('/usr/lib/jvm', dir)) : [];
  const paths = [...homes, ...jvms].map((home) => join(home, 'bin', 'java')).filter((path) => existsSync(path));
  return [...new Set(prefer === 'first' ? ['java', ...paths] : [...paths, 'java'])];
}

const found = new Map<string, string>();

/**
 * Apicurio Registry 3 needs Java 21, while the `java` on PATH may be older, or missing where a JDK is known
 * only by JAVA_HOME or its folder in /usr/lib/jvm. Cached per request: Kafka's JDK 17 is not Apicurio's.
 */
export function findJava(minMajor: number, service: string, prefer: JavaPreference = 'newest'): string {
  const key = `${minMajor}/${prefer}`;
  const known = found.get(key);
  if (known) return known;
  const candidates = candidatePaths(prefer).map((java) => {
    // `java -version` writes to stderr.
    const probe = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 10_000 });
    return { java, versionOutput: `${probe.stdout ?? ''}${probe.stderr ?? ''}` };
  });
  const java = pickJava(candidates, minMajor, prefer);
  if (!java) {
    throw new StackError('ORBIT_ERR_STACK_NO_JDK', service,
      `needs a JDK >= ${minMajor}; none found in /usr/lib/jvm/*, $JAVA_HOME or PATH. Install one (e.g. apt-get install openjdk-${minMajor}-jdk-headless) or set ${minMajor >= 21 ? 'ORBIT_JAVA21_HOME' : 'JAVA_HOME'} to its home`);
  }
  found.set(key, java);
  return java;
}

/** The JDK's other tools sit beside its `java`; a bare `java` (PATH) means a bare tool name too. */
export function jdkTool(java: string, tool: string): string {
  return java.includes('/') ? join(dirname(java), tool) : tool;
}

/** The JDK Kafka and DynamoDB Local run on: PATH's `java` when it is 17 or newer, else the first such JDK found. */
export const findRuntimeJava = (service: string): string => findJava(17, service, 'first');
