import { ChartCommandError } from './errors.js';

/**
 * Splits a command line the way a POSIX shell splits words, without
 * expanding anything: users write overrides as they would type them
 * (`/bin/app --name "two words"`), and Kubernetes wants an array with no
 * shell in between. `$VAR` and globs stay literal; Kubernetes expands
 * `$(VAR)` itself.
 */
export function splitShellWords(line: string, field: string): string[] {
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
      if (i + 1 >= line.length) throw new ChartCommandError(field, 'ends with a lone backslash');
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
  if (quote !== null) throw new ChartCommandError(field, `has an unclosed ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}
