/**
 * Runs `node bin/run.js …` as a real process with a clean environment (PATH and a
 * throw-away HOME only), no stdin, and a kill switch so jest always exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'run.js');
const KILL_AFTER_MS = 25_000;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRunner {
  /** HOME and working directory of every run: nothing of the developer's leaks in. */
  home: string;
  start(args: string[], env?: Record<string, string>): { child: ChildProcess; done: Promise<CliResult> };
  run(args: string[], env?: Record<string, string>): Promise<CliResult>;
  /** Kills what still runs and removes the home; call from afterAll. */
  cleanup(): void;
}

export function cliRunner(name: string, baseEnv: (home: string) => Record<string, string> = () => ({})): CliRunner {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `pages-reaper-${name}-`));
  const children = new Set<ChildProcess>();
  const start = (args: string[], env: Record<string, string> = {}) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: home,
      env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: home, ...baseEnv(home), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    const done = new Promise<CliResult>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        clearTimeout(killer);
        children.delete(child);
        resolve({ code, signal, stdout, stderr });
      });
    });
    return { child, done };
  };
  return {
    home,
    start,
    run: (args, env) => start(args, env).done,
    cleanup: () => {
      for (const child of children) child.kill('SIGKILL');
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A fatal error: exit 1, nothing on stdout, exactly one line on stderr naming the problem, no stack trace. */
export function expectFatal(result: CliResult, mentions: RegExp): void {
  const context = `stdout: ${result.stdout}\nstderr: ${result.stderr}`;
  expect({ code: result.code, context }).toEqual({ code: 1, context });
  expect(result.stdout).toBe('');
  expect(result.stderr.endsWith('\n')).toBe(true);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stderr).toMatch(mentions);
}
