import 'reflect-metadata';
import { Redis } from 'ioredis';
import { createRuntime, type ReaperSettings } from '../../src/container';
import type { RunReport, Stage } from '../../src/engine/engine';
import { summarize, type Summary } from '../../src/engine/summary';
import type { KeyValueStore } from '../../src/ports/key-value-store';
import { startForgejoStandin } from './forgejo-standin';
import { startRedis } from './servers';
import { pagesFile, siteEntries } from './plugin-writer';

export interface Site {
  owner: string;
  repo: string;
  domain: string;
  branches?: string[];
  redirects?: number;
}

type Standin = Awaited<ReturnType<typeof startForgejoStandin>>;
type RedisServer = Awaited<ReturnType<typeof startRedis>>;

/** A real redis-server and a Forgejo stand-in, and the engine wired to both. */
export class Harness {
  redis!: Redis;
  server!: RedisServer;
  forgejo!: Standin;

  async start(): Promise<void> {
    this.server = await startRedis();
    this.forgejo = await startForgejoStandin({});
    this.redis = new Redis({ host: this.server.host, port: this.server.port, lazyConnect: true });
    await this.redis.connect();
  }

  async stop(): Promise<void> {
    await this.redis.quit();
    await this.forgejo.close();
    await this.server.stop();
  }

  async reset(): Promise<void> {
    await this.redis.flushall();
    this.forgejo.clearFailures();
    this.forgejo.resetStats();
  }

  /** Writes a site's keys as the plugin does; `live` also gives it a matching repository. */
  async seedSite(site: Site, live = true): Promise<Record<string, string>> {
    const entries = siteEntries(site);
    await this.redis.mset(entries);
    if (live) this.forgejo.setRepo(site.owner, site.repo, { pages: pagesFile(site), branches: ['main', ...(site.branches ?? [])] });
    return entries;
  }

  /** Every key and value in the store (strings only), for before/after comparisons. */
  async dump(): Promise<Record<string, string>> {
    const keys = await this.redis.keys('*');
    const out: Record<string, string> = {};
    for (const key of keys.sort()) {
      const type = await this.redis.type(key);
      out[key] = type === 'string' ? ((await this.redis.get(key)) ?? '') : `<${type}>`;
    }
    return out;
  }

  settings(overrides: Partial<ReaperSettings> = {}): ReaperSettings {
    return {
      store: 'redis',
      rootKey: 'traefik',
      redisHost: this.server.host,
      redisPort: this.server.port,
      redisDb: 0,
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
