import type { SkippedMessage } from './rebuild.js';

/**
 * What a rebuild passed over, for an operator: how many, grouped by reason
 * code, each group with its first positions (a topic full of garbage would
 * otherwise print thousands). The log holds every one with its whole error.
 */
export function skippedSummary(skipped: readonly SkippedMessage[], listed = 10): string {
  const byCode = new Map<string, string[]>();
  for (const { at, code } of skipped) byCode.set(code, [...(byCode.get(code) ?? []), at]);
  const groups = [...byCode].sort(([, a], [, b]) => b.length - a.length).map(([code, positions]) => {
    const shown = positions.slice(0, listed).join(', ');
    return `  ${positions.length} ${code}: ${shown}${positions.length > listed ? `, and ${positions.length - listed} more` : ''}`;
  });
  return `passed over ${skipped.length} message(s) that cannot be projected (the log says why; \`npm run dlq:list\` shows the live projector's letters):\n${groups.join('\n')}\n`;
}
