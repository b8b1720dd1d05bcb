import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { stateOf } from './lifecycle.js';
import { digestLog, formatDigest } from './log-digest.js';
import { logFile, stackDir } from './paths.js';
import { allServices } from './services/index.js';

/**
 * The report `npm test` prints when a test failed: each service's state, the
 * pipeline services' warnings and errors since the tests began, and the free
 * disk (a full disk stops MinIO and Kafka writing, and looks like a hang).
 */
export async function problemsReport(sinceMs: number): Promise<string> {
  const lines: string[] = [];
  for (const service of allServices()) {
    const { state } = await stateOf(service);
    if (service.kind === 'infrastructure') {
      lines.push(`${service.name}: ${state}`);
      continue;
    }
    const log = logFile(service.name);
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    lines.push(formatDigest(service.name, state === 'healthy' || state === 'running', digestLog(text, sinceMs)));
  }
  const disk = statfsSync(existsSync(stackDir()) ? stackDir() : '.');
  lines.push(`free disk under ${stackDir()}: ${((disk.bavail * disk.bsize) / 2 ** 30).toFixed(1)} GiB`);
  return lines.join('\n');
}
