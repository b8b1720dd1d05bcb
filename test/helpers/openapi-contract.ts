/**
 * Holds API answers to the OpenAPI document the gateway publishes, as a
 * client generated from it relies on them: the status must be listed for
 * the path and method, and the body must match its schema.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

export interface OpenApiDocument {
  openapi: string;
  /** The schemas answers refer to by `$ref` (#/components/schemas/<name>). */
  components?: { schemas?: Record<string, object> };
  paths: Record<string, Record<string, {
    operationId?: string;
    parameters?: { name: string; in: string; schema?: Record<string, unknown> }[];
    requestBody?: { content: Record<string, { schema: object }> };
    responses: Record<string, { content?: Record<string, { schema?: object }> }>;
  }>>;
}

export interface OpenApiContract {
  /** Why the answer breaks the document, or undefined when it keeps to it. `url` may carry a query. */
  check(method: string, url: string, status: number, body: unknown): string | undefined;
}

export function openApiContract(document: OpenApiDocument): OpenApiContract {
  // strict: false lets OpenAPI's own keywords (description, example) pass; ajv reads OpenAPI 3.0's `nullable` itself.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  // Literal paths first, so /v1/uploads/presign is never taken for a template.
  const routes = Object.keys(document.paths)
    .sort((a, b) => Number(a.includes('{')) - Number(b.includes('{')))
    .map((template) => ({ template, pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
  const validators = new Map<string, ValidateFunction>();
  return {
    check(method, url, status, body) {
      const path = url.split('?')[0] ?? url;
      const route = routes.find((candidate) => candidate.pattern.test(path));
      if (!route) return `${method} ${path} is not in the document`;
      const answer = document.paths[route.template]?.[method.toLowerCase()]?.responses[String(status)];
      if (!answer) return `${method} ${route.template} answered ${status}, which the document does not list`;
      const schema = answer.content?.['application/json']?.schema;
      if (!schema) return `${method} ${route.template} ${status} has no documented body`;
      const key = `${method} ${route.template} ${status}`;
      let validate = validators.get(key);
      // Beside the document's components, where its `$ref`s point (#/components/schemas/…), from the answer's schema and within them.
      if (!validate) validators.set(key, (validate = ajv.compile({ allOf: [schema], components: document.components ?? {} })));
      return validate(body) ? undefined : `${key} breaks the document: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body).slice(0, 2000)}`;
    },
  };
}
