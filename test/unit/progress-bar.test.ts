import { progressFor, TerminalProgress } from '../../src/render/progress-bar';

/** stderr as a terminal of 80 columns, its writes kept: the bar draws only on a TTY. */
function fakeTerminal(): { writes: string[]; restore: () => void } {
  const stderr = process.stderr as unknown as Record<string, unknown>;
  const saved = Object.fromEntries(
    ['isTTY', 'columns', 'cursorTo', 'clearLine', 'moveCursor', 'write'].map((name) => [name, stderr[name]]),
  );
  const writes: string[] = [];
  Object.assign(stderr, {
    isTTY: true,
    columns: 80,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
    write: (chunk: string | Uint8Array) => (writes.push(String(chunk)), true),
  });
  return { writes, restore: () => Object.assign(stderr, saved) };
}

describe('TerminalProgress', () => {
  it('draws the counts once asked (cli-progress is loaded then), and never starts again once stopped', () => {
    const terminal = fakeTerminal();
    try {
      const progress = new TerminalProgress();
      progress.update({ claims: 4, verified: 1, keysScanned: 40 });
      progress.stop();
      const drawn = terminal.writes.join('');
      expect(drawn).toContain('1/4 mappings verified | 40 keys scanned');
      progress.update({ claims: 4, verified: 4, keysScanned: 40 });
      progress.stop();
      expect(terminal.writes.join('')).toBe(drawn);
    } finally {
      terminal.restore();
    }
  });

  it('is for a person at a terminal only: none for --json', () => {
    expect(progressFor(true)).toBeUndefined();
  });
});
