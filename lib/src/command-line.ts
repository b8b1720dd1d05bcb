import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * parseArgs for the ops commands (dlq, reconcile, rebuild, token): an option
 * they do not know, or one missing its value, prints what is wrong and the
 * usage line and exits 2, as a shell user expects, instead of a Node stack
 * trace. `--help` or `-h` (before a `--`) prints the usage line and exits 0.
 */
export function parseCommandLine<T extends Omit<ParseArgsConfig, 'args'>>(
  config: T,
  usage: string,
  args: readonly string[] = process.argv.slice(2),
  refuse: (text: string) => never = (text) => {
    process.stderr.write(text);
    process.exit(2);
  },
  help: (text: string) => never = (text) => {
    process.stdout.write(text);
    process.exit(0);
  },
): ReturnType<typeof parseArgs<T & { args: string[] }>> {
  const end = args.indexOf('--');
  if ((end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h')) return help(`usage: ${usage}\n`);
  try {
    return parseArgs({ ...config, args: [...args] });
  } catch (error) {
    return refuse(`${error instanceof Error ? error.message : String(error)}\nusage: ${usage}\n`);
  }
}
