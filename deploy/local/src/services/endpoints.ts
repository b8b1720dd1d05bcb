import { mysqlSocket, stackDir } from './paths.js';

/** Every endpoint and credential of the local stack, as `stack:env` prints them. */
export function localStackEnv(): Record<string, string> {
  return {
    KAFKA_BROKERS: '127.0.0.1:9092',
    SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'orbitlocal',
    AWS_SECRET_ACCESS_KEY: 'orbitlocalsecret',
    AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000',
    AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000',
    S3_FORCE_PATH_STYLE: 'true',
    MYSQL_URL: 'mysql://orbit:orbit@127.0.0.1:3306/viewport',
    MYSQL_ADMIN_SOCKET: mysqlSocket(),
    ORBIT_STACK_DIR: stackDir(),
    // Node 20 is what these machines have; the SDK's upgrade notice is noise in every log.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** `export NAME='value'` lines, single-quoted so any value survives `eval`. */
export function renderExports(env: Readonly<Record<string, string>>): string {
  return Object.entries(env).map(([name, value]) => `export ${name}='${value.replaceAll("'", `'\\''`)}'`).join('\n');
}
