import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * docker-compose.yml cannot run on a machine without Docker, so what it shares with `npm run cluster`
 * (which runs here, in test/cluster) is checked by reading both: the same Temporal version, and the same
 * set-up scripts.
 */
const ROOT = path.join(__dirname, '..', '..');
const compose = parseYaml(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { image?: string; command?: string; volumes?: string[] }>;
};
const buildTools = readFileSync(path.join(ROOT, 'scripts', 'cluster', 'build-tools.sh'), 'utf8');
const clusterScript = readFileSync(path.join(ROOT, 'scripts', 'cluster', 'cluster.ts'), 'utf8');

/** `${VAR:-default}` of an image tag. */
function defaultTag(image: string | undefined): string {
  const m = /:\$\{\w+:-([^}]+)\}$/.exec(image ?? '');
  if (!m) throw new Error(`image ${image} has no pinned default tag`);
  return m[1];
}

function builtVersion(variable: string): string {
  const m = new RegExp(`^${variable}=\\$\\{\\w+:-v([^}]+)\\}`, 'm').exec(buildTools);
  if (!m) throw new Error(`build-tools.sh sets no default ${variable}`);
  return m[1];
}

test('the compose file pins the Temporal server, admin tools and UI that npm run cluster builds', () => {
  const server = builtVersion('TEMPORAL_SERVER_VERSION');
  const images = Object.values(compose.services).map((s) => s.image ?? '');
  const temporalImages = images.filter((i) => /^temporalio\/(server|admin-tools):/.test(i));
  expect(temporalImages.length).toBeGreaterThanOrEqual(2);
  for (const image of temporalImages) expect([image, defaultTag(image)]).toEqual([image, server]);
  const ui = images.find((i) => i.startsWith('temporalio/ui:'));
  expect(defaultTag(ui)).toBe(builtVersion('TEMPORAL_UI_VERSION'));
});

test('the compose file and npm run cluster run the same set-up scripts', () => {
  const commands = Object.values(compose.services).map((s) => s.command ?? '');
  const mounts = Object.values(compose.services).flatMap((s) => s.volumes ?? []);
  for (const script of ['setup-schema.sh', 'create-namespace.sh']) {
    expect(commands).toContain(`/scripts/${script}`);
    expect(clusterScript).toContain(`'${script}'`);
  }
  expect(mounts.some((m) => m.startsWith('./docker/postgres/init-databases.sql:/docker-entrypoint-initdb.d/'))).toBe(true);
  expect(clusterScript).toContain("'init-databases.sql'");
});
