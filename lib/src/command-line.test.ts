import { describe, expect, it } from 'vitest';
import { parseCommandLine } from './command-line.js';

const refuse = (text: string): never => {
  throw new Error(text);
};

describe('parseCommandLine', () => {
  it('gives the options and positionals a command was called with', () => {
    const parsed = parseCommandLine({ allowPositionals: true, options: { 'dry-run': { type: 'boolean' } } }, 'cmd [--dry-run]', ['rebuild', '--dry-run'], refuse);
    expect(parsed.positionals).toEqual(['rebuild']);
    expect(parsed.values['dry-run']).toBe(true);
  });

  it('refuses an unknown option or a missing value with what is wrong and the usage line', () => {
    expect(() => parseCommandLine({ options: { 'dry-run': { type: 'boolean' } } }, 'cmd [--dry-run]', ['--dry-runn'], refuse)).toThrow(/Unknown option '--dry-runn'[\s\S]*usage: cmd \[--dry-run\]/);
    expect(() => parseCommandLine({ options: { offset: { type: 'string' } } }, 'cmd --offset N', ['--offset'], refuse)).toThrow(/--offset[\s\S]*usage: cmd --offset N/);
  });

  it('answers --help and -h with the usage line alone, also among other options, but not after --', () => {
    const help = (text: string): never => {
      throw new Error(`help: ${text}`);
    };
    const config = { allowPositionals: true, options: { 'dry-run': { type: 'boolean' } } } as const;
    expect(() => parseCommandLine(config, 'cmd [--dry-run]', ['--help'], refuse, help)).toThrow(/^help: usage: cmd \[--dry-run\]\n$/);
    expect(() => parseCommandLine(config, 'cmd [--dry-run]', ['--dry-run', '-h'], refuse, help)).toThrow(/^help: /);
    expect(parseCommandLine(config, 'cmd [--dry-run]', ['--', '--help'], refuse, help).positionals).toEqual(['--help']);
  });
});
