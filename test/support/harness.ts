import 'reflect-metadata';
import { Redis } from 'ioredis';
import { createRuntime, type ReaperSettings } from '../../src/container';
import type { RunReport, Stage } from '../../src/engine/engine';
import { summarize, type Summary } from '../../src/report/summary';
import type { KeyValueStore } from '../../src/ports/key-value-store';
import { startForgejoStandin } from './forgejo-standin';
import { pagesFile, siteEntries } from './plugin-writer';
import { RedisBackend, type StoreBackend } from './store-backend';

export interface Site {
  owner: string;
  repo: string;
  domain: string;
  branches?: string[];
  redirects?: number;
}

type Standin = Awaited<ReturnType<typeof startForgejoStandin>>;
type StandinOptions = NonNullable<Parameters<typeof startForgejoStandin>[0]>;

/**
 * A real store (single Redis unless another backend is given) and a Forgejo stand-in,
 * and the engine wired to both.
 */
export class Harness {
  forgejo!: Standin;

  constructor(
    readonly store: StoreBackend = new RedisBackend(),
    private readonly forgejoOptions: StandinOptions = {},
  ) {}

  /** The native ioredis client, for Redis-only tests; throws on any other store. */
  get redis(): Redis {
    if (!(this.store instanceof RedisBackend)) throw new Error(`h.redis: the harness runs on ${this.store.name}, not a single Redis`);
    return this.store.client;
  }

  async start(): Promise<void> {
    await this.store.start();
    this.forgejo = await startForgejoStandin(this.forgejoOptions);
  }

  async stop(): Promise<void> {
    await this.forgejo?.close();
    await this.store.stop();
  }

  async reset(): Promise<void> {
    await this.store.flush();
    this.forgejo.clearFailures();
    this.forgejo.resetStats();
  }

  /** Writes a site's keys as the plugin does; `live` also gives it a matching repository. */
  async seedSite(site: Site, live = true): Promise<Record<string, string>> {
    const entries = siteEntries(site);
    await this.store.mset(entries);
    if (live) this.forgejo.setRepo(site.owner, site.repo, { pages: pagesFile(site), branches: ['main', ...(site.branches ?? [])] });
    return entries;
  }

  /** Every key and value in the store (strings only), for before/after comparisons. */
  async dump(): Promise<Record<string, string>> {
    return this.store.dump();
  }

  settings(overrides: Partial<ReaperSettings> = {}): ReaperSettings {
    return {
      store: 'redis',
      ...this.store.settings(),
      rootKey: 'traefik',
      forgejoHost: this.forgejo.url,
      concurrency: 8,
      retries: 2,
      retryDelay: 5,
      timeout: 2000,
      ...overrides,
    };
  }

  /** Runs the engine up to `stage`; `wrapStore` may decorate the real store (races). */
  async run(
    stage: Stage,
    overrides: Partial<ReaperSettings> = {},
    wrapStore?: (store: KeyValueStore) => void,
  ): Promise<{ report: RunReport; summary: Summary }> {
    const runtime = await createRuntime(this.settings(overrides), { needsSource: stage !== 'scan' });
    try {
      wrapStore?.(runtime.store);
      const report = await runtime.engine.run(stage);
      return { report, summary: summarize(report, stage === 'plan') };
    } finally {
      await runtime.close();
    }
  }
}

export function keysOf(entries: Record<string, string>): string[] {
  return Object.keys(entries).sort();
}
