import { describe, expect, it } from 'vitest';
import { ChartCommandError } from './errors.js';
import { splitShellWords } from './shell-words.js';

describe('splitShellWords', () => {
  it.each([
    ['/app/run --port 8080', ['/app/run', '--port', '8080']],
    ['  spaced\t out \n words ', ['spaced', 'out', 'words']],
    [`/bin/sh -c "echo \\"hi there\\" && exec app"`, ['/bin/sh', '-c', 'echo "hi there" && exec app']],
    [`--name='two words' --x=""`, ['--name=two words', '--x=']],
    [`''`, ['']],
    [`a\\ b c`, ['a b', 'c']],
    [`"$HOME" '$HOME' \\$HOME`, ['$HOME', '$HOME', '$HOME']],
    [`"back\\slash" "\\$" "\\\\"`, ['back\\slash', '$', '\\']],
    [`'it'"'"'s'`, [`it's`]],
    ['{{ .Values }}', ['{{', '.Values', '}}']],
    ['', []],
  ])('%j', (line, words) => {
    expect(splitShellWords(line, 'field')).toEqual(words);
  });

  it.each([`"unclosed`, `'unclosed`, 'trailing\\'])('rejects %j with ORBIT_ERR_CHART_COMMAND', (line) => {
    expect(() => splitShellWords(line, 'metadata.commandOverride')).toThrow(ChartCommandError);
    expect(() => splitShellWords(line, 'metadata.commandOverride')).toThrow(/metadata.commandOverride/);
  });
});
