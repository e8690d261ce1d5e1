#!/usr/bin/env node
require('reflect-metadata');
const oclif = require('@oclif/core');

// oclif exits 2 on a usage error (unknown command, stray argument); for pages-reaper 2
// means "partial", so any error that is not a deliberate exit is one line and exit 1.
oclif
  .run(process.argv.slice(2), __dirname)
  .then(() => oclif.flush())
  .catch((error) => {
    if (error && error.code === 'EEXIT') {
      process.exitCode = error.oclif.exit;
      return;
    }
    const message = String((error && error.message) || error).replace(/\s*\n\s*/g, ' ').trim();
    process.stderr.write(`pages-reaper: ${message}\n`);
    process.exitCode = 1;
  });
