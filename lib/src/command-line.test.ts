import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { dashValuesJoined, imageUIDsOf, minutesOf, parseCommandLine } from './command-line.js';

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

  it('gives a string option a value that starts with a dash, so the command refuses it by its own rule, not parseArgs\'s "ambiguous" (found by a review)', () => {
    const config = { allowPositionals: true, options: { offset: { type: 'string', multiple: true }, 'stuck-after': { type: 'string' }, 'dry-run': { type: 'boolean' } } } as const;
    const parsed = parseCommandLine(config, 'cmd', ['redrive', '--offset', '-1', '--stuck-after', '-5', '--offset', '3'], refuse);
    expect([parsed.values.offset, parsed.values['stuck-after'], parsed.positionals]).toEqual([['-1', '3'], '-5', ['redrive']]);
    expect(parseCommandLine(config, 'cmd', ['--offset', '-h'], refuse).values.offset).toEqual(['-h']);
    // A following option, a boolean's neighbour and anything past `--` stay as they are.
    expect(dashValuesJoined(['--offset', '--help', '--dry-run', '-1', '--', '--offset', '-2'], ['offset'])).toEqual(['--offset', '--help', '--dry-run', '-1', '--', '--offset', '-2']);
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

describe('imageUIDsOf', () => {
  it('takes every --image given, each once, and refuses any that is no image UID, naming it', () => {
    const [a, b] = ['A'.repeat(60), 'b1'.repeat(30)];
    const parsed = parseCommandLine({ options: { image: { type: 'string', multiple: true, default: [] } } }, 'cmd [--image UID]...', ['--image', a, '--image', b, '--image', a], refuse);
    expect(imageUIDsOf(parsed.values.image, refuse)).toEqual([a, b]);
    expect(imageUIDsOf([], refuse)).toEqual([]);
    expect(() => imageUIDsOf([a, 'notauid', ''], refuse)).toThrow('--image must be an image UID (60 letters and digits), got "notauid", ""\n');
  });
});

describe('minutesOf', () => {
  it('takes a number of minutes, and refuses an empty, negative or other value naming the option, as JavaScript would read "" as 0', () => {
    expect([minutesOf('stuck-after', '30', refuse), minutesOf('stuck-after', '0', refuse), minutesOf('stuck-after', '0.5', refuse)]).toEqual([30, 0, 0.5]);
    for (const wrong of ['', ' ', '-1', 'ten', '1e3', '0x10', 'Infinity']) {
      expect(() => minutesOf('stuck-after', wrong, refuse)).toThrow(`--stuck-after must be a number of minutes (0 or more), got ${JSON.stringify(wrong)}\n`);
    }
  });
});

describe('failPlainly', () => {
  // A child process: the handler it installs ends the process it runs in.
  const run = (logLevel?: string) => spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { failPlainly } = await import(${JSON.stringify(new URL('../dist/command-line.js', import.meta.url).href)});
    failPlainly('images:push');
    await Promise.reject(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
  `], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: logLevel ?? 'info' } });

  it('ends an ops command that met an error nobody caught with one line naming the command and the cause, and exit code 1', () => {
    const ended = run();
    expect(ended.status).toBe(1);
    expect(ended.stderr).toBe('images:push failed: CredentialsProviderError: Could not load credentials from any providers\n');
  });

  it('keeps the stack at LOG_LEVEL=debug, for a bug report', () => {
    expect(run('debug').stderr).toMatch(/^images:push failed: .*\n.*\n\s+at /);
  });

  const failWith = (error: string) => spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { failPlainly, ConfigError } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
    failPlainly('provision');
    await Promise.reject(${error});
  `], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'info' } });

  it('keeps a cause whose message spans several lines to one line', () => {
    const ended = failWith(`Object.assign(new Error('Connection error:\\n  connect ECONNREFUSED 127.0.0.1:9092', { cause: new Error('refused') }), { name: 'KafkaJSNonRetriableError' })`);
    expect(ended.status).toBe(1);
    expect(ended.stderr).toBe('provision failed: KafkaJSNonRetriableError: Connection error: connect ECONNREFUSED 127.0.0.1:9092 <- Error: refused\n');
  });

  it('lists a configuration problem one line per variable, as a service does', () => {
    const ended = failWith(`new ConfigError(['KAFKA_BROKERS: must list at least one item (got ",")', 'PORT: must be a whole number in decimal digits, like 8080 (got "1e3")'])`);
    expect(ended.status).toBe(1);
    expect(ended.stderr).toBe('provision failed: invalid configuration:\n  - KAFKA_BROKERS: must list at least one item (got ",")\n  - PORT: must be a whole number in decimal digits, like 8080 (got "1e3")\n');
  });
});
