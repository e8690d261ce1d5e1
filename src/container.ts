import type { Container } from 'inversify';
import { DEFAULT_BRAKE, type BrakeOptions } from './core/planner';
import { ENGINE_OPTIONS, ReapEngine, type EngineOptions } from './engine/engine';
import { loadSourcePlugin, loadStorePlugin } from './plugin-registry';
import { CLOCK, systemClock, type Clock } from './ports/clock';
import { KEY_VALUE_STORE, type KeyValueStore } from './ports/key-value-store';
import type { PluginSettings } from './ports/plugins';
import { SOURCE_OF_TRUTH, type SourceOfTruth } from './ports/source-of-truth';
import { noTelemetry, TELEMETRY, type Telemetry } from './ports/telemetry';
import { noProgress, PROGRESS, type Progress } from './ports/progress';
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
  /** Bytes of forward mappings a full scan keeps in memory before the rest go to TMPDIR (no flag: the default suits every size). */
  forwardsInMemoryBytes?: number;
  /** Where the scan's overflow file goes (no flag: TMPDIR says it). */
  overflowDirectory?: string;
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
    new StoreUnreachableError(`the store (--store ${settings.store}) did not connect within ${timeoutMs / 1000} s`, {
      hint: 'check its address, or raise --store-timeout (REAPER_STORE_TIMEOUT)',
    });
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

export interface RuntimeOptions {
  needsSource: boolean;
  /** Ends the store's connect at once (SIGINT/SIGTERM), and bounds every later store call. */
  signal?: AbortSignal;
  /**
   * Called once every part is bound and before any is created: rebind one part to swap it
   * (a recording TXT resolver, a test clock, another telemetry) and keep the rest as the
   * CLI wires it. Given this, the parts are resolved by an inversify container; without
   * it (the CLI) by `resolveParts`, and inversify is never loaded.
   */
  configure?(container: Container): void;
}

/** A part of the runtime: a value, or how to make it from the parts it needs. */
type Part = { token: symbol; value: unknown } | { token: symbol; make: (get: <T>(token: symbol) => Promise<T>) => unknown };

/** Resolves a part by its token, and says whether one is bound. */
interface Parts {
  get<T>(token: symbol): Promise<T>;
  isBound(token: symbol): boolean;
}

/** The CLI's parts, in the order they are bound: the one list both resolutions read. */
function cliParts(settings: ReaperSettings, options: RuntimeOptions): Part[] {
  const parts: Part[] = [
    {
      token: ENGINE_OPTIONS,
      value: {
        rootKey: settings.rootKey,
        brake: settings.brake ?? DEFAULT_BRAKE,
        // As many claims at once as requests in flight, more only while some are held up
        // (the engine's queue lends their places): four times as many kept three claims in
        // four parked at the source's limiter, each with its chain of promises, which the
        // young generation copied until they were promoted.
        verifyParallelism: typeof settings.concurrency === 'number' ? settings.concurrency : 16,
        backupDir: settings.backupDir,
        graceMs: settings.graceMs,
        graceMarkTtlMs: settings.graceMarkTtlMs,
        dnsConcurrency: settings.dnsConcurrency,
        forwardsInMemoryBytes: settings.forwardsInMemoryBytes,
        overflowDirectory: settings.overflowDirectory,
      } satisfies EngineOptions,
    },
    { token: CLOCK, value: systemClock satisfies Clock },
    { token: PROGRESS, value: (settings.progress ?? noProgress) satisfies Progress },
    { token: TELEMETRY, value: (settings.telemetry ?? noTelemetry) satisfies Telemetry },
  ];
  if (options.needsSource && settings.verifyDns) {
    parts.push({
      token: TXT_RESOLVER,
      make: (): TxtResolver => {
        // node:dns is loaded only when asked for.
        const { NodeTxtResolver } = require('./engine/node-txt-resolver') as typeof import('./engine/node-txt-resolver');
        return new NodeTxtResolver({ servers: settings.dnsServer, timeoutMs: (settings.dnsTimeout ?? 5) * 1000 });
      },
    });
  }
  if (options.needsSource) {
    parts.push({
      token: SOURCE_OF_TRUTH,
      make: async (get): Promise<SourceOfTruth> => {
        if (!settings.forgejoHost)
          throw new UsageError('missing --forgejo-host (or FORGEJO_HOST): the Forgejo URL, e.g. https://git.example.com');
        return loadSourcePlugin('forgejo').create({ ...settings, telemetry: await get<Telemetry>(TELEMETRY) });
      },
    });
  }
  parts.push({
    token: KEY_VALUE_STORE,
    make: async (): Promise<KeyValueStore> => {
      const timeoutMs = settings.storeTimeout ?? DEFAULT_STORE_TIMEOUT_MS;
      return new BoundedStore(await connectStore(settings, options.signal), timeoutMs, options.signal);
    },
  });
  return parts;
}

