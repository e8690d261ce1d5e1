#!/usr/bin/env node
// SIGINT/SIGTERM end the process with 130 from here on, before oclif has even loaded
// (a command traps them for its run): never by the signal's default.
require('../dist/src/cli/signals').exitOnSignalUntilTrapped();
// grpc-js (etcd) hands an endpoint's IP address to TLS as the server name, and Node then
// warns on stderr (DEP0123) in every TLS run against https://127.0.0.1:2379. Only that
// warning is dropped: the certificate is still checked against the address.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const code = rest[0] !== null && typeof rest[0] === 'object' ? rest[0].code : rest[1];
  if (code === 'DEP0123') return;
  return emitWarning.call(process, warning, ...rest);
};
// oclif's parts by their own entry points: the package's main module also loads every
// other part and semver (for a Node version warning), about 50 modules more at start-up.
const { run } = require('@oclif/core/run');
const { flush } = require('@oclif/core/flush');

// oclif exits 2 on a usage error (unknown command, stray argument); for pages-reaper 2
// means "partial". What fails before a command runs leaves as a command's failure does
// (src/cli/errors.ts): one line on stderr (with --json also a JSON document), exit 1.
// reaper.py, which pages-reaper replaces, had no commands: its flags alone reaped, and
// `--dry-run` previewed. So flags with no command before them run `reap`, and a cron line
// of the old script works with only the program's name changed. Help and version stay.
const argv = process.argv.slice(2);
// `-v` is the version, as `-h` is the help: oclif knows only `--version`.
if (argv[0] === '-v') argv[0] = '--version';
if (argv.length > 0 && argv[0].startsWith('-') && !['-h', '--help', '-v', '--version'].includes(argv[0])) argv.unshift('reap');

run(argv, __dirname)
  .then(() => flush())
  .catch((error) => {
    if (error && error.code === 'EEXIT') {
      process.exitCode = error.oclif.exit;
      return;
    }
    const { reportFailure } = require('../dist/src/cli/errors');
    process.exitCode = reportFailure(error, { json: process.argv.includes('--json') ? process.stdout : undefined });
  });
