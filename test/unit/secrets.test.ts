/**
 * Secrets in the forms an operator writes them: userinfo with a `/` in its password, with
 * or without a scheme, in a list of addresses, and on a command line that failed to parse.
 */
import { scrubSecrets, secretsOf, secretsOfCommandLine } from '../../src/core/secrets';
import { parseHostPorts, withoutUserinfo } from '../../src/plugin-kit/settings';

describe('secrets', () => {
  it('take a password holding a `/` out of a URL, with or without its scheme', () => {
    expect(withoutUserinfo('http://root:Etcd/sl4sh@127.0.0.1:7660')).toBe('http://127.0.0.1:7660');
    expect(withoutUserinfo('root:pl41n@127.0.0.1:7660/x')).toBe('127.0.0.1:7660/x');
    expect(secretsOf({ etcdEndpoints: 'http://root:Etcd/sl4sh@e1:2379,us3r:n0scheme@e2:2379' })).toEqual(
      expect.arrayContaining(['Etcd/sl4sh', 'n0scheme', 'root', 'us3r']),
    );
    expect(secretsOf({ forgejoHost: 'http://u:Tok/s3cret@git.example' })).toContain('Tok/s3cret');
    // A password written into --redis-host is refused, and never repeated meanwhile.
    expect(secretsOf({ redisHost: 'u:h0st/Pw@cache' })).toContain('h0st/Pw');
    expect(secretsOfCommandLine(['scan', '--redis-host', 'u:h0stPw@cache'], { REDIS_HOST: 'u:envH0st@cache' })).toEqual(
      expect.arrayContaining(['h0stPw', 'envH0st']),
    );
    expect(scrubSecrets("invalid entry 'http://root:Etcd/sl4sh@127.0.0.1:7660': drop the path", [])).toBe(
      "invalid entry 'http://127.0.0.1:7660': drop the path",
    );
  });

  it('never repeat an address list entry that holds userinfo', () => {
    expect(() => parseHostPorts('127.0.0.1:7651,u:cl0ster@127.0.0.1:7650', '--redis-cluster')).toThrow(
      /^--redis-cluster: expected host:port, got an address with user:password@ in it/,
    );
    expect(() => parseHostPorts('u:cl0ster@127.0.0.1:7650', '--redis-cluster')).not.toThrow(/cl0ster/);
  });

  it('find the secrets of a command line, and when it did not parse, the words right after a secret flag’s value', () => {
    const argv = [
      'scan',
      '--redis-password',
      'first',
      'half',
      '--verbose',
      '--forgejo-token=t0ken',
      '--etcd-endpoints',
      'r00t:pw@e1:2379',
      'stray',
    ];
    const env = { REDIS_URL: 'redis://:envPw@cache:6379', FORGEJO_TOKEN: 'envT0ken', HOME: '/root' };
    expect(secretsOfCommandLine(argv, env)).not.toContain('half');
    expect(secretsOfCommandLine(argv, env, true).sort()).toEqual(
      ['envPw', 'envT0ken', 'first', 'half', 'pw', 'r00t', 't0ken'].filter((s) => s.length >= 3).sort(),
    );
    expect(scrubSecrets('Unexpected argument: half', secretsOfCommandLine(argv, env, true))).toBe('Unexpected argument: ***');
    expect(secretsOfCommandLine(['reap', '--redis-password'], {})).toEqual([]);
  });
});
