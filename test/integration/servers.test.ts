import { canConnect, freePort, pingRedis, startEtcd, startRedis } from '../support/servers';

describe('real servers on loopback', () => {
  it('finds a free port', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await canConnect(port)).toBe(false);
  });

  it('starts and stops redis', async () => {
    const redis = await startRedis();
    try {
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      expect(await pingRedis(redis)).toBe(true);
    } finally {
      await redis.stop();
    }
    expect(await canConnect(redis.port)).toBe(false);
  });

  it('starts redis with a password', async () => {
    const redis = await startRedis({ password: 'p@ss' });
    try {
      expect(redis.url).toBe(`redis://:p%40ss@127.0.0.1:${redis.port}`);
      expect(await pingRedis(redis)).toBe(true);
      expect(await pingRedis({ port: redis.port })).toBe(false);
    } finally {
      await redis.stop();
    }
  });

  it('starts and stops etcd', async () => {
    const etcd = await startEtcd();
    try {
      const res = await fetch(`${etcd.endpoint}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ health: 'true' });
    } finally {
      await etcd.stop();
    }
    await expect(fetch(`${etcd.endpoint}/health`)).rejects.toThrow();
  });
});
