/**
 * The README's tables say what the code does: every flag of every command, every metric
 * the reaper exports, every exit code. A flag, metric or code added without a line in
 * the README fails here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXIT } from '../../src/report/exit-codes';
import { ReaperMetrics } from '../../src/observe/metrics';
import { statusOfFailure, type RunStatus } from '../../src/report/run-status';

const ROOT = path.resolve(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

interface ManifestFlag {
  name: string;
  hidden?: boolean;
  type: string;
}
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, { flags: Record<string, ManifestFlag> }>;
};

/** The README's section under a `## heading`, up to the next one. */
function section(heading: string): string {
  const start = readme.indexOf(`\n## ${heading}\n`);
  expect(start).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + heading.length + 4);
  return readme.slice(start, end === -1 ? undefined : end);
}

describe('README', () => {
  it('names every flag of every command', () => {
    const missing: string[] = [];
    for (const [command, { flags }] of Object.entries(manifest.commands)) {
      // The oclif plugins' own commands (help, autocomplete, commands) document themselves.
      if (!['scan', 'verify', 'reap', 'backup', 'restore'].includes(command)) continue;
      for (const flag of Object.values(flags)) {
        if (flag.hidden) continue;
        const spelled = flag.type === 'boolean' && readme.includes(`--no-${flag.name}`) ? `--no-${flag.name}` : `--${flag.name}`;
        if (!readme.includes(`\`${spelled}\``) && !readme.includes(`\`${spelled} `) && !readme.includes(`${spelled}\``))
          missing.push(`${command} ${spelled}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('lists every metric the reaper exports (process metrics by their family)', async () => {
    const metrics = new ReaperMetrics({ processMetrics: true, version: '0.0.0' });
    const { error: _error, ...failed } = statusOfFailure(0, 1000, new Error('x'));
    const status: RunStatus = {
      ...failed,
      completed: true,
      exitCode: 0,
      errors: {},
      dns: { proven: 1, ownershipLost: 0, unknown: 0, lookups: 1 },
    };
    metrics.runFinished(status);
    metrics.requestObserved(200, 0.01);
    const names = (await metrics.registry.getMetricsAsJSON()).map((metric) => metric.name);
    const table = section('Sidecar: `reap --interval`');
    const missing = names.filter((name) => {
      if (/^pages_reaper_(process|nodejs)_/.test(name)) return !table.includes('prom-client');
      return !table.includes(name);
    });
    expect(names.length).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  it('explains every exit code', () => {
    const table = section('Exit codes');
    for (const code of Object.values(EXIT)) expect(table).toMatch(new RegExp(`\\n\\| ${code} \\|`));
  });
});
