/**
 * Why a JSON body was refused, in words that help: Fastify's own parser says
 * "Body is not valid JSON" both for broken JSON and for valid JSON that
 * holds a prototype-poisoning key, which it refuses on purpose.
 */
export function jsonRefusal(text: string): string {
  if (text.trim() === '') return 'the body is empty; send a JSON object';
  try {
    JSON.parse(text);
  } catch (error) {
    return `the body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  return 'the body holds a "__proto__" key or "constructor" with "prototype", which are refused (prototype poisoning)';
}
