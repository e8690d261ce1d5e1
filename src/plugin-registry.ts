import { isAbsolute, resolve } from 'node:path';
import type { SourcePlugin, StorePlugin } from './ports/plugins';
import { UsageError } from './report/errors';

/** Built-in plugins by name, loaded only when chosen so unused clients cost nothing. */
const BUILT_IN_STORES: Record<string, () => StorePlugin> = {
  redis: () => require('../plugins/redis').storePlugin,
  etcd: () => require('../plugins/etcd').storePlugin,
};

const BUILT_IN_SOURCES: Record<string, () => SourcePlugin> = {
  forgejo: () => require('../plugins/forgejo').sourcePlugin,
};

function isStorePlugin(value: unknown): value is StorePlugin {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as StorePlugin).create === 'function' &&
    typeof (value as StorePlugin).name === 'string'
  );
}

/**
 * `--store` takes a built-in name, a path to a module (`./my-store.js`) or a package
 * name; a module must export `storePlugin` (see docs/plugins.md).
 */
export function loadStorePlugin(name: string): StorePlugin {
  const builtIn = BUILT_IN_STORES[name];
  if (builtIn) return builtIn();
  const specifier = name.startsWith('.') || isAbsolute(name) ? resolve(process.cwd(), name) : name;
  let module: { storePlugin?: unknown };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module the user names at run time
    module = require(specifier);
  } catch (error) {
    throw new UsageError(`cannot load store plugin '${name}': ${(error as Error).message.split('\n')[0]}`, {
      hint: `use one of ${Object.keys(BUILT_IN_STORES).join(', ')}, a path or a package name`,
    });
  }
  if (!isStorePlugin(module.storePlugin)) {
    throw new UsageError(`store plugin '${name}' does not export storePlugin = { name, create(settings) }`);
  }
  return module.storePlugin;
}

export function loadSourcePlugin(name: string): SourcePlugin {
  const builtIn = BUILT_IN_SOURCES[name];
  if (!builtIn) throw new UsageError(`unknown source '${name}': use ${Object.keys(BUILT_IN_SOURCES).join(', ')}`);
  return builtIn();
}
