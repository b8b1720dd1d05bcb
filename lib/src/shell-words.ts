/**
 * What separates words, as in a POSIX shell: space, tab, newline; and the
 * carriage return of a line a Windows client ended in CRLF, which a shell
 * would keep in the word (`--flag\r`) where nobody meant it. Not any other
 * Unicode space: `--title=Café<NBSP>Bar` is one word to a shell.
 */
const SEPARATORS = ' \t\r\n';

/** The index of the newline that ends the comment starting at `start`, or the line's end. */
function commentEnd(line: string, start: number): number {
  const newline = line.indexOf('\n', start);
  return newline === -1 ? line.length : newline;
}

/**
 * Splits a command line the way a POSIX shell splits words, without
 * expanding anything: users write overrides as they would type them
 * (`/bin/app --name "two words"  # verbose`), and Kubernetes wants an array
 * with no shell in between. A `#` that starts a word starts a comment, up
 * to the end of its line. `$VAR` and globs stay literal; the chart keeps
 * Kubernetes from expanding `$(VAR)`.
 */
export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;

  for (let i = 0; i < line.length; i += 1) {
    const ch = line.charAt(i);
    if (quote === "'") {
      if (ch === "'") quote = null;
      else word += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line.charAt(i + 1))) {
        // Inside double quotes a backslash escapes only these; elsewhere it is kept.
        i += 1;
        if (line.charAt(i) !== '\n') word += line.charAt(i);
      } else word += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\') {
      if (i + 1 >= line.length) throw new ShellWordsError('ends with a lone backslash');
      i += 1;
      if (line.charAt(i) !== '\n') {
        word += line.charAt(i);
        inWord = true;
      }
    } else if (ch === '#' && !inWord) {
      // The newline that ends the comment still separates the words around it.
      i = commentEnd(line, i) - 1;
    } else if (SEPARATORS.includes(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote !== null) throw new ShellWordsError(`has an unclosed ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

/** Why a command line cannot be split into words: an unclosed quote, a lone backslash at its end. */
export class ShellWordsError extends Error {
  constructor(readonly problem: string) {
    super(problem);
    this.name = 'ShellWordsError';
  }
}

/** Why `line` cannot be split into words, or null when it can. */
export function shellWordsProblem(line: string): string | null {
  try {
    splitShellWords(line);
    return null;
  } catch (error) {
    if (error instanceof ShellWordsError) return error.problem;
    throw error;
  }
}
