/**
 * Splits a command line the way a POSIX shell splits words, without
 * expanding anything: users write overrides as they would type them
 * (`/bin/app --name "two words"`), and Kubernetes wants an array with no
 * shell in between. `$VAR` and globs stay literal; Kubernetes expands
 * `$(VAR)` itself.
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
    } else if (/\s/.test(ch)) {
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
