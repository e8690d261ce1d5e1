import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { invocationName } from '../../src/cli/invocation';

describe('invocationName: the undo command as the user can run it', () => {
  let root: string;
  let script: string;
  beforeAll(() => {
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'reaper invocation-')));
    script = path.join(root, 'clone', 'bin', 'run.js');
    fs.mkdirSync(path.dirname(script), { recursive: true });
    fs.writeFileSync(script, '#!/usr/bin/env node\n', { mode: 0o755 });
    // What `npm install -g` makes: PREFIX/bin/pages-reaper → …/bin/run.js
    fs.mkdirSync(path.join(root, 'prefix', 'bin'), { recursive: true });
    fs.symlinkSync(script, path.join(root, 'prefix', 'bin', 'pages-reaper'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('is the bare name when that name on PATH is this binary', () => {
    const onPath = ['/usr/bin', path.join(root, 'prefix', 'bin')].join(path.delimiter);
    expect(invocationName('pages-reaper', path.join(root, 'prefix', 'bin', 'pages-reaper'), '/', onPath)).toBe('pages-reaper');
    expect(invocationName('pages-reaper', script, '/', onPath)).toBe('pages-reaper');
  });

  it('is the path that ran otherwise: relative below the working directory, absolute elsewhere, quoted when needed', () => {
    expect(invocationName('pages-reaper', 'bin/run.js', path.join(root, 'clone'), '/usr/bin')).toBe('./bin/run.js');
    expect(invocationName('pages-reaper', script, path.join(root, 'clone'), '/usr/bin')).toBe('./bin/run.js');
    expect(invocationName('pages-reaper', script, path.join(root, 'elsewhere'), '/usr/bin')).toBe(`'${script}'`); // the temp dir's name has a space
    expect(invocationName('pages-reaper', '', '/', '/usr/bin')).toBe('pages-reaper');
  });
});
