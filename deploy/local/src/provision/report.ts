/** One line of provisioning output: what was looked at and what was done to it. */
export interface ProvisionStep {
  readonly kind: 'topic' | 'acl' | 'schema' | 'table' | 'bucket' | 'migration' | 'database';
  readonly name: string;
  readonly action: 'created' | 'found' | 'updated' | 'applied';
  readonly detail?: string;
}

export function formatStep(step: ProvisionStep): string {
  const detail = step.detail ? ` (${step.detail})` : '';
  return `${step.action.padEnd(8)} ${step.kind.padEnd(9)} ${step.name}${detail}`;
}

export function changedSomething(steps: readonly ProvisionStep[]): boolean {
  return steps.some((step) => step.action !== 'found');
}
