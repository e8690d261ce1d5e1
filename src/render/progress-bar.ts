import type { SingleBar } from 'cli-progress';
import type { Progress, ProgressCounts } from '../ports/progress';

/**
 * A progress bar on stderr, only for a person at a terminal: stdout keeps the report
 * and JSON, logs never see it. cli-progress throttles redraws itself.
 */
export class TerminalProgress implements Progress {
  private bar: SingleBar | undefined;
  /**
   * Once stopped, stopped for good: an update that arrives later (a task that was still
   * queued when a run was interrupted) must not start a new bar, whose redraw timer
   * would keep the process alive.
   */
  private stopped = false;

  private ensure(format: string): SingleBar | undefined {
    if (this.stopped) return undefined;
    if (!this.bar) {
      // Loaded with the first bar: a run without a terminal (cron, a pipe) never draws one,
      // and the module and its dependencies took about 10 ms of every start-up.
      const { SingleBar: Bar } = require('cli-progress') as typeof import('cli-progress');
      this.bar = new Bar({ format, stream: process.stderr, hideCursor: true, clearOnComplete: true, fps: 10 });
      this.bar.start(0, 0, { keys: 0 });
    }
    return this.bar;
  }

  update(counts: ProgressCounts): void {
    const bar = this.ensure('{bar} {value}/{total} mappings verified | {keys} keys scanned');
    if (!bar) return;
    bar.setTotal(Math.max(counts.claims, 1));
    bar.update(counts.verified, { keys: counts.keysScanned });
  }

  entries(done: number, total?: number): void {
    const bar = this.ensure(total === undefined ? '{value} entries' : '{bar} {value}/{total} entries');
    if (!bar) return;
    if (total !== undefined) bar.setTotal(total);
    bar.update(done);
  }

  stop(): void {
    this.stopped = true;
    this.bar?.stop();
    this.bar = undefined;
  }
}

/** A bar only where a person watches: stderr on a TTY, and not for --json. */
export function progressFor(json: boolean): Progress | undefined {
  return process.stderr.isTTY && !json ? new TerminalProgress() : undefined;
}