/** Each part made once, when first asked for: the container's singleton scope, without the container. */
function resolveParts(list: Part[]): Parts {
  const byToken = new Map(list.map((part) => [part.token, part]));
  const made = new Map<symbol, Promise<unknown>>();
  const get = <T>(token: symbol): Promise<T> => {
    let pending = made.get(token);
    if (!pending) {
      const part = byToken.get(token);
      if (!part) return Promise.reject(new Error(`no part bound to ${String(token)}`));
      pending = 'value' in part ? Promise.resolve(part.value) : new Promise((resolve) => resolve(part.make(get)));
      made.set(token, pending);
    }
    return pending as Promise<T>;
  };
  return { get, isBound: (token) => byToken.has(token) };
}

/** The same parts in an inversify container (singletons), handed to `configure` to rebind. */
function containerParts(list: Part[], configure: (container: Container) => void): Parts {
  // Loaded only here: inversify (ESM, some 150 modules) costs a single run about 0.25 s
  // of CPU and 14 MB at start-up.
  require('reflect-metadata');
  const { Container } = require('inversify') as typeof import('inversify');
  const container = new Container({ defaultScope: 'Singleton' });
  for (const part of list) {
    if ('value' in part) container.bind(part.token).toConstantValue(part.value);
    else container.bind(part.token).toDynamicValue((context) => part.make((token) => context.getAsync(token)));
  }
  configure(container);
  return { get: (token) => container.getAsync(token), isBound: (token) => container.isBound(token) };
}

/**
 * The composition root: binds the engine's parts — store, source, TXT resolver, clock,
 * progress, telemetry, options — and builds the engine from them, once per run (every
 * run opens its own connections, so a sidecar recovers from a store that went away).
 * The parts are created in this order: the TXT resolver and the source only check their
 * settings, so a bad --dns-server or a missing --forgejo-host fails before any
 * connection is opened; then the store connects, each of its calls bounded by
 * --store-timeout and ended at once when `signal` aborts.
 */
export async function createRuntime(settings: ReaperSettings, options: RuntimeOptions = { needsSource: false }): Promise<Runtime> {
  const list = cliParts(settings, options);
  const parts = options.configure ? containerParts(list, options.configure) : resolveParts(list);

  const txtResolver = parts.isBound(TXT_RESOLVER) ? await parts.get<TxtResolver>(TXT_RESOLVER) : undefined;
  const source = parts.isBound(SOURCE_OF_TRUTH) ? await parts.get<SourceOfTruth>(SOURCE_OF_TRUTH) : undefined;
  let store: KeyValueStore | undefined;
  let engine: ReapEngine;
  try {
    store = await parts.get<KeyValueStore>(KEY_VALUE_STORE);
    engine = new ReapEngine(
      store,
      await parts.get<EngineOptions>(ENGINE_OPTIONS),
      await parts.get<Clock>(CLOCK),
      source,
      await parts.get<Progress>(PROGRESS),
      txtResolver,
    );
  } catch (error) {
    await Promise.allSettled([store?.close(), source?.close()]);
    throw error;
  }
  const connected = store;
  return {
    engine,
    store: connected,
    source,
    close: async () => {
      await Promise.allSettled([connected.close(), source?.close()]);
    },
  };
}
