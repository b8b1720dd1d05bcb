import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** Locates and installs the chart tools for tests; install-chart-tools.sh beside this file does the building. */

const execFileAsync = promisify(execFile);

export const CHART_TOOLS = ['helm', 'kube-linter', 'kustomize'] as const;
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
