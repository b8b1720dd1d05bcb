import { env, failPlainly, parseCommandLine, readConfig, runtimeEnv, StoreUnavailableError } from '@orbit/lib';
import { loadSchemas } from './catalogue.js';
import { RegistryAdmin } from './registry-admin.js';
import { syncSubject } from './sync.js';

/**
 * `npm run schemas:check`: exits 1 when any bundled schema would break
 * BACKWARD_TRANSITIVE compatibility with what the registry holds, and warns when consumers built with the latest
 * registered version could not read it (not FORWARD compatible). Changes nothing.
 */
failPlainly('schemas:check');
parseCommandLine({ options: {} }, 'npm run schemas:check   (no options: checks the bundled schemas, or ORBIT_SCHEMAS_DIR\'s, against SCHEMA_REGISTRY_URL for BACKWARD_TRANSITIVE compatibility, and warns when the latest registered version cannot read one (not FORWARD compatible); changes nothing; exits 1 when one is incompatible)');
const { SCHEMA_REGISTRY_URL, ORBIT_SCHEMAS_DIR } = readConfig({
  SCHEMA_REGISTRY_URL: runtimeEnv.SCHEMA_REGISTRY_URL,
  /** Check the .avsc files of this folder instead of the bundled ones. @default schemas/avro */
  ORBIT_SCHEMAS_DIR: env.optionalString(),
});
const admin = new RegistryAdmin(SCHEMA_REGISTRY_URL);

/** `schema registry at http://host:port/path`: which one did not answer, said without the URL's credentials. */
function registryNamed(url: string): string {
  const named = new URL(url);
  named.username = '';
  named.password = '';
  return `schema registry at ${named.toString()}`;
}

/** A registry that did not answer is named by its URL: "schema-registry is unavailable" did not say which was asked. */
const naming = (error: unknown): never => {
  throw error instanceof StoreUnavailableError ? new StoreUnavailableError(registryNamed(SCHEMA_REGISTRY_URL), error.cause) : error;
};

let failed = false;
for (const [topic, schema] of loadSchemas(ORBIT_SCHEMAS_DIR)) {
  const report = await syncSubject(admin, topic, schema, true).catch(naming);
  if (report.action === 'incompatible') {
    failed = true;
    for (const problem of report.problems) console.error(`INCOMPATIBLE ${problem.subject} vs version ${problem.version}: ${problem.reason}`);
  } else {
    console.log(`ok ${report.subject} (${report.action})`);
  }
  // Said, not failed: such a change is fine once consumers are upgraded before producers.
  for (const problem of report.notForward) {
    console.error(`WARNING NOT FORWARD COMPATIBLE ${problem.subject}: consumers still built with version ${problem.version} cannot read what it writes (${problem.reason}); upgrade its consumers before its producers (README, Upgrading)`);
  }
}
process.exitCode = failed ? 1 : 0;
