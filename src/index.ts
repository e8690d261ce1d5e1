/**
 * The package's public API: what a third-party store or source plugin needs (see
 * docs/plugins.md). `require('pages-reaper')` loads only these modules, never the CLI.
 *
 *   import type { StorePlugin, KeyValueStore } from 'pages-reaper';
 *   export const storePlugin: StorePlugin = { name: 'consul', async create(settings) { … } };
 */
export type { ExpectedKey, GroupDeleteOutcome, GuardedGroup, KeyGuard, KeyValueStore, PutMode, PutOutcome, StoredEntry } from './ports/key-value-store';
export { KEY_VALUE_STORE } from './ports/key-value-store';
export type { PagesFileLookup, SourceErrorKind, SourceOfTruth } from './ports/source-of-truth';
export { SourceError, SOURCE_OF_TRUTH } from './ports/source-of-truth';
export type { PluginSettings, SourcePlugin, StorePlugin } from './ports/plugins';
export type { Clock } from './ports/clock';
export { CLOCK, systemClock } from './ports/clock';
export type { Telemetry } from './ports/telemetry';
export { noTelemetry, TELEMETRY } from './ports/telemetry';
/** Errors a plugin may throw: `StoreUnreachableError` from `create` when the store cannot be reached. */
export { ReaperError, StoreUnreachableError, UsageError, type ErrorKind } from './report/errors';
export { EXIT } from './report/exit-codes';
/** Helpers the built-in store plugins use: literal SCAN patterns and key names that are text. */
export { escapeGlob, textKeyNames } from './core/keys';
/** Keeping passwords and tokens out of a client's error messages. */
export { scrubSecrets, secretsOf } from './core/secrets';
