import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * What `kustomize build` makes of the tree GET …/kustomize answers for an
 * environment (`curl … | tar xz`, then the overlay built): the objects, as
 * the API server would be sent them.
 */
export async function kustomizeBuilt(gatewayUrl: string, token: string, versionPath: string, environment: string): Promise<Record<string, unknown>[]> {
  const binary = (await installChartTools()).paths.kustomize ?? 'kustomize';
  const response = await fetch(`${gatewayUrl}${versionPath}/kustomize?environment=${environment}`, { headers: { authorization: `Bearer ${token}` } });
  if (response.status !== 200) throw new Error(`GET ${versionPath}/kustomize?environment=${environment} answered ${response.status}: ${await response.text()}`);
  const work = mkdtempSync(join(tmpdir(), 'orbit-kustomize-'));
  try {
    writeFileSync(join(work, 'tree.tar.gz'), Buffer.from(await response.arrayBuffer()));
    execFileSync('tar', ['-xzf', 'tree.tar.gz'], { cwd: work });
    const [folder] = execFileSync('tar', ['-tzf', 'tree.tar.gz'], { cwd: work, encoding: 'utf8' }).split('/');
    const built = execFileSync(binary, ['build', join(work, folder ?? '', 'overlays', environment.toLowerCase())], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return parseAllDocuments(built, { version: '1.1' }).map((doc) => doc.toJS() as Record<string, unknown>);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
