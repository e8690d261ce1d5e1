/**
 * scripts/setup.sh installs what the command at hand needs and no more, and the README's
 * quick start is two commands, the second being the one CI runs.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const SETUP = path.join(ROOT, 'scripts', 'setup.sh');

/** The Debian packages setup.sh would need for a target (SETUP_PRINT_ONLY: install nothing). */
async function packagesFor(...args: string[]): Promise<string[]> {
  const { stdout } = await run('bash', [SETUP, ...args], { env: { PATH: process.env.PATH, SETUP_PRINT_ONLY: '1' } });
  const line = stdout.split('\n').find((l) => l.startsWith('packages:'));
  expect(line).toBeDefined();
  return line!.slice('packages:'.length).trim().split(/\s+/).filter(Boolean).sort();
}

it('the demo needs redis-server only; the tests need redis, etcd and dnsmasq', async () => {
  expect(await packagesFor('demo')).toEqual(['redis-server']);
  expect(await packagesFor('test')).toEqual(['dnsmasq-base', 'etcd-client', 'etcd-server', 'redis-server']);
  expect(await packagesFor()).toEqual(await packagesFor('test'));
});

it('an unknown target is one line on stderr and exit 1', async () => {
  const failure = await run('bash', [SETUP, 'nope'], { env: { PATH: process.env.PATH, SETUP_PRINT_ONLY: '1' } }).catch((error) => error);
  expect(failure.code).toBe(1);
  expect(failure.stderr.trim().split('\n')).toHaveLength(1);
  expect(failure.stderr).toMatch(/nope.*demo.*test/);
});

it('the README quick start is two commands, demo and tests; CI runs the same test command', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const quick = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1];
  const commands = quick
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter(Boolean);
  expect(commands).toHaveLength(2);
  expect(commands[0]).toMatch(/setup.*demo.*&& npm run demo$/);
  expect(commands[1]).toMatch(/&& npm test$/);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const scriptOf = (command: string) => /^npm run (\S+)/.exec(command)?.[1];
  expect(pkg.scripts[scriptOf(commands[0])!]).toMatch(/setup\.sh demo$/);
  expect(pkg.scripts[scriptOf(commands[1])!]).toMatch(/setup\.sh test$/);
  const ci = fs
    .readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#') && !/^(set|cd) /.test(l));
  expect(ci).toEqual([commands[1]]);
});
