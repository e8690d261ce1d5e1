import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

// Signals go to a process of its own, which loads the built module bin/run.js loads first.
const SIGNALS = path.resolve(__dirname, '..', '..', 'dist', 'src', 'cli', 'signals.js');

function runScript(body: string) {
  return spawnSync(process.execPath, ['-e', `const s = require(${JSON.stringify(SIGNALS)});\n${body}`], {
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('signals before and after a command traps them', () => {
  it('before: SIGTERM ends the process with 130 and the interrupted line, not by the signal', () => {
    const result = runScript(`s.exitOnSignalUntilTrapped(); process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 5000);`);
    expect({ status: result.status, signal: result.signal }).toEqual({ status: 130, signal: null });
    expect(result.stderr).toContain('Interrupted: nothing is left half-deleted');
  });

  it('after: the trap alone decides (the signal aborts the run), the early exit is gone', () => {
    const result = runScript(
      `s.exitOnSignalUntilTrapped();
       const trap = s.trapSignals();
       trap.signal.addEventListener('abort', () => { console.log('aborted'); trap.release(); process.exitCode = 7; });
       process.kill(process.pid, 'SIGINT');
       setTimeout(() => {}, 300);`,
    );
    expect({ status: result.status, signal: result.signal, stdout: result.stdout.trim() }).toEqual({
      status: 7,
      signal: null,
      stdout: 'aborted',
    });
    expect(result.stderr).toBe('');
  });

  it('once a run lets them go: SIGTERM ends the process at once with 130 and the interrupted line, not by the signal', () => {
    const result = runScript(
      `s.exitOnSignalUntilTrapped();
       const trap = s.trapSignals();
       trap.release().then(() => process.kill(process.pid, 'SIGTERM'));
       setTimeout(() => {}, 5000);`,
    );
    expect({ status: result.status, signal: result.signal }).toEqual({ status: 130, signal: null });
    expect(result.stderr.match(/Interrupted: nothing is left half-deleted/g)).toHaveLength(1);
  });

  describe('with --json, before a command traps them: the interrupted document, as a later signal gives', () => {
    const argvOf = (args: string[]) => `process.argv = [process.argv[0], 'bin/run.js', ...${JSON.stringify(args)}];`;

    it('on stdout', () => {
      const result = runScript(
        `${argvOf(['scan', '--json'])} s.exitOnSignalUntilTrapped(); process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 5000);`,
      );
      expect(result.status).toBe(130);
      expect(JSON.parse(result.stdout)).toEqual({
        command: 'scan',
        error: {
          kind: 'interrupted',
          message: 'interrupted by SIGINT/SIGTERM: nothing is left half-deleted; run again to finish',
          hint: 'run again to finish',
          exitCode: 130,
        },
      });
      expect(result.stderr).toContain('Interrupted: nothing is left half-deleted');
    });

    it('its command as bin/run.js reads the arguments: flags first run reap; a name that is no command names none', () => {
      const commandFor = (args: string[]) =>
        JSON.parse(
          runScript(`${argvOf(args)} s.exitOnSignalUntilTrapped(); process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 5000);`)
            .stdout,
        ).command;
      expect(commandFor(['--redis-host', 'r', '--json'])).toBe('reap');
      expect(commandFor(['restore', 'f.jsonl', '--json'])).toBe('restore');
      expect(commandFor(['reep', '--json'])).toBeUndefined();
    });

    it('on stderr when stdout carries a backup (backup --output -)', () => {
      for (const output of [['--output', '-'], ['-o', '-'], ['--output=-']]) {
        const result = runScript(
          `${argvOf(['backup', '--json', ...output])} s.exitOnSignalUntilTrapped(); process.kill(process.pid, 'SIGINT'); setTimeout(() => {}, 5000);`,
        );
        expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 130, stdout: '' });
        expect(result.stderr).toContain('"kind": "interrupted"');
      }
    });

    it('not once a run has let them go (its report is out), nor without --json', () => {
      const released = runScript(
        `${argvOf(['scan', '--json'])} s.exitOnSignalUntilTrapped();
         const trap = s.trapSignals();
         trap.release().then(() => process.kill(process.pid, 'SIGTERM'));
         setTimeout(() => {}, 5000);`,
      );
      expect({ status: released.status, stdout: released.stdout }).toEqual({ status: 130, stdout: '' });
      const human = runScript(
        `${argvOf(['scan'])} s.exitOnSignalUntilTrapped(); process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 5000);`,
      );
      expect({ status: human.status, stdout: human.stdout }).toEqual({ status: 130, stdout: '' });
    });
  });

  it('says it was interrupted once, however many signals come', () => {
    const result = runScript(
      `s.sayInterrupted('\\nfirst\\n');
       s.exitOnSignalUntilTrapped();
       process.kill(process.pid, 'SIGINT');
       setTimeout(() => {}, 5000);`,
    );
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 130, stderr: '\nfirst\n' });
  });

  // Node stops watching a signal when its last listener is removed, and drops one that came
  // but was not handled yet: each test sends the signal at the instant a listener is removed.
  const SIGNAL_AT_REMOVAL = `const off = process.off.bind(process);
     let sent = false;
     const signalAtRemoval = () => (process.off = process.removeListener = (event, fn) => {
       if (event === 'SIGTERM' && !sent) { sent = true; process.kill(process.pid, 'SIGTERM'); }
       return off(event, fn);
     });`;

  it('a signal that comes as a command traps them is the trap’s, never lost', () => {
    const result = runScript(
      `${SIGNAL_AT_REMOVAL}
       s.exitOnSignalUntilTrapped();
       signalAtRemoval();
       const trap = s.trapSignals();
       trap.signal.addEventListener('abort', () => { console.log('aborted'); process.exit(7); });
       setTimeout(() => console.log('lost'), 1000);`,
    );
    expect({ status: result.status, stdout: result.stdout.trim() }).toEqual({ status: 7, stdout: 'aborted' });
  });

  it('a signal that comes as a run lets them go ends the process with 130, never lost', () => {
    const result = runScript(
      `${SIGNAL_AT_REMOVAL}
       s.exitOnSignalUntilTrapped();
       const trap = s.trapSignals();
       signalAtRemoval();
       trap.release();
       setTimeout(() => console.log('lost'), 1000);`,
    );
    expect({ status: result.status, stdout: result.stdout.trim() }).toEqual({ status: 130, stdout: '' });
  });

  // The end of a run is busy (its report written at once): a signal that came then waits in
  // Node for the next turn of the event loop. The process below then has nothing to wait for.
  it.each([
    ['a timer', 'setTimeout(run, 10)'],
    ['an I/O callback', "require('node:fs').stat(__filename, run)"],
  ])('a signal that came while the thread was busy, just before the run lets them go, is the trap’s (from %s)', (_, start) => {
    const result = runScript(
      `s.exitOnSignalUntilTrapped();
       const trap = s.trapSignals();
       const run = async () => {
         process.kill(process.pid, 'SIGTERM');
         await trap.release();
         console.log(trap.signal.aborted ? 'trapped' : 'lost');
       };
       ${start};`,
    );
    expect({ status: result.status, signal: result.signal, stdout: result.stdout.trim() }).toEqual({
      status: 0,
      signal: null,
      stdout: 'trapped',
    });
  });
});
