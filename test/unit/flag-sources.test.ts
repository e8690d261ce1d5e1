import { settleFlagSources } from '../../src/cli/flags';

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
