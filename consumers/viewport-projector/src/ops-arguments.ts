export const VIEWPORT_USAGE = 'npm run viewport:rebuild -- [--restore-requests] | npm run viewport:checksum';

export type ViewportCommand = { readonly kind: 'rebuild'; readonly restoreRequests: boolean } | { readonly kind: 'checksum' };

/**
 * The viewport command a user's words ask for, or why they do not make one
 * (with the usage line): a word past the command, or `--restore-requests`
 * given to checksum, which has nothing to restore, is refused rather than
 * passed over.
 */
export function viewportCommandOf(positionals: readonly string[], values: { readonly 'restore-requests'?: boolean | undefined }): ViewportCommand | { readonly refused: string } {
  const [command, extra] = positionals;
  if (command !== 'rebuild' && command !== 'checksum') return { refused: `usage: ${VIEWPORT_USAGE}` };
  if (extra !== undefined) return { refused: `Unexpected argument '${extra}'\nusage: ${VIEWPORT_USAGE}` };
  if (command === 'checksum') {
    if (values['restore-requests'] !== undefined) return { refused: `--restore-requests goes with viewport:rebuild only\nusage: ${VIEWPORT_USAGE}` };
    return { kind: 'checksum' };
  }
  return { kind: 'rebuild', restoreRequests: values['restore-requests'] === true };
}
