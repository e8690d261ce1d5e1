import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { METRIC_PREFIX } from './metrics';

/** Delivery to end of its verification: 10 ms to an hour (a delivery can wait for a sweep). */
export const WEBHOOK_LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600];

const EVENTS = ['repository', 'push', 'delete', 'other'];

/** Metrics of the webhook endpoint, registered only when a webhook secret is configured. */
export class WebhookMetrics {
  private readonly deliveries: Counter<'event' | 'outcome'>;
  private readonly latency: Histogram;
  private readonly verifications: Counter<'result'>;

  constructor(registry: Registry, queueSize: () => number) {
    const registers = [registry];
    this.deliveries = new Counter({
      name: `${METRIC_PREFIX}webhook_deliveries_total`,
      help: 'Webhook deliveries received, by event (repository, push, delete, other) and outcome (queued, deduplicated, ignored, queue_full, unauthorized, too_large, malformed, unsupported_event).',
      labelNames: ['event', 'outcome'],
      registers,
    });
    this.latency = new Histogram({
      name: `${METRIC_PREFIX}webhook_delivery_to_verified_seconds`,
      help: 'Time from a delivery being received to the end of the triggered run that verified (and maybe reaped) its repository.',
      buckets: WEBHOOK_LATENCY_BUCKETS,
      registers,
    });
    this.verifications = new Counter({
      name: `${METRIC_PREFIX}webhook_triggered_runs_total`,
      help: 'Runs over the repositories webhooks named, by result (success, partial, refused, failed).',
      labelNames: ['result'],
      registers,
    });
    new Gauge({
      name: `${METRIC_PREFIX}webhook_queue_repositories`,
      help: 'Repositories waiting for a triggered verification.',
      registers,
      collect() {
        this.set(queueSize());
      },
    });
    for (const event of EVENTS) this.deliveries.labels(event, 'queued').inc(0);
  }

  delivered(event: string, outcome: string): void {
    this.deliveries.labels(event, outcome).inc();
  }

  verified(receivedAt: number[], finishedAt: number): void {
    for (const at of receivedAt) this.latency.observe(Math.max(0, (finishedAt - at) / 1000));
  }

  runFinished(result: string): void {
    this.verifications.labels(result).inc();
  }
}
