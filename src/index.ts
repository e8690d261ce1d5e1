/**
 * The package's public API: what a third-party store or source plugin needs (see
 * docs/plugins.md). `require('pages-reaper')` loads only these modules, never the CLI.
 *
 *   import type { StorePlugin, KeyValueStore } from 'pages-reaper';
 *   export const storePlugin: StorePlugin = { name: 'consul', async create(settings) { … } };
 */
export type {
  ExpectedKey,
  GroupDeleteOutcome,
  GuardedGroup,
  KeyGuard,
  KeyValueStore,
  PutMode,
  PutOutcome,
  ReadOptions,
  StoredEntry,
} from './ports/key-value-store';
export { KEY_VALUE_STORE } from './ports/key-value-store';
export type { PagesFileLookup, SourceErrorKind, SourceOfTruth } from './ports/source-of-truth';
export { SourceError, SOURCE_OF_TRUTH } from './ports/source-of-truth';
export type { PluginSettings, SourcePlugin, StorePlugin } from './ports/plugins';
export type { Clock } from './ports/clock';
export { CLOCK, systemClock } from './ports/clock';
export type { Telemetry } from './ports/telemetry';
export { noTelemetry, TELEMETRY } from './ports/telemetry';
/**
 * The helper module the built-in plugins use (src/plugin-kit): the store base class,
 * reading flag values (files, host:port lists, URLs with credentials), bounded
 * parallelism, literal SCAN patterns, key names that are text, and keeping passwords and
 * tokens out of a client's error messages.
 */
export {
  BaseStore,
  chainsSharingKeys,
  chunks,
  deleteInChains,
  connectionLossDetail,
  groupIndexes,
  escapeGlob,
  formatHostPorts,
  mapLimited,
  parseHostPorts,
  readFlagFile,
  scrubSecrets,
  secretsOf,
  textKeyNames,
  withoutUserinfo,
  type FlagFileOptions,
  type HostPort,
} from './plugin-kit';
/** Errors a plugin may throw: `StoreUnreachableError` from `create` when the store cannot be reached. */
export { ReaperError, StoreUnreachableError, UsageError, type ErrorKind } from './report/errors';
export { EXIT } from './report/exit-codes';
