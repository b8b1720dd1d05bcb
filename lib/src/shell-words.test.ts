import { describe, expect, it } from 'vitest';
import { splitShellWords } from './shell-words.js';

describe('splitShellWords', () => {
  it('splits on space, tab and newline only, as a shell does: a no-break or other Unicode space stays in its word', () => {
    expect(splitShellWords('--title=Café\u00a0Bar --x')).toEqual(['--title=Café\u00a0Bar', '--x']);
    expect(splitShellWords('--sep=\u3000 run\u2003--fast a\u000bb a\rb')).toEqual(['--sep=\u3000', 'run\u2003--fast', 'a\u000bb', 'a\rb']);
    expect(splitShellWords(' a\tb\nc ')).toEqual(['a', 'b', 'c']);
  });

  it('reads a `#` that starts a word as a comment to the end of its line, and any other `#` as text', () => {
    expect(splitShellWords('/app/run --x  # turn on x')).toEqual(['/app/run', '--x']);
    expect(splitShellWords('# the app\n/app/run #first\n--y')).toEqual(['/app/run', '--y']);
    expect(splitShellWords(`a#b '#quoted' "#too" \\#escaped #`)).toEqual(['a#b', '#quoted', '#too', '#escaped']);
    // A quote inside a comment opens nothing.
    expect(splitShellWords("run # it's fine")).toEqual(['run']);
  });
});
