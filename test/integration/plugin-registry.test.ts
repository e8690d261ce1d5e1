import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSourcePlugin, loadStorePlugin } from '../../src/plugin-registry';
import { startRedis } from '../support/servers';

describe('store plugins by name (--store)', () => {
  let server: Awaited<ReturnType<typeof startRedis>>;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(() => server.stop());

  it('loads the built-in redis store', () => {
    expect(loadStorePlugin('redis').name).toBe('redis');
    expect(loadSourcePlugin('forgejo').name).toBe('forgejo');
  });

  it('loads a module by path that exports storePlugin, and the store it creates works', async () => {
    const plugin = loadStorePlugin(path.resolve(__dirname, '../fixtures/prefixed-redis-store.js'));
    expect(plugin.name).toBe('example-redis');
    process.env.EXAMPLE_STORE_PORT = String(server.port);
    const store = await plugin.create({ redisHost: server.host, redisPort: 1 });
    try {
      expect(store.describe()).toBe(`example+redis://${server.host}:${server.port}/0`);
      expect(await store.getMany(['absent'])).toEqual([undefined]);
    } finally {
      delete process.env.EXAMPLE_STORE_PORT;
      await store.close();
    }
  });

  it('says what is wrong with a module that cannot be loaded or is not a store plugin', () => {
    expect(() => loadStorePlugin('./no/such/module.js')).toThrow(/cannot load store plugin '\.\/no\/such\/module\.js'.*use one of redis/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reaper-plugin-'));
    const notAPlugin = path.join(dir, 'not-a-plugin.js');
    fs.writeFileSync(notAPlugin, 'exports.something = 1;\n');
    try {
      expect(() => loadStorePlugin(notAPlugin)).toThrow(/does not export storePlugin/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown source', () => {
    expect(() => loadSourcePlugin('gitlab')).toThrow(/unknown source 'gitlab': use forgejo/);
  });
});
