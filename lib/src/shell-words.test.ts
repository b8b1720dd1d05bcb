import { describe, expect, it } from 'vitest';
import { splitShellWords } from './shell-words.js';

describe('splitShellWords', () => {
  it('splits on space, tab and newline (and the CR of a CRLF line) only: a no-break or other Unicode space stays in its word', () => {
    expect(splitShellWords('--title=Café\u00a0Bar --x')).toEqual(['--title=Café\u00a0Bar', '--x']);
    expect(splitShellWords('--sep=\u3000 run\u2003--fast a\u000bb')).toEqual(['--sep=\u3000', 'run\u2003--fast', 'a\u000bb']);
    expect(splitShellWords(' a\tb\nc ')).toEqual(['a', 'b', 'c']);
    // A command typed in a Windows text box: the flag must not arrive as "--flag\r".
    expect(splitShellWords('/app --flag\r\n--x')).toEqual(['/app', '--flag', '--x']);
  });

  it('reads a `#` that starts a word as a comment to the end of its line, and any other `#` as text', () => {
    expect(splitShellWords('/app/run --x  # turn on x')).toEqual(['/app/run', '--x']);
    expect(splitShellWords('# the app\n/app/run #first\n--y')).toEqual(['/app/run', '--y']);
    expect(splitShellWords(`a#b '#quoted' "#too" \\#escaped #`)).toEqual(['a#b', '#quoted', '#too', '#escaped']);
    // A quote inside a comment opens nothing.
    expect(splitShellWords("run # it's fine")).toEqual(['run']);
  });
});
