import type { KeyValueStore } from './key-value-store';
import type { SourceOfTruth } from './source-of-truth';

/**
 * Settings handed to a plugin: every CLI flag by its camel-cased name (`redisHost`,
 * `etcdEndpoints`, `forgejoToken`…), already merged with its environment variable.
 * Third-party plugins read what they need and ignore the rest.
 */
export type PluginSettings = Readonly<Record<string, unknown>>;

/** What a store plugin module exports as `storePlugin` (see docs/plugins.md). */
export interface StorePlugin {
  name: string;
  /** Connects, so a wrong address fails here with a clear message, not mid-run. */
  create(settings: PluginSettings): Promise<KeyValueStore>;
}

export interface SourcePlugin {
  name: string;
  create(settings: PluginSettings): Promise<SourceOfTruth>;
}
