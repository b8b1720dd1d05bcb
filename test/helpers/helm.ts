import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { installChartTools } from '../../deploy/local/tools/chart-tools.js';

/** helm with a configuration, cache and data of its own, and a directory to pull into; both gone afterwards. */
export async function withHelm<T>(use: (helm: (...args: string[]) => string, home: string) => Promise<T> | T): Promise<T> {
  const binary = (await installChartTools()).paths.helm ?? 'helm';
  const home = mkdtempSync(join(tmpdir(), 'orbit-helm-'));
  try {
    const env = { ...process.env, HELM_CONFIG_HOME: join(home, 'config'), HELM_CACHE_HOME: join(home, 'cache'), HELM_DATA_HOME: join(home, 'data') };
    return await use((...args) => execFileSync(binary, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }), home);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

type Rendered = { kind?: string; spec?: { template?: { spec?: { containers?: { image?: string }[] } } } };

/** The image the Deployment of `helm template` output runs. */
export function deployedImage(rendered: string): string {
  const deployment = parseAllDocuments(rendered).map((doc) => doc.toJS() as Rendered).find((object) => object?.kind === 'Deployment');
  return deployment?.spec?.template?.spec?.containers?.[0]?.image ?? '';
}
