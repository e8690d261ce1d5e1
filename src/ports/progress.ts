/** How far a long run is, for a progress bar on a TTY; never shown in JSON or logs. */
export interface ProgressCounts {
  keysScanned: number;
  /** Claims found so far (grows while the scan runs) and claims judged. */
  claims: number;
  verified: number;
}

export interface Progress {
  update(counts: ProgressCounts): void;
  /** Entries written by a backup or a restore. */
  entries(done: number, total?: number): void;
  stop(): void;
}

export const PROGRESS = Symbol.for('pages-reaper.Progress');

export const noProgress: Progress = { update: () => {}, entries: () => {}, stop: () => {} };
