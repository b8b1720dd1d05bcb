import { stringify } from 'yaml';

/**
 * YAML for what helm, kustomize and kubectl read (chart files, Kustomize
 * files, manifests the gateway serves). They parse YAML 1.1, where `yes`,
 * `on`, `y` and `0o17`-like text are not strings, so strings are always
 * double-quoted and keys are quoted whenever YAML 1.1 would read them as
 * something else. lineWidth 0 keeps long values on one line.
 */
export function toYamlText(value: unknown): string {
  return stringify(value, { version: '1.1', defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN', lineWidth: 0 });
}
