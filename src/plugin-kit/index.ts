/**
 * The helper module for store and source plugins, built in or not: a plugin imports the
 * port types (`src/ports`) and this module, and nothing else of the package — never
 * `src/engine`, `src/core` or the CLI. The package's main module (`src/index.ts`)
 * exports the same names, so an outside plugin writes `from 'pages-reaper'`.
 */
export { BaseStore } from './base-store';
export { chunks, mapLimited } from './map-limited';
/** Deleting groups one atomic step each, those that share a key in the caller's order. */
export { chainsSharingKeys, deleteInChains, groupIndexes } from './group-chains';
/** A client's words for a lost or refused connection, as one short clause for the operator. */
export { connectionLossDetail } from '../core/connection-loss';
export { formatHostPorts, parseHostPorts, readFlagFile, withoutUserinfo, type FlagFileOptions, type HostPort } from './settings';
/** Literal SCAN patterns, and key names that are text (the rest is reported as skipped). */
export { escapeGlob, textKeyNames } from '../core/keys';
/** Keeping passwords and tokens out of a client's error messages. */
export { scrubSecrets, secretsOf } from '../core/secrets';
/**
 * Errors a plugin throws: `StoreUnreachableError` from `create` when the store cannot be
 * reached, `UsageError` for a setting that cannot work, `ReaperError` (fatal) for another
 * failure the plugin can explain, its problem and hint apart.
 */
export { ReaperError, StoreUnreachableError, UsageError } from '../report/errors';
