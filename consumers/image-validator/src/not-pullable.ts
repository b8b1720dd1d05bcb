import { imageReferenceProblem } from '@orbit/lib';

/** Why `reference` is no reference Orbit can pull, in the gateway's words for it (REFERENCE_NOT_FOUND's message). */
export function notPullable(reference: string): string {
  const problem = imageReferenceProblem(reference);
  return `"${reference}" is not an image reference Orbit can pull${problem === undefined ? '' : `: it ${problem}`}`;
}
