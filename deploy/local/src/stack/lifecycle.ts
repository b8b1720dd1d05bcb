import { readFileSync } from 'node:fs';
import { StackError } from './errors.js';
import { fromLastStart, readTail } from './log-tail.js';
import { logFile } from './paths.js';
import { isAlive, runningPid } from './pidfile.js';
import { portVariableOf } from './ports.js';
import { tcpOpen } from './probes.js';
import { launchDetached, sleep, terminate } from './processes.js';
import { serviceNamed, type ServiceDefinition } from './services/index.js';
import { PIPELINE } from './services/pipeline.js';
import { withInstallLock, withStartLock } from './start-lock.js';

/** Generous: the holder may be building MinIO or running apt-get. */
export const INSTALL_LOCK_TIMEOUT_MS = 30 * 60_000;

export type ServiceState = 'healthy' | 'running' | 'down' | 'foreign' | 'not built';

/**
 * `running`: our process is alive but not answering yet (or any more);
 * `foreign`: no process of ours, yet something answers on its port (another
 * checkout's stack, a hand-started server).
 */
export async function stateOf(service: ServiceDefinition): Promise<{ state: ServiceState; pid: number | undefined }> {
  const pid = runningPid(service.name);
  if (pid !== undefined) return { state: (await service.healthy()) ? 'healthy' : 'running', pid };
  if (await tcpOpen(service.port, '127.0.0.1', 500)) return { state: 'foreign', pid };
  return { state: service.unavailable?.() ? 'not built' : 'down', pid };
}

function failure(service: ServiceDefinition, reason: string): StackError {
  const log = logFile(service.name);
  return new StackError('ORBIT_ERR_STACK_START', service.name, reason, { log, tail: fromLastStart(readTail(log)) });
}

/** Bounded: a service that never answers fails with its log rather than hanging `up`. */
async function waitHealthy(service: ServiceDefinition, pid: number): Promise<void> {
  const deadline = Date.now() + service.startTimeoutMs;
  while (Date.now() < deadline) {
    if (await service.healthy()) return;
    if (!isAlive(pid)) throw failure(service, `exited during start (pid ${pid})`);
    await sleep(250);
  }
  throw failure(service, `not ready after ${service.startTimeoutMs / 1000} s (pid ${pid} still running)`);
}

/** Where Debian's own MariaDB (mariadb.service, which the package's postinst starts) records its pid. */
export const SYSTEM_MARIADB_PID_FILE = '/run/mysqld/mysqld.pid';

function systemMariadbPid(pidFilePath: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFilePath, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** What to do about a port held by someone else: the variable that moves it, or why none does. */
export function portInUseReason(service: ServiceDefinition, port: number, systemMariadbPidFile = SYSTEM_MARIADB_PID_FILE): string {
  const held = `port ${port} is in use by a process this stack did not start`;
  if (service.kind === 'pipeline') {
    return `${held} (see: ss -ltnp 'sport = :${port}'); the pipeline services' ports (${PIPELINE.map(([, , fixed]) => fixed).join(', ')}) cannot be changed: stop that process (npm start's pipeline of another checkout? npm run stack:down there)`;
  }
  const variable = portVariableOf(port);
  const move = variable === undefined ? '' : ` or set ${variable} to a free port`;
  const mariadb = service.name === 'mysql' ? systemMariadbPid(systemMariadbPidFile) : undefined;
  if (mariadb !== undefined) {
    return `${held}: Debian's own MariaDB (mariadb.service, pid ${mariadb}, started when mariadb-server was installed) holds it; systemctl stop mariadb (systemctl disable mariadb keeps it from coming back)${move}`;
  }
  return `${held} (another checkout's stack? see: ss -ltnp 'sport = :${port}'); stop it${move}`;
}

/** Checked before installing, so a clash is reported in seconds rather than after a long install. */
export async function assertPortsFree(service: ServiceDefinition): Promise<void> {
  for (const port of service.ports) {
    if (await tcpOpen(port, '127.0.0.1', 500)) throw new StackError('ORBIT_ERR_STACK_PORT_IN_USE', service.name, portInUseReason(service, port));
  }
}

export type StartOutcome = 'started' | 'running';

/** Installs if needed, starts unless already running, waits until it answers. Idempotent. */
export function startDefinition(service: ServiceDefinition): Promise<StartOutcome> {
  const reason = service.unavailable?.();
  if (reason) return Promise.reject(new StackError('ORBIT_ERR_STACK_NOT_BUILT', service.name, reason));
  // Generous: the holder may be building MinIO. Whoever waited for the lock finds the service started by the holder and only checks it.
  return withStartLock(service.name, service.startTimeoutMs + 15 * 60_000, async () => {
    const pid = runningPid(service.name);
    if (pid !== undefined) {
      // Alive but not answering is most often still starting (a parallel `up`); give it the normal start time.
      if (!(await service.healthy())) await waitHealthy(service, pid);
      await service.afterHealthy?.();
      return 'running';
    }
    await assertPortsFree(service);
    await withInstallLock(INSTALL_LOCK_TIMEOUT_MS, async () => service.install());
    const started = launchDetached(service.name, service.prepare());
    await waitHealthy(service, started);
    await service.afterHealthy?.();
    return 'started';
  });
}

export const startService = (name: string): Promise<StartOutcome> => startDefinition(serviceNamed(name));

/** SIGTERM, up to ~20 s of grace, then SIGKILL. Returns false when it was not running. */
export function stopService(name: string): Promise<boolean> {
  return terminate(serviceNamed(name).name);
}

/**
 * SIGSTOP (`paused`) or SIGCONT the service's process group: a paused server
 * keeps its connections and takes new ones, but answers nothing, as a hung
 * one does. Returns false when it was not running.
 */
export function pauseService(name: string, paused: boolean): boolean {
  const pid = runningPid(serviceNamed(name).name);
  if (pid === undefined) return false;
  process.kill(-pid, paused ? 'SIGSTOP' : 'SIGCONT'); // launched detached: its pid leads its group
  return true;
}
