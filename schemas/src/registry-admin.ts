import { OrbitError, registryEndpoint, RetryExhaustedError, retryPolicy, StoreUnavailableError, withRetry, type AvroSchemaJson, type RegistryEndpoint } from '@orbit/lib';

export type CompatibilityLevel = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE';

/** The registry refused a schema (HTTP 409/422): incompatible or invalid. */
export class SchemaRejectedError extends OrbitError {
  readonly subject: string;
  constructor(subject: string, detail: string) {
    super('ORBIT_ERR_SCHEMA_REJECTED', `registry refused the schema of ${subject}: ${detail}`);
    this.subject = subject;
  }
}

/**
 * How long one call to the registry may take before it is given up and tried again. A registry that took a request
 * and never answered held a CI run's schema test for its whole 120 s (Apicurio, 2026-12-06); every call here is
 * idempotent (registering a schema again answers its id), so a second try is safe.
 */
export const REGISTRY_CALL_TIMEOUT_MS = 20_000;
const REGISTRY_CALL_RETRY = retryPolicy({ initialDelayMs: 250, maxDelayMs: 2_000, maxAttempts: 3 });

/**
 * The parts of the Confluent REST API (as Apicurio's ccompat/v7 serves it)
 * that provisioning and `schemas:check` use, each call bounded in time and
 * tried again when the registry fails or falls silent.
 */
export class RegistryAdmin {
  private readonly endpoint: RegistryEndpoint;
  private readonly callTimeoutMs: number;
  constructor(baseUrl: string, options: { readonly callTimeoutMs?: number } = {}) {
    this.endpoint = registryEndpoint(baseUrl);
    this.callTimeoutMs = options.callTimeoutMs ?? REGISTRY_CALL_TIMEOUT_MS;
  }

  /** Fails as its last attempt did (a StoreUnavailableError naming the registry), not as a retry count. */
  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    try {
      return await withRetry(() => this.callOnce(method, path, body), { isRetriable: (error) => error instanceof StoreUnavailableError, policy: REGISTRY_CALL_RETRY });
    } catch (error) {
      throw error instanceof RetryExhaustedError ? error.cause : error;
    }
  }

  private async callOnce(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const signal = AbortSignal.timeout(this.callTimeoutMs);
    try {
      const response = await fetch(`${this.endpoint.host}${path}`, {
        method, signal,
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', accept: 'application/json', ...this.endpoint.headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (response.status >= 500) throw new StoreUnavailableError('schema-registry', new OrbitError('ORBIT_ERR_HTTP', `${method} ${path} -> ${response.status}: ${text}`));
      return { status: response.status, json: text ? (JSON.parse(text) as unknown) : null };
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      if (error instanceof SyntaxError) throw new StoreUnavailableError('schema-registry', error);
      throw new StoreUnavailableError('schema-registry', signal.aborted ? new Error(`${method} ${path} had no answer within ${this.callTimeoutMs / 1000} s`) : error);
    }
  }

  async subjects(): Promise<string[]> {
    const { json } = await this.call('GET', '/subjects');
    return Array.isArray(json) ? json.map(String) : [];
  }

  async versions(subject: string): Promise<{ version: number; schema: AvroSchemaJson }[]> {
    const list = await this.call('GET', `/subjects/${encodeURIComponent(subject)}/versions`);
    if (list.status === 404) return [];
    const numbers = Array.isArray(list.json) ? list.json.map(Number) : [];
    const out: { version: number; schema: AvroSchemaJson }[] = [];
    for (const version of numbers) {
      const { json } = await this.call('GET', `/subjects/${encodeURIComponent(subject)}/versions/${version}`);
      const schemaText = (json as { schema?: string } | null)?.schema;
      if (schemaText) out.push({ version, schema: JSON.parse(schemaText) as AvroSchemaJson });
    }
    return out;
  }

  async compatibility(subject: string): Promise<CompatibilityLevel | undefined> {
    const { status, json } = await this.call('GET', `/config/${encodeURIComponent(subject)}`);
    if (status === 404) return undefined;
    const level = (json as { compatibilityLevel?: string; compatibility?: string } | null);
    return (level?.compatibilityLevel ?? level?.compatibility) as CompatibilityLevel | undefined;
  }

  async setCompatibility(subject: string, level: CompatibilityLevel): Promise<void> {
    const { status, json } = await this.call('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility: level });
    if (status >= 300) throw new SchemaRejectedError(subject, `setting ${level} failed (${status}): ${JSON.stringify(json)}`);
  }

  /** Registers (or finds) the schema; returns its id and whether it was new. syncSubject pins the subject's rule first. */
  async register(subject: string, schema: AvroSchemaJson): Promise<{ id: number; created: boolean }> {
    const before = await this.call('POST', `/subjects/${encodeURIComponent(subject)}`, { schema: JSON.stringify(schema) });
    if (before.status === 200) return { id: Number((before.json as { id: number }).id), created: false };
    const { status, json } = await this.call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schemaType: 'AVRO', schema: JSON.stringify(schema) });
    const id = (json as { id?: unknown } | null)?.id;
    if (status === 200 && typeof id === 'number') return { id, created: true };
    throw new SchemaRejectedError(subject, `${status}: ${JSON.stringify(json)}`);
  }

  /** The registry's own verdict, against every version the subject's rule covers. */
  async isCompatible(subject: string, schema: AvroSchemaJson): Promise<boolean> {
    const { status, json } = await this.call('POST', `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`, { schema: JSON.stringify(schema) });
    if (status === 404) return true; // nothing registered yet
    return (json as { is_compatible?: boolean } | null)?.is_compatible === true;
  }
}
