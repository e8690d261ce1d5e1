/**
 * test/image/structure.yaml (container-structure-test, run where an engine builds the
 * image on its real base) must describe the image the Dockerfile builds: its metadata
 * is checked here against the Dockerfile's own instructions.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.resolve(__dirname, '..', '..');
const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
/** The runtime stage's instructions, `KEYWORD args` per line. */
const runtime = dockerfile.slice(dockerfile.indexOf(' AS runtime')).split('\n');
const instruction = (keyword: string): string[] =>
  runtime.filter((l) => l.startsWith(`${keyword} `)).map((l) => l.slice(keyword.length + 1).trim());

interface Structure {
  schemaVersion: string;
  commandTests: Array<{ name: string; command: string; args: string[]; expectedOutput: string[] }>;
  fileExistenceTests: Array<{ path: string; shouldExist: boolean; uid?: number; gid?: number }>;
  metadataTest: {
    user: string;
    entrypoint: string[];
    cmd: string[];
    exposedPorts: string[];
    volumes: string[];
    workdir: string;
    envVars: Array<{ key: string; value: string }>;
  };
}
const structure = parse(fs.readFileSync(path.join(ROOT, 'test', 'image', 'structure.yaml'), 'utf8')) as Structure;
const meta = structure.metadataTest;

it('is a container-structure-test v2 config', () => {
  expect(structure.schemaVersion).toBe('2.0.0');
  expect(structure.commandTests.length).toBeGreaterThan(0);
});

it('expects the USER, ENTRYPOINT, CMD, EXPOSE, VOLUME and WORKDIR the Dockerfile sets', () => {
  expect(instruction('USER')).toEqual([meta.user]);
  expect(instruction('ENTRYPOINT').map((a) => JSON.parse(a) as string[])).toEqual([meta.entrypoint]);
  expect(instruction('CMD').map((a) => JSON.parse(a) as string[])).toEqual([meta.cmd]);
  expect(instruction('EXPOSE')).toEqual(meta.exposedPorts);
  expect(instruction('VOLUME').map((a) => JSON.parse(a) as string[])).toEqual([meta.volumes]);
  expect(instruction('WORKDIR')).toEqual([meta.workdir]);
});

it('expects the ENV the Dockerfile sets', () => {
  const env = instruction('ENV').join(' ');
  for (const { key, value } of meta.envVars)
    expect(env).toMatch(new RegExp(`(^|\\s)${key}=${value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(\\s|$)`));
});

it('checks the backup volume belongs to the uid the image runs as', () => {
  const backups = structure.fileExistenceTests.find((t) => t.path === meta.volumes[0]);
  expect(backups).toMatchObject({ shouldExist: true, uid: 10001, gid: 10001 });
  expect(meta.user).toBe('10001:10001');
});

it('runs the launcher the ENTRYPOINT names', () => {
  const launcher = meta.entrypoint.slice(1);
  const commands = structure.commandTests.filter((t) => t.command === meta.entrypoint[0]);
  expect(commands.length).toBeGreaterThan(0);
  for (const t of commands) expect(t.args.slice(0, launcher.length)).toEqual(launcher);
});
