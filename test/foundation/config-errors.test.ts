import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { ROOT, runCli, runTs } from '../harness/cli';

/** The first runbook's example with two fields broken. */
function configWithTwoBadFields(dir: string): string {
  const raw = parseYaml(readFileSync(path.join(ROOT, 'config', 'examples', 'vercel-supabase.yaml'), 'utf8')) as {
    timezone: string;
    services: { productionUrl: string }[];
  };
  raw.timezone = 'Mars/Olympus_Mons';
  raw.services[0].productionUrl = 'javariai.com';
  const file = path.join(dir, 'bad.yaml');
  writeFileSync(file, toYaml(raw));
  return file;
}

describe('a configuration with two bad fields', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-config-'));
    file = configWithTwoBadFields(dir);
  });

  it('`runbook config check` exits 2 with one line per bad field, naming both', async () => {
    const res = await runCli(['config', 'check', file]);
    expect(res.code).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('timezone: must be an IANA time zone');
    expect(lines[1]).toContain('services.0.productionUrl: must be an absolute URL');
    expect(res.stderr).not.toMatch(/\bat .+\.ts:\d+/); // no stack trace
    expect(res.stdout).toBe('');
  });

  it('with --json, the problems come as data on stdout', async () => {
    const res = await runCli(['config', 'check', '--json', file]);
    expect(res.code).toBe(2);
    const body = JSON.parse(res.stdout) as { error: { code: number; file: string; problems: string[] } };
    expect(body.error.code).toBe(2);
    expect(body.error.file).toBe(file);
    expect(body.error.problems.map((p) => p.split(':')[0])).toEqual(['timezone', 'services.0.productionUrl']);
  });

  it('the valid examples of both runbooks pass', async () => {
    for (const example of ['vercel-supabase', 'netlify-supabase']) {
      const res = await runCli(['--json', 'config', 'check', path.join(ROOT, 'config', 'examples', `${example}.yaml`)]);
      expect({ example, code: res.code, stderr: res.stderr }).toEqual({ example, code: 0, stderr: '' });
      expect(JSON.parse(res.stdout)).toMatchObject({ ok: true });
    }
  });

  it('`npm start` (src/stack/start.ts) stops before starting anything: exit 2, both fields named', async () => {
    const dataDir = path.join(dir, 'data');
    const res = await runTs(path.join(ROOT, 'src', 'stack', 'start.ts'), [], { RUNBOOK_CONFIG: file, RUNBOOK_DATA_DIR: dataDir });
    expect(res.code).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toEqual([expect.stringContaining(`${file}: timezone:`), expect.stringContaining(`${file}: services.0.productionUrl:`)]);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('a missing file is one line too, exit 2', async () => {
    const res = await runCli(['config', 'check', path.join(dir, 'nope.yaml')]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toBe(`runbook: ${path.join(dir, 'nope.yaml')}: (file): cannot read: no such file`);
  });
});
