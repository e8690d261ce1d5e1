import * as path from 'node:path';
import { EXIT } from '../report/exit-codes';

/** What SIGINT/SIGTERM do to a run: abort its signal, until released. */
export interface Interrupt {
  signal: AbortSignal;
  /**
   * Stops listening for SIGINT/SIGTERM (a signal already received keeps its effects); from
   * then on one ends the process at once with 130 (`exitOnSignalUntilTrapped`). A signal
   * that came while the thread was busy is still the trap's: it is handled first.
   */
  release(): Promise<void>;
}

export interface TrapOptions {
  /** Called once, on the first signal, before the returned signal aborts. */
  onSignal?(name: 'SIGINT' | 'SIGTERM'): void;
  /**
   * true: each signal is trapped once, so a second one of the same kind ends the process
   * the default way (the sidecar: SIGTERM, then SIGTERM again, is "stop now"). false:
   * every later signal is ignored while `onSignal` unwinds the run (a single run).
   */
  once?: boolean;
}

/** What an interrupted process says on stderr, whenever the signal came. */
export const INTERRUPTED_MESSAGE = '\n⚠️  Interrupted: nothing is left half-deleted; run again to finish.\n';

let interruptSaid = false;

/** Says on stderr that the process was interrupted, once, however many ways reach that point. */
export function sayInterrupted(message = INTERRUPTED_MESSAGE): void {
  if (interruptSaid) return;
  interruptSaid = true;
  process.stderr.write(message);
}

let untrapped: (() => void) | undefined;
/** Whether a command has trapped the signals yet: before, no report or document has gone out. */
let everTrapped = false;

/**
 * With `--json`, the document a run interrupted before it began prints (kind `interrupted`):
 * stdout then carries one document, as from a run stopped later. Loaded only when a signal
 * comes, so that start-up does not pay for it.
 */
function writeInterruptedDocument(): void {
  const argv = process.argv.slice(2);
  if (!argv.includes('--json')) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { writeErrorDocument } = require('./errors') as typeof import('./errors');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { InterruptedError } = require('../report/errors') as typeof import('../report/errors');
  writeErrorDocument(new InterruptedError(), stdoutCarriesData(argv) ? process.stderr : process.stdout, { command: commandOf(argv) });
}

/**
 * The command the arguments run, as bin/run.js reads them (flags first run `reap`), for the
 * document's `command`; undefined for a name that is no command (oclif says so, later).
 */
function commandOf(argv: string[]): string | undefined {
  const first = argv[0];
  if (first === undefined) return undefined;
  if (first.startsWith('-')) return 'reap';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const manifest = require(path.join(__dirname, '..', '..', '..', 'oclif.manifest.json')) as { commands: Record<string, unknown> };
    return Object.hasOwn(manifest.commands, first) ? first : undefined;
  } catch {
    return undefined;
  }
}

/** `backup --output -`: stdout is the backup's, and documents go to stderr (as `backup` sends them). */
function stdoutCarriesData(argv: string[]): boolean {
  return argv.some((arg, i) => arg === '--output=-' || arg === '-o=-' || ((arg === '--output' || arg === '-o') && argv[i + 1] === '-'));
}

/**
 * Whenever no command has them trapped — from the process's first line (bin/run.js) until a
 * command traps them, and from the moment a run lets them go (its work done, its report
 * out) until the process has exited — SIGINT/SIGTERM end the process at once with 130,
 * as they end any run, never by the signal's default. Nothing is in the middle of a change
 * then: no command has connected yet, or the run is over.
 */
export function exitOnSignalUntilTrapped(): void {
  if (untrapped) return;
  const starting = !everTrapped;
  untrapped = () => {
    if (starting) writeInterruptedDocument();
    sayInterrupted();
    process.exit(EXIT.interrupted);
  };
  process.on('SIGTERM', untrapped);
  process.on('SIGINT', untrapped);
}

/**
 * SIGINT and SIGTERM abort the returned signal: every store call, request, queued task
 * and wait of the run or the loop that holds it ends. The one place the process's
 * signals are trapped, for a single run and for the sidecar alike.
 */
export function trapSignals(options: TrapOptions = {}): Interrupt {
  everTrapped = true;
  const controller = new AbortController();
  const handler = (name: 'SIGINT' | 'SIGTERM') => () => {
    if (controller.signal.aborted) return;
    options.onSignal?.(name);
    controller.abort(new Error('interrupted'));
  };
  const onTerm = handler('SIGTERM');
  const onInt = handler('SIGINT');
  const listen = options.once ? process.once.bind(process) : process.on.bind(process);
  // Listeners are swapped new first, old second. Node stops watching a signal when its last
  // listener goes, and drops one that came but was not handled yet: removing the old
  // listener first lost a SIGTERM sent 100 ms after start, and the run went on to delete.
  listen('SIGTERM', onTerm);
  listen('SIGINT', onInt);
  stopExitingOnSignal();
  return {
    signal: controller.signal,
    release: async () => {
      await signalsDelivered();
      exitOnSignalUntilTrapped();
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
    },
  };
}

/**
 * Node handles a signal on a turn of the event loop (its poll), not when it arrives: one that
 * came while the thread was busy (the end of a report written at once) was dropped by a
 * process that then ended without another turn — exit 0 after a SIGTERM. Two turns have a
 * poll between them whatever phase the caller is in (from an I/O callback, one has none).
 */
async function signalsDelivered(): Promise<void> {
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
}

function stopExitingOnSignal(): void {
  if (!untrapped) return;
  process.off('SIGTERM', untrapped);
  process.off('SIGINT', untrapped);
  untrapped = undefined;
}
