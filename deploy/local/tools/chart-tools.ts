import { execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments, type CollectionTag, type ScalarTag, type Tags } from 'yaml';
import { OrbitError } from '@orbit/lib';

/** Locates and installs the chart tools for tests; install-chart-tools.sh beside this file does the building. */

const execFileAsync = promisify(execFile);

export const CHART_TOOLS = ['helm', 'kube-linter', 'kustomize', 'k8s-validate'] as const;
export type ChartTool = (typeof CHART_TOOLS)[number];

export const INSTALL_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'install-chart-tools.sh');

export function chartToolsBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.ORBIT_CACHE_DIR ?? join(env.HOME ?? homedir(), '.cache', 'orbit'), 'bin');
}

/** The tool's path in the cache, or null when it is not there (kube-linter may be missing: see the script). */
export function chartToolPath(tool: ChartTool, env: NodeJS.ProcessEnv = process.env): string | null {
  const path = join(chartToolsBinDir(env), tool);
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return null;
  }
}

export interface InstallResult {
  /** What the script printed: one line per tool. */
  readonly report: string;
  readonly paths: Readonly<Record<ChartTool, string | null>>;
}

/** Runs the install script (minutes on a cold cache, under a second on a warm one). */
export async function installChartTools(env: NodeJS.ProcessEnv = process.env): Promise<InstallResult> {
  const { stdout, stderr } = await execFileAsync('bash', [INSTALL_SCRIPT], { env, maxBuffer: 64 * 1024 * 1024 });
  const report = `${stdout}${stderr.split('\n').filter((line) => line.startsWith('install-chart-tools:')).join('\n')}`;
  const paths = Object.fromEntries(CHART_TOOLS.map((tool) => [tool, chartToolPath(tool, env)])) as Record<ChartTool, string | null>;
  return { report, paths };
}

/** A chart tool that did not answer as it should. */
export class ToolFailedError extends OrbitError {
  constructor(tool: string, problem: string) {
    super('ORBIT_ERR_TOOL_FAILED', `${tool} ${problem}`);
  }
}

export interface ApiServerVerdict {
  /** Objects the stream held. */
  readonly checked: number;
  /** `error: #<n> <Kind>/<name>: …` and `warning: …` lines: what kube-apiserver would refuse or warn about on create. */
  readonly problems: readonly string[];
}

/**
 * Runs k8s-validate (kube-apiserver's strict decoding, defaulting and create
 * validation, built from k8s.io/kubernetes) over a YAML stream of objects.
 */
export async function apiServerVerdict(k8sValidate: string, stream: string, namespace = 'default'): Promise<ApiServerVerdict> {
  const child = spawn(k8sValidate, ['-namespace', namespace], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  child.stdin.end(stream);
  const code = await exited;
  const lines = Buffer.concat(out).toString('utf8').split('\n').filter((line) => line !== '');
  const summary = /^checked (\d+) object\(s\)$/.exec(lines.at(-1) ?? '');
  if (code === 2 || summary === null) throw new ToolFailedError('k8s-validate', `could not read the stream (exit ${String(code)}): ${lines.join('\n')}${Buffer.concat(err).toString('utf8')}`);
  return { checked: Number(summary[1]), problems: lines.slice(0, -1) };
}

/** Writes `files` (path inside `root` to text) under `root`, making folders as needed: a chart or a kustomize tree for the tools. */
export async function writeTree(root: string, files: Iterable<readonly [string, string]>): Promise<void> {
  for (const [path, text] of files) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

/**
 * The objects of a YAML stream the tools printed, read as Kubernetes reads it
 * (YAML 1.1: an unquoted `yes` would be true). As go-yaml, a float needs a
 * digit: the `yaml` package's YAML 1.1 reads `-.` and `.` as NaN, so a
 * ConfigMap key `-.`, which helm rightly leaves unquoted, read as `NaN`.
 */
export function parseObjectStream<T = unknown>(text: string): T[] {
  return parseAllDocuments(text, { version: '1.1', customTags: goYamlFloats }).map((document) => document.toJS() as T | null).filter((object): object is T => object !== null);
}

/** YAML 1.1's plain float (`1.5`, `.5`, `1_0.5`), with at least one digit as go-yaml asks. */
const PLAIN_FLOAT = /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/;

function goYamlFloats(tags: Tags): Tags {
  return tags.map((tag) => (typeof tag === 'object' && isScalarTag(tag) && tag.test?.source === PLAIN_FLOAT.source
    ? { ...tag, test: /^(?=[^0-9]*[0-9])[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/ }
    : tag));
}

const isScalarTag = (tag: ScalarTag | CollectionTag): tag is ScalarTag => !('collection' in tag) || tag.collection === undefined;
