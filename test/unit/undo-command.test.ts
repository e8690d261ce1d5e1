/**
 * The undo line a reap prints: the store flags the run used, so that it restores into the
 * store just reaped, and never a password (named in a shell comment instead).
 */
import { storeArguments } from '../../src/cli/flags';
import { undoCommand } from '../../src/render/human';

const DEFAULTS = { store: 'redis', 'redis-host': 'localhost', 'redis-port': 6379, 'redis-db': 0, 'root-key': 'traefik', json: false };

describe('storeArguments and undoCommand', () => {
  it('leave defaults out: a run against the default store undoes with a bare restore', () => {
    expect(storeArguments(DEFAULTS)).toEqual({ args: '', withheld: [] });
    expect(undoCommand('pages-reaper', '/b/reap.jsonl', storeArguments(DEFAULTS))).toBe('pages-reaper restore /b/reap.jsonl');
  });

  it('name the store of the run, quoted for a shell', () => {
    const restore = storeArguments({
      ...DEFAULTS,
      'redis-host': 'redis.internal',
      'redis-port': 6380,
      'redis-db': 2,
      'root-key': 'prod traefik',
    });
    expect(undoCommand('./bin/run.js', '/b/reap 1.jsonl', restore)).toBe(
      "./bin/run.js restore '/b/reap 1.jsonl' --redis-host redis.internal --redis-port 6380 --redis-db 2 --root-key 'prod traefik'",
    );
  });

  it('never print a password: the flag or the URL userinfo is named in a comment', () => {
    const restore = storeArguments({
      ...DEFAULTS,
      store: 'etcd',
      'redis-password': 's3cr3t',
      'redis-url': 'rediss://:pw0rd@cache:6380/1',
      'etcd-endpoints': 'https://root:etcdpw@e1:2379,https://e2:2379',
      'etcd-password': 'etcdpw',
    });
    const line = undoCommand('pages-reaper', '/b/r.jsonl', restore);
    for (const secret of ['s3cr3t', 'pw0rd', 'etcdpw']) expect(line).not.toContain(secret);
    expect(line).toBe(
      'pages-reaper restore /b/r.jsonl --store etcd --redis-url rediss://cache:6380/1 --etcd-endpoints https://root@e1:2379,https://e2:2379' +
        '  # give --redis-password (REDIS_PASSWORD) and the password in --redis-url and the password in --etcd-endpoints and --etcd-password (ETCD_PASSWORD) as for this run',
    );
  });

  it('never print a password given as a query parameter, or one holding a `/`', () => {
    const restore = storeArguments({ ...DEFAULTS, 'redis-url': 'redis://127.0.0.1:7651/0?password=qu3ryPw' });
    expect(restore).toEqual({ args: '--redis-url redis://127.0.0.1:7651/0', withheld: ['the password in --redis-url'] });
    const slashed = storeArguments({ ...DEFAULTS, store: 'etcd', 'etcd-endpoints': 'http://root:Etcd/sl4sh@127.0.0.1:7660' });
    expect(slashed).toEqual({
      args: '--store etcd --etcd-endpoints http://127.0.0.1:7660',
      withheld: ['the password in --etcd-endpoints'],
    });
  });
});
