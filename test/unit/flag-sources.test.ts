import { settingsFromFlags, settleFlagSources } from '../../src/cli/flags';

const onCommandLine =
  (...names: string[]) =>
  (name: string) =>
    names.includes(name);

describe('settleFlagSources: empty values', () => {
  it("reaper.py's secrets given empty on the command line mean none, as they did there", () => {
    const flags = settleFlagSources(
      { 'redis-host': 'r', 'redis-password': '', 'forgejo-token': '' },
      onCommandLine('redis-host', 'redis-password', 'forgejo-token'),
    );
    expect(flags).toEqual({ 'redis-host': 'r', 'redis-password': undefined, 'forgejo-token': undefined });
  });

  it('an empty --forgejo-token leaves a token file from the environment in use: no token would make private sites look gone', () => {
    const flags = settleFlagSources({ 'forgejo-token': '', 'forgejo-token-file': '/run/secrets/token' }, onCommandLine('forgejo-token'));
    expect(flags).toEqual({ 'forgejo-token': undefined, 'forgejo-token-file': '/run/secrets/token' });
  });

  it('any other empty value on the command line is refused; from the environment it means unset', () => {
    expect(() => settleFlagSources({ 'redis-host': '' }, onCommandLine('redis-host'))).toThrow(
      '--redis-host is empty; give a value, or leave the flag out',
    );
    expect(settleFlagSources({ 'redis-host': '' }, onCommandLine())).toEqual({ 'redis-host': '' });
  });
});

describe('settleFlagSources: flags that mean something only beside another', () => {
  it('--redis-sentinel-name without --redis-sentinels is refused, naming both; with them, or from the environment, it stands', () => {
    expect(() => settleFlagSources({ 'redis-sentinel-name': 'cache' }, onCommandLine('redis-sentinel-name'))).toThrow(
      '--redis-sentinel-name would be ignored here; it names the master the sentinels watch: add --redis-sentinels, or drop --redis-sentinel-name',
    );
    const withSentinels = { 'redis-sentinel-name': 'cache', 'redis-sentinels': 's1:26379' };
    expect(settleFlagSources(withSentinels, onCommandLine('redis-sentinel-name'))).toEqual(withSentinels);
    expect(settleFlagSources({ 'redis-sentinel-name': 'cache' }, onCommandLine())).toEqual({ 'redis-sentinel-name': 'cache' });
  });
});

describe('settingsFromFlags: units', () => {
  it('turns seconds into whole ms, as timers count them: 0.07 s is 70 ms, said back as 0.07 s', () => {
    const settings = settingsFromFlags({ timeout: 0.07, 'store-timeout': 0.29 });
    expect({ timeout: settings.timeout, storeTimeout: settings.storeTimeout }).toEqual({ timeout: 70, storeTimeout: 290 });
  });
});
