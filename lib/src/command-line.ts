import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * parseArgs for the ops commands (dlq, reconcile, rebuild, token): an option
 * they do not know, or one missing its value, prints what is wrong and the
 * usage line and exits 2, as a shell user expects, instead of a Node stack
 * trace.
 */
export function parseCommandLine<T extends Omit<ParseArgsConfig, 'args'>>(
  config: T,
  usage: string,
  args: readonly string[] = process.argv.slice(2),
  refuse: (text: string) => never = (text) => {
    process.stderr.write(text);
    process.exit(2);
  },
): ReturnType<typeof parseArgs<T & { args: string[] }>> {
  try {
    return parseArgs({ ...config, args: [...args] });
  } catch (error) {
    return refuse(`${error instanceof Error ? error.message : String(error)}\nusage: ${usage}\n`);
  }
}
