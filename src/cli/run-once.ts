import { createRuntime, type ReaperSettings } from '../container';
import type { RunReport, RunScope, Stage } from '../engine/engine';
import { summarize, type Summary } from '../report/summary';
import type { RenderContext } from '../render/human';

export interface CompletedRun {
  report: RunReport;
  summary: Summary;
  context: RenderContext;
}

/**
 * One run with its own runtime (a fresh connection each time, so a sidecar recovers
 * from a store that went away). Throws when the run cannot finish.
 */
export async function runOnce(
  settings: ReaperSettings,
  stage: Stage,
  context: Omit<RenderContext, 'store' | 'source'>,
  signal: AbortSignal,
  scope?: RunScope,
): Promise<CompletedRun> {
  const runtime = await createRuntime(settings, { needsSource: stage !== 'scan', signal });
  try {
    const report = await runtime.engine.run(stage, signal, scope);
    return {
      report,
      summary: summarize(report, context.dryRun),
      context: { ...context, store: runtime.store.describe(), source: runtime.source?.describe() },
    };
  } finally {
    await runtime.close();
  }
}
