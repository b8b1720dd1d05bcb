import { ShellWordsError, splitShellWords as splitWords } from '@orbit/lib';
import { ChartCommandError } from './errors.js';

/** The words of a metadata command override; a line that cannot be split fails the chart naming its field. */
export function splitShellWords(line: string, field: string): string[] {
  try {
    return splitWords(line);
  } catch (error) {
    if (error instanceof ShellWordsError) throw new ChartCommandError(field, error.problem);
    throw error;
  }
}
