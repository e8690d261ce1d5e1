import 'reflect-metadata';
import { Container } from 'inversify';
import { DEFAULT_BRAKE, type BrakeOptions } from './core/planner';
import { ENGINE_OPTIONS, ReapEngine, type EngineOptions } from './engine/engine';
import { loadSourcePlugin, loadStorePlugin } from './plugin-registry';
import { CLOCK, systemClock } from './ports/clock';
import { KEY_VALUE_STORE, type KeyValueStore } from './ports/key-value-store';
import type { PluginSettings } from './ports/plugins';
import { SOURCE_OF_TRUTH, type SourceOfTruth } from './ports/source-of-truth';
import type { Telemetry } from './ports/telemetry';
import { PROGRESS, type Progress } from './ports/progress';
import { TXT_RESOLVER, type TxtResolver } from './ports/txt-resolver';
import { bounded, BoundedStore } from './engine/bounded-store';
import { StoreUnreachableError, UsageError } from './report/errors';

/** `--store-timeout` when nothing says otherwise: 10 s. */
export const DEFAULT_STORE_TIMEOUT_MS = 10_000;

export interface ReaperSettings extends PluginSettings {
  store: string;
  rootKey: string;
  forgejoHost?: string;
  brake?: BrakeOptions;
  /** Undefined: reap without a backup (--no-backup). */
  backupDir?: string;
  graceMs?: number;
  graceMarkTtlMs?: number;
  metricsFile?: string;
  /** Longest wait for the store to connect or answer any one request (--store-timeout), in ms. */
  storeTimeout?: number;
  telemetry?: Telemetry;
  progress?: Progress;
  /** --verify-dns: re-check the plugin's TXT ownership record of every live mapping. */
  verifyDns?: boolean;
  /** --dns-server values (host:port); none: the system's resolvers. */
  dnsServer?: string | string[];
  /** --dns-timeout, in seconds: the wait for a lookup's first attempt. */
  dnsTimeout?: number;
  dnsConcurrency?: number;
}

/** The wired application: the engine and the ports it runs on, closed together. */
export interface Runtime {
  engine: ReapEngine;
  store: KeyValueStore;
  source?: SourceOfTruth;
  close(): Promise<void>;
}

/**
 * Connects the store within `--store-timeout`, or ends at once on `signal`. The plugin
 * gets a signal of its own (`settings.signal`) that aborts in both cases, so it can drop
 * the connection it is opening; a store that still arrives afterwards is closed.
 */
async function connectStore(settings: ReaperSettings, signal?: AbortSignal): Promise<KeyValueStore> {
  const plugin = loadStorePlugin(settings.store);
  const timeoutMs = settings.storeTimeout ?? DEFAULT_STORE_TIMEOUT_MS;
  const giveUp = new AbortController();
  const onAbort = () => giveUp.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const creating = plugin.create({ ...settings, storeTimeout: timeoutMs, signal: giveUp.signal });
  // The plugin bounds its own connect (and says where it failed); this is the backstop.
  const backstop = () =>
    new StoreUnreachableError(`the store (--store ${settings.store}) did not connect within ${timeoutMs / 1000} s`, { hint: 'check its address, or raise --store-timeout (REAPER_STORE_TIMEOUT)' });
  try {
    return await bounded(() => creating, timeoutMs + 1000, backstop, signal);
  } catch (error) {
    giveUp.abort(error);
    void creating.then((late) => late.close()).catch(() => {});
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Builds the container from settings. The source is created first (it only checks its
 * settings), so a missing --forgejo-host fails before any connection is opened. Every
 * store call is bounded by --store-timeout and ends at once when `signal` aborts.
 */
export async function createRuntime(settings: ReaperSettings, options: { needsSource: boolean; signal?: AbortSignal } = { needsSource: false }): Promise<Runtime> {
  // Checked before any connection: a bad --dns-server is one line and exit 1.
  let txtResolver: TxtResolver | undefined;
  if (options.needsSource && settings.verifyDns) {
    // node:dns is loaded only when asked for.
    const { NodeTxtResolver } = require('./engine/node-txt-resolver') as typeof import('./engine/node-txt-resolver');
    txtResolver = new NodeTxtResolver({ servers: settings.dnsServer, timeoutMs: (settings.dnsTimeout ?? 5) * 1000 });
  }
  let source: SourceOfTruth | undefined;
  if (options.needsSource) {
    if (!settings.forgejoHost) throw new UsageError('missing --forgejo-host (or FORGEJO_HOST): the Forgejo URL, e.g. https://git.example.com');
    source = await loadSourcePlugin('forgejo').create(settings);
  }
  let store: KeyValueStore;
  try {
    store = new BoundedStore(await connectStore(settings, options.signal), settings.storeTimeout ?? DEFAULT_STORE_TIMEOUT_MS, options.signal);
  } catch (error) {
    await source?.close();
    throw error;
  }

  const container = new Container();
  container.bind<KeyValueStore>(KEY_VALUE_STORE).toConstantValue(store);
  if (source) container.bind<SourceOfTruth>(SOURCE_OF_TRUTH).toConstantValue(source);
  container.bind<EngineOptions>(ENGINE_OPTIONS).toConstantValue({
    rootKey: settings.rootKey,
    brake: settings.brake ?? DEFAULT_BRAKE,
    verifyParallelism: 4 * (typeof settings.concurrency === 'number' ? settings.concurrency : 16),
    backupDir: settings.backupDir,
    graceMs: settings.graceMs,
    graceMarkTtlMs: settings.graceMarkTtlMs,
    dnsConcurrency: settings.dnsConcurrency,
  });
  if (txtResolver) container.bind<TxtResolver>(TXT_RESOLVER).toConstantValue(txtResolver);
  container.bind(CLOCK).toConstantValue(systemClock);
  if (settings.progress) container.bind<Progress>(PROGRESS).toConstantValue(settings.progress);
  container.bind(ReapEngine).toSelf().inSingletonScope();

  return {
    engine: container.get(ReapEngine),
    store,
    source,
    close: async () => {
      await Promise.allSettled([store.close(), source?.close()]);
    },
  };
}
