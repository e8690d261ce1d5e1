// Preloaded into a CLI process (NODE_OPTIONS=--require …): on exit, writes every package
// specifier the process required (`ioredis`, `undici/lib/dispatcher/pool`), one a line, to
// LOADED_PACKAGES_FILE, so a test can tell which heavy modules a command loads.
'use strict';
const fs = require('node:fs');
const Module = require('node:module');

const loaded = new Set();
const load = Module._load;
Module._load = function (request, ...rest) {
  if (/^[@\w]/.test(request) && !request.startsWith('node:')) loaded.add(request);
  return load.call(this, request, ...rest);
};
process.on('exit', () => {
  if (process.env.LOADED_PACKAGES_FILE) fs.writeFileSync(process.env.LOADED_PACKAGES_FILE, [...loaded].sort().join('\n') + '\n');
});
