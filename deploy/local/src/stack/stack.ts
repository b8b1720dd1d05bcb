import { rmSync } from 'node:fs';
import { localStackEnv } from './endpoints.js';
import { StackError, StackErrors } from './errors.js';
import { assertPortsFree, startDefinition, stateOf, type ServiceState } from './lifecycle.js';
import { logFile, stackDir } from './paths.js';
import { runningPid } from './pidfile.js';
import { terminate } from './processes.js';
import { provisionStack, PROVISION_CLI } from './provision.js';
import { allServices, infrastructureServices, pipelineServices, serviceNamed, type ServiceDefinition } from './services/index.js';
import { assertWipeable } from './wipe-guard.js';

export type StackLog = (line: string) => void;
const toStderr: StackLog = (line) => process.stderr.write(`orbit: ${line}\n`);

function collect(results: readonly PromiseSettledResult<unknown>[], services: readonly ServiceDefinition[]): void {
  const errors = results.flatMap((result, index) => {
    if (result.status === 'fulfilled') return [];
    const reason: unknown = result.reason;
    const name = services[index]?.name ?? '?';
    return [reason instanceof StackError ? reason : new StackError('ORBIT_ERR_STACK_START', name, String(reason), { log: logFile(name), cause: reason })];
  });
  if (errors.length === 1 && errors[0]) throw errors[0];
  if (errors.length > 1) throw new StackErrors(errors);
}

/**
 * Starts every service in parallel (each waits for its own readiness) and
 * reports all failures together, not only the first.
 */
async function startAll(services: readonly ServiceDefinition[], log: StackLog): Promise<void> {
  const results = await Promise.allSettled(services.map(async (service) => {
    const began = Date.now();
    const outcome = await startDefinition(service);
    log(`${service.name.padEnd(18)} ${outcome === 'started' ? `started, ready after ${((Date.now() - began) / 1000).toFixed(1)} s` : 'already running'}`);
  }));
  collect(results, services);
}

export interface StackUpOptions {
  /** Run provisioning after the services answer. @default true */
  readonly provision?: boolean;
  readonly log?: StackLog;
}

export async function stackUp(options: StackUpOptions = {}): Promise<void> {
  const log = options.log ?? toStderr;
  const services = infrastructureServices();
  const down = services.filter((service) => runningPid(service.name) === undefined);
  collect(await Promise.allSettled(down.map(assertPortsFree)), down);
  // Installs run one at a time: parallel Maven runs race on the shared ~/.m2 repository.
  for (const service of down) service.install();
  await startAll(services, log);
  if (options.provision ?? true) {
    if (!(await provisionStack())) log(`provisioning skipped: ${PROVISION_CLI} does not exist yet (run npm run build)`);
  }
}

export async function startPipeline(log: StackLog = toStderr): Promise<void> {
  const services = pipelineServices();
  const missing = services.filter((service) => service.unavailable?.());
  for (const service of missing) log(`${service.name.padEnd(18)} ${service.unavailable?.() ?? ''}`);
  await startAll(services.filter((service) => !missing.includes(service)), log);
  if (missing.length > 0) {
    throw new StackError('ORBIT_ERR_STACK_NOT_BUILT', missing.map((service) => service.name).join(', '), 'not built; the other services were started');
  }
}

async function stopAll(services: readonly ServiceDefinition[], log: StackLog): Promise<void> {
  await Promise.all(services.map(async (service) => {
    if (await terminate(service.name)) log(`${service.name.padEnd(18)} stopped`);
  }));
}

export function stopPipeline(log: StackLog = () => undefined): Promise<void> {
  return stopAll(pipelineServices(), log);
}

/** Pipeline first, so no service sees its broker or stores vanish under it and logs noise on the way out. */
export async function stackDown(names?: readonly string[], log: StackLog = () => undefined): Promise<void> {
  const chosen = names ? names.map(serviceNamed) : allServices();
  await stopAll(chosen.filter((service) => service.kind === 'pipeline'), log);
  await stopAll(chosen.filter((service) => service.kind === 'infrastructure'), log);
}

/** Data and logs go; the install cache (outside the stack folder) stays. */
export async function stackWipe(log: StackLog = () => undefined): Promise<void> {
  const dir = stackDir();
  assertWipeable(dir);
  await stackDown(undefined, log);
  rmSync(dir, { recursive: true, force: true });
}

export interface ServiceStatus {
  readonly name: string;
  readonly kind: 'infrastructure' | 'pipeline';
  readonly port: number;
  readonly pid: number | undefined;
  readonly state: ServiceState;
  readonly log: string;
}

export function stackStatus(): Promise<ServiceStatus[]> {
  return Promise.all(allServices().map(async (service) => {
    const { state, pid } = await stateOf(service);
    return { name: service.name, kind: service.kind, port: service.port, pid, state, log: logFile(service.name) };
  }));
}

export function stackEnv(): Record<string, string> {
  return localStackEnv();
}
