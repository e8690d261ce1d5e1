import type { PendingTrigger, TriggerQueue } from './trigger-queue';
import type { Serial } from './serial';

/** Repositories verified together in one triggered run. */
export const TRIGGER_BATCH = 100;

export interface TriggerWorkerOptions {
  queue: TriggerQueue;
  serial: Serial;
  /** One targeted run over these repositories; reports failures itself, never throws. */
  verify(batch: PendingTrigger[], signal: AbortSignal): Promise<void>;
  signal: AbortSignal;
}

/**
 * Takes ready repositories from the queue and verifies them, a batch at a time, in turn
 * with the sweep. Ends when the signal aborts (what is still queued is left to the sweep
 * of the next start).
 */
export async function runTriggerWorker(options: TriggerWorkerOptions): Promise<void> {
  const { queue, signal } = options;
  let wake: (() => void) | undefined;
  queue.onOffer(() => wake?.());
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (!signal.aborted) {
      const wait = queue.nextReadyIn();
      if (wait === undefined || wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = wait === undefined ? undefined : setTimeout(resolve, wait);
          wake = () => {
            if (timer) clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        continue;
      }
      await options.serial.run(async () => {
        if (signal.aborted) return;
        const batch = queue.takeReady(TRIGGER_BATCH);
        if (batch.length > 0) await options.verify(batch, signal);
      });
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
