import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
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

/** The newest candidate at or above `minMajor`; on a tie the earlier one (the explicit setting comes first). */
export function pickJava(candidates: readonly JavaCandidate[], minMajor: number): string | undefined {
  let best: { java: string; major: number } | undefined;
  for (const candidate of candidates) {
    const major = javaMajorOf(candidate.versionOutput);
    if (major !== undefined && major >= minMajor && (!best || major > best.major)) best = { java: candidate.java, major };
  }
  return best?.java;
}

function candidatePaths(): string[] {
  const homes = [process.env['ORBIT_JAVA21_HOME'], process.env['JAVA_HOME']].filter((home): home is string => Boolean(home));
  const jvms = existsSync('/usr/lib/jvm') ? readdirSync('/usr/lib/jvm').sort().map((dir) => join('/usr/lib/jvm', dir)) : [];
  const paths = [...homes, ...jvms].map((home) => join(home, 'bin', 'java')).filter((path) => existsSync(path));
  return [...new Set([...paths, 'java'])];
}

let found: string | undefined;

/** Apicurio Registry 3 needs Java 21, while the `java` on PATH may be older. */
export function findJava(minMajor: number, service: string): string {
  if (found) return found;
  const candidates = candidatePaths().map((java) => {
    // `java -version` writes to stderr.
    const probe = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 10_000 });
    return { java, versionOutput: `${probe.stdout ?? ''}${probe.stderr ?? ''}` };
  });
  found = pickJava(candidates, minMajor);
  if (!found) {
    throw new StackError('ORBIT_ERR_STACK_NO_JDK', service,
      `needs a JDK >= ${minMajor}; none found in /usr/lib/jvm/*, $JAVA_HOME or PATH. Install one (e.g. apt-get install openjdk-${minMajor}-jdk-headless) or set ORBIT_JAVA21_HOME to its home`);
  }
  return found;
}
