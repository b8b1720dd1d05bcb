import { StackError } from './errors.js';

/** Every port the infrastructure binds, so a second checkout can run beside the first. */
export interface StackPorts {
  readonly kafka: number;
  readonly kafkaController: number;
  /** The broker's SASL_SSL listener. */
  readonly kafkaSecure: number;
  /** The broker's SSL listener that wants a client certificate (mutual TLS). */
  readonly kafkaMtls: number;
  readonly schemaRegistry: number;
  readonly schemaRegistryManagement: number;
  readonly dynamodb: number;
  readonly s3: number;
  readonly s3Console: number;
  readonly mysql: number;
  readonly registry: number;
}

const DEFAULTS: Record<keyof StackPorts, [variable: string, port: number]> = {
  kafka: ['ORBIT_KAFKA_PORT', 9092],
  kafkaController: ['ORBIT_KAFKA_CONTROLLER_PORT', 9093],
  kafkaSecure: ['ORBIT_KAFKA_SECURE_PORT', 9094],
  kafkaMtls: ['ORBIT_KAFKA_MTLS_PORT', 9095],
  schemaRegistry: ['ORBIT_SCHEMA_REGISTRY_PORT', 8081],
  // Apicurio's management interface defaults to 0.0.0.0:9000, which is MinIO's.
  schemaRegistryManagement: ['ORBIT_SCHEMA_REGISTRY_MANAGEMENT_PORT', 8091],
  dynamodb: ['ORBIT_DYNAMODB_PORT', 8000],
  s3: ['ORBIT_S3_PORT', 9000],
  s3Console: ['ORBIT_S3_CONSOLE_PORT', 9001],
  mysql: ['ORBIT_MYSQL_PORT', 3306],
  registry: ['ORBIT_REGISTRY_PORT', 5050],
};

export function readPorts(env: NodeJS.ProcessEnv = process.env): StackPorts {
  const problems: string[] = [];
  const ports = {} as Record<keyof StackPorts, number>;
  for (const [key, [variable, fallback]] of Object.entries(DEFAULTS) as [keyof StackPorts, [string, number]][]) {
    const raw = env[variable];
    if (raw === undefined || raw === '') {
      ports[key] = fallback;
      continue;
    }
    const port = Number(raw);
    if (!/^\d+$/.test(raw) || port < 1 || port > 65_535) problems.push(`${variable}="${raw}" is not a port (1-65535)`);
    ports[key] = port;
  }
  if (problems.length > 0) throw new StackError('ORBIT_ERR_STACK_CONFIG', 'stack', problems.join('; '));
  return ports;
}

/** The variable that moves `port`, as configured now; undefined for a port no variable moves (the pipeline's). */
export function portVariableOf(port: number, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const ports = readPorts(env);
  const key = (Object.keys(DEFAULTS) as (keyof StackPorts)[]).find((name) => ports[name] === port);
  return key === undefined ? undefined : DEFAULTS[key][0];
}

/** Every port variable with its default, for messages and documentation. */
export const PORT_VARIABLES: readonly (readonly [variable: string, port: number])[] = Object.values(DEFAULTS);
