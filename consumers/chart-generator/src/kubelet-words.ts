/**
 * A word of a container's command, args or exec probe, written so the
 * kubelet passes it on as it is. The kubelet expands `$(NAME)` there and
 * reads `$$` as `$`, which Docker never does: each `$` is written `$$`, so
 * the process gets `sh -c 'echo $$ $(date)'` with the shell's own `$$` and
 * `$(date)`, as `docker run` would run it.
 */
export function kubeletLiteral(word: string): string {
  return word.replaceAll('$', '$$$$');
}
