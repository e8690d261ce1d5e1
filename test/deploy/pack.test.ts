/**
 * `npm pack` makes a package that installs and runs: `npm install -g ./pages-reaper-*.tgz`
 * into a private prefix, then the installed `pages-reaper --version` and `--help`, and the
 * package's main module with the types a store plugin needs (docs/plugins.md).
 * Packs with --ignore-scripts: `npm test` has just built dist/ and the manifest, and a
 * prepack build here would replace dist/ under the CLI tests running next to this one.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

let tmp: string;
let tarball: string;
let files: string[];
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pages-reaper-pack-'));
  const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
    cwd: ROOT,
    env,
    maxBuffer: 64 << 20,
  });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(tmp, packed.filename);
  files = packed.files.map((f) => f.path);
}, 60_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('builds before packing, and packs the license, the build, the manifest and the launcher only', () => {
  expect(pkg.scripts.prepack).toMatch(/npm run build/);
  expect(pkg.license).toBe('MIT');
  expect(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  expect(path.basename(tarball)).toBe(`pages-reaper-${pkg.version}.tgz`);
  for (const file of ['LICENSE', 'README.md', 'package.json', 'oclif.manifest.json', 'bin/run.js', pkg.main, pkg.types])
    expect(files).toContain(file);
  expect(files).not.toContain('bin/dev.js');
  expect(files.filter((f) => /^(test|src|deploy|scripts|bench)\//.test(f) || f.startsWith('dist/test/'))).toEqual([]);
  expect(fs.existsSync(path.join(ROOT, 'bin', 'dev.js'))).toBe(false);
});

it('installs with `npm install -g` and runs as pages-reaper', async () => {
  const prefix = path.join(tmp, 'prefix');
  const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
  await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], {
    env,
    maxBuffer: 64 << 20,
  });
  const bin = path.join(prefix, 'bin', 'pages-reaper');
  const clean = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp };

  const version = await run(bin, ['--version'], { env: clean, cwd: tmp });
  expect(version.stdout).toMatch(new RegExp(`^pages-reaper/${pkg.version.replace(/\./g, '\\.')} `));
  const help = await run(bin, ['--help'], { env: clean, cwd: tmp });
  for (const command of ['scan', 'verify', 'reap', 'backup', 'restore']) expect(help.stdout).toContain(command);
  const reapHelp = await run(bin, ['reap', '--help'], { env: clean, cwd: tmp });
  expect(reapHelp.stdout).toContain('--dry-run');

  // The main module: what a third-party store plugin imports (docs/plugins.md).
  const installed = path.join(prefix, 'lib', 'node_modules', 'pages-reaper');
  const main = await run(
    process.execPath,
    ['-e', `const m = require(${JSON.stringify(installed)}); console.log(JSON.stringify(Object.keys(m).sort()))`],
    { env: clean, cwd: tmp },
  );
  expect(JSON.parse(main.stdout)).toEqual(expect.arrayContaining(['KEY_VALUE_STORE', 'SOURCE_OF_TRUTH', 'SourceError']));
  const types = fs.readFileSync(path.join(installed, pkg.types), 'utf8');
  for (const name of ['KeyValueStore', 'StorePlugin', 'PluginSettings', 'StoredEntry', 'ExpectedKey', 'GroupDeleteOutcome', 'PutOutcome'])
    expect(types).toContain(name);

  // A TypeScript store plugin type-checks against the installed package alone.
  const plugin = path.join(tmp, 'my-store');
  fs.mkdirSync(path.join(plugin, 'node_modules'), { recursive: true });
  fs.symlinkSync(installed, path.join(plugin, 'node_modules', 'pages-reaper'));
  fs.writeFileSync(
    path.join(plugin, 'index.ts'),
    [
      "import { escapeGlob, type GroupDeleteOutcome, type KeyValueStore, type StorePlugin } from 'pages-reaper';",
      'const store: KeyValueStore = {',
      "  describe: () => 'memory://',",
      '  async *scan(prefix: string) { yield [escapeGlob(prefix)]; },',
      '  async getMany(keys) { return keys.map(() => undefined); },',
      "  async putMany(entries) { return entries.map(() => 'written' as const); },",
      "  async deleteGroupsIfUnchanged(groups): Promise<GroupDeleteOutcome[]> { return groups.map(() => 'deleted'); },",
      '  roundTrips: () => 0,',
      '  async close() {},',
      '};',
      "export const storePlugin: StorePlugin = { name: 'memory', create: async () => store };",
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(plugin, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'node16',
        moduleResolution: 'node16',
        target: 'es2022',
        types: ['node'],
        typeRoots: [path.join(ROOT, 'node_modules', '@types')],
        skipLibCheck: false,
      },
      files: ['index.ts'],
    }),
  );
  const tsc = await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', plugin], {
    cwd: plugin,
  }).catch((error) => error);
  expect(`${tsc.stdout ?? ''}${tsc.stderr ?? ''}`).toBe('');
}, 60_000);
