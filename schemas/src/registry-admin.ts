import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { OrbitError, registryEndpoint, StoreUnavailableError, type AvroSchemaJson, type RegistryEndpoint } from '@orbit/lib';

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
 * The parts of the Confluent REST API (as Apicurio's ccompat/v7 serves it)
 * that @kafkajs/confluent-schema-registry does not wrap: subject config and
 * version listing. Registration goes through the library.
 */
export class RegistryAdmin {
  readonly client: SchemaRegistry;
  private readonly endpoint: RegistryEndpoint;
  constructor(baseUrl: string) {
    this.endpoint = registryEndpoint(baseUrl);
    this.client = new SchemaRegistry({ host: this.endpoint.host, ...(this.endpoint.auth ? { auth: { ...this.endpoint.auth } } : {}), retry: { retries: 2 } });
  }

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    let response: Response;
    try {
      response = await fetch(`${this.endpoint.host}${path}`, {
        method,
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', accept: 'application/json', ...this.endpoint.headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new StoreUnavailableError('schema-registry', error);
    }
    const text = await response.text();
    if (response.status >= 500) throw new StoreUnavailableError('schema-registry', new OrbitError('ORBIT_ERR_HTTP', `${method} ${path} -> ${response.status}: ${text}`));
    return { status: response.status, json: text ? (JSON.parse(text) as unknown) : null };
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

  /** Registers (or finds) the schema; returns its id and whether it was new. */
  async register(subject: string, schema: AvroSchemaJson): Promise<{ id: number; created: boolean }> {
    const before = await this.call('POST', `/subjects/${encodeURIComponent(subject)}`, { schema: JSON.stringify(schema) });
    if (before.status === 200) return { id: Number((before.json as { id: number }).id), created: false };
    try {
      const { id } = await this.client.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject, compatibility: COMPATIBILITY.BACKWARD_TRANSITIVE });
      return { id, created: true };
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === undefined || status >= 500) throw new StoreUnavailableError('schema-registry', error);
      throw new SchemaRejectedError(subject, error instanceof Error ? error.message : String(error));
    }
  }

  /** The registry's own verdict, against every version the subject's rule covers. */
  async isCompatible(subject: string, schema: AvroSchemaJson): Promise<boolean> {
    const { status, json } = await this.call('POST', `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`, { schema: JSON.stringify(schema) });
    if (status === 404) return true; // nothing registered yet
    return (json as { is_compatible?: boolean } | null)?.is_compatible === true;
  }
}
