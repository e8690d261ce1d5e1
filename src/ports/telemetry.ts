/**
 * What the engine and the source report as they work, for metrics. Implementations must
 * be cheap: `requestObserved` runs once per HTTP request.
 */
export interface Telemetry {
  /** One HTTP request to the source finished: its status (or 'error') and duration. */
  requestObserved(status: number | 'error', seconds: number): void;
}

export const TELEMETRY = Symbol.for('pages-reaper.Telemetry');

export const noTelemetry: Telemetry = { requestObserved: () => {} };
