import { hostname } from 'node:os';
import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line. */
export const REDACTED_PATHS = [
  'password', '*.password', 'secret', '*.secret', 'token', '*.token',
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'req.headers.cookie', '*.secretAccessKey', 'secretAccessKey', 'AWS_SECRET_ACCESS_KEY',
  '*.AWS_SECRET_ACCESS_KEY', 'MYSQL_URL', '*.MYSQL_URL', 'credentials', '*.credentials',
];

export interface LoggerOptions {
  readonly service: string;
  readonly level?: LevelWithSilent;
  /** Tests pass an in-memory stream to assert on log output. */
  readonly destination?: DestinationStream;
}

/**
 * Where an ops command logs: stderr, written synchronously, so its stdout
 * carries only the report (a checksum, a listing) for scripts to read, and no
 * line is lost when the command exits.
 */
export function stderrDestination(): DestinationStream {
  return pino.destination({ fd: 2, sync: true });
}

/**
 * The one root logger of a process; modules take `logger.child({ component })`. Each line names the service, the
 * host (the pod's name in Kubernetes) and the OS process id, so the lines of two replicas, or of a restarted
 * process, can be told apart. The OS one is `processId`: `pid` is Orbit's pipeline id.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, host: hostname(), processId: process.pid },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination,
  );
}
