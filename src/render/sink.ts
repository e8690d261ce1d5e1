import { once } from 'node:events';

/**
 * Lines (a JSON report's: domain entries) a report holds before it hands them on, about
 * 10–40 KB: a report of a million domains is never one string, and a batch is written
 * before the young generation would promote it (1,024 entries held a 100,000-domain
 * `scan --json` 6–8 MB higher).
 */
export const LINES_PER_BATCH = 128;

/**
 * Batches written between two turns of the event loop while the stream takes every write
 * at once (a file: Node writes stdout to a file synchronously). Without the turns, a
 * signal that came while a large report was written was handled only after the run had
 * stopped listening for it: lost, and the run went on to its end and exit 0 (`scan
 * --json` of a million domains into a file: 3.7 s after SIGTERM).
 */
const BATCHES_BETWEEN_TURNS = 32;

/**
 * A report is produced as batches of lines (a generator), so it can be written as it is
 * produced; this joins them into the whole text, as one `join('\n')` of every line would.
 */
export function joinBatches(batches: Iterable<string[]>): string {
  const parts: string[] = [];
  for (const lines of batches) if (lines.length > 0) parts.push(lines.join('\n'));
  return parts.join('\n');
}

/** Whether a report being written waits for its reader (set by `writeBatches` as it goes). */
export interface ReportWriting {
  waitingForReader: boolean;
}

/**
 * Writes the batches to `stream` as the same text `joinBatches` gives, waiting whenever
 * the stream's buffer is full: a reader slower than the report (a pager, `| jq`) holds the
 * report back instead of letting it pile up in memory. Resolves once the stream has taken
 * every byte (its buffer drained), so nothing is left unwritten when the process ends, or
 * as soon as its reader is gone (`| head`): the rest of the report has no one to read it.
 * `writing` says, while it runs, whether the reader or the report's making holds it.
 */
export async function writeBatches(
  batches: Iterable<string[]>,
  stream: NodeJS.WritableStream & { writableLength?: number },
  writing: ReportWriting = { waitingForReader: false },
): Promise<void> {
  let started = false;
  let sinceTurn = 0;
  let lastWrite: Promise<boolean> | undefined;
  for (const lines of batches) {
    if (lines.length === 0) continue;
    const chunk = (started ? '\n' : '') + lines.join('\n');
    started = true;
    let accepted = true;
    lastWrite = new Promise<boolean>((resolve, reject) => {
      accepted = stream.write(chunk, (error) => (!error ? resolve(true) : isReaderGone(error) ? resolve(false) : reject(error)));
    });
    lastWrite.catch(() => {}); // awaited below; a failure before then surfaces through 'drain'
    if (!accepted) {
      writing.waitingForReader = true;
      const goOn = await drained(stream);
      writing.waitingForReader = false;
      if (!goOn) return;
      sinceTurn = 0;
    } else if (++sinceTurn === BATCHES_BETWEEN_TURNS) {
      sinceTurn = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  // Until the last write has been handed to the OS. Not 'drain': a stream emits it only
  // after a write it refused, so a report whose last writes were taken while bytes were
  // still queued (a pipe read slowly) waited for an event that never came; the process
  // then ran out of work and ended with exit 0, its run's exit code and a SIGTERM lost.
  writing.waitingForReader = true;
  await lastWrite;
  writing.waitingForReader = false;
}

function isReaderGone(error: Error): boolean {
  return (error as NodeJS.ErrnoException).code === 'EPIPE';
}

/** Waits for 'drain'; false once the stream closed or its reader went away (EPIPE). */
async function drained(stream: NodeJS.WritableStream): Promise<boolean> {
  const stop = new AbortController();
  try {
    const event = await Promise.race([
      once(stream, 'drain', { signal: stop.signal }).then(() => 'drain'),
      once(stream, 'close', { signal: stop.signal }).then(() => 'close'),
    ]);
    return event === 'drain';
  } catch (error) {
    if (isReaderGone(error as Error)) return false;
    throw error;
  } finally {
    stop.abort();
  }
}
