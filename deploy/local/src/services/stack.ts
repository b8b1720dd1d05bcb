import { existsSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { INFRASTRUCTURE, pipelineServices, type ServiceDefinition } from './definitions.js';
import { localStackEnv } from './endpoints.js';
import { StackStartError } from './errors.js';
import { logFile, REPO_ROOT, stackDir } from './paths.js';
import { launchDetached, runningPid, sleep, tailOf, terminate } from './processes.js';

export type ServiceName = string;

function allServices(): ServiceDefinition[] {
  return [...INFRASTRUCTURE, ...pipelineServices(localStackEnv())];
}

function definitionOf(name: ServiceName): ServiceDefinition {
  const found = allServices().find((service) => service.name === name);
  if (!found) throw new StackStartError(name, `unknown service (known: ${allServices().map((service) => service.name).join(', ')})`, '', '');
  return found;
}

async function waitHealthy(service: ServiceDefinition, pid: number): Promise<void> {
  const deadline = Date.now() + service.startTimeoutS * 1_000;
  while (Date.now() < deadline) {
    if (await service.healthy()) return;
    if (runningPid(service.name) !== pid) throw new StackStartError(service.name, 'exited during start', logFile(service.name), tailOf(logFile(service.name)));
    await sleep(250);
  }
  throw new StackStartError(service.name, `not healthy after ${service.startTimeoutS} s`, logFile(service.name), tailOf(logFile(service.name)));
}

/**
 * Starts one service unless it already runs and answers; installs it first if
 * needed. A process that answers on the port without a pid file of ours (one
 * started by hand, say) is used as it is.
 */
export async function startService(name: ServiceName): Promise<'started' | 'running'> {
  const service = definitionOf(name);
  const pid = runningPid(name);
  if (pid !== undefined && (await service.healthy())) return 'running';
  if (pid === undefined && (await service.healthy())) return 'running';
  if (pid !== undefined) await terminate(name, 5_000); // alive but not answering: restart it
  const launch = service.prepare();
  const started = launchDetached(name, launch);
  await waitHealthy(service, started);
  await service.afterStart?.();
  return 'started';
}

export async function stopService(name: ServiceName): Promise<boolean> {
  definitionOf(name);
  return terminate(name);
}

export function stackEnv(): Record<string, string> {
  return localStackEnv();
}

/** Runs provisioning (topics, schemas, tables, buckets, migrations) against the local stack. */
export function provisionStack(): void {
  const cli = join(REPO_ROOT, 'deploy', 'local', 'dist', 'provision-cli.js');
  const result = spawnSync(process.execPath, [cli], { env: { ...process.env, ...localStackEnv() }, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new StackStartError('provision', `exited ${result.status}`, '(printed above)', '');
}

export async function stackUp(options: { provision?: boolean; log?: (line: string) => void } = {}): Promise<void> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  for (const service of INFRASTRUCTURE) {
    const started = Date.now();
    const outcome = await startService(service.name);
    log(`orbit: ${service.name.padEnd(16)} ${outcome === 'started' ? `started in ${((Date.now() - started) / 1000).toFixed(1)} s` : 'already running'}`);
  }
  if (options.provision ?? true) provisionStack();
}

export async function startPipeline(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Promise<void> {
  for (const service of pipelineServices(localStackEnv())) {
    const outcome = await startService(service.name);
    log(`orbit: ${service.name.padEnd(18)} ${outcome} (http://127.0.0.1:${service.port}/readyz)`);
  }
}

export async function stopPipeline(): Promise<void> {
  await Promise.all(pipelineServices(localStackEnv()).map((service) => terminate(service.name)));
}

export async function stackDown(): Promise<void> {
  await stopPipeline();
  // Consumers of Kafka and the registry go first; Kafka last so nothing loses its broker mid-write.
  for (const name of ['s3', 'dynamodb', 'mysql', 'schema-registry', 'kafka']) await terminate(name);
}

export interface ServiceStatus {
  readonly name: string;
  readonly port: number;
  readonly pid: number | undefined;
  readonly state: 'healthy' | 'running' | 'down';
  readonly log: string;
}

export async function stackStatus(): Promise<ServiceStatus[]> {
  return Promise.all(allServices().map(async (service) => {
    const pid = runningPid(service.name);
    const healthy = await service.healthy();
    return { name: service.name, port: service.port, pid, state: healthy ? 'healthy' : pid !== undefined ? 'running' : 'down', log: logFile(service.name) };
  }));
}

export async function stackWipe(): Promise<void> {
  await stackDown();
  if (existsSync(stackDir())) rmSync(stackDir(), { recursive: true, force: true });
}
