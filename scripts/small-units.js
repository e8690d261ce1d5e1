#!/usr/bin/env node
'use strict';
// Runs the integration, process and contract suites against a copy of this tree whose
// size limits are small: a few hundred domains then cross every boundary a million
// domains cross (the forward table's overflow file and its 4 KiB chunks, delete calls of
// three groups, hydration slices of four, SCAN pages of ten keys, scripts of eight keys,
// a verifier memo of five answers, a scan held back after five queued claims). The
// suites are not changed: what they assert must hold whatever the sizes. Unit tests that
// pin the sizes themselves are left out.
//
// usage: node scripts/small-units.js [jest arguments]   (default: test/integration test/e2e test/contract)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');

/** Each limit as the source spells it, and its small value; a spelling not found is an error. */
const SMALL = [
  ['src/core/domain-arena.ts', 'const CHUNK_BITS = 20;', 'const CHUNK_BITS = 12;'],
  ['src/core/domain-arena.ts', 'const FLAG_BLOCK_BITS = 16;', 'const FLAG_BLOCK_BITS = 8;'],
  ['src/core/compact.ts', 'export const FORWARDS_IN_MEMORY_BYTES = 16 << 20;', 'export const FORWARDS_IN_MEMORY_BYTES = 0;'],
  ['src/engine/scanner.ts', 'const KEYS_BETWEEN_YIELDS = 250;', 'const KEYS_BETWEEN_YIELDS = 7;'],
  ['src/engine/applier.ts', 'export const APPLY_BATCH = 250;', 'export const APPLY_BATCH = 3;'],
  ['src/engine/applier.ts', 'export const APPLY_BATCH_WEIGHT = 250;', 'export const APPLY_BATCH_WEIGHT = 12;'],
  ['src/engine/plan-executor.ts', 'export const HYDRATE_SLICE = 250;', 'export const HYDRATE_SLICE = 4;'],
  ['src/engine/plan-executor.ts', 'const READ_BATCH = 1000;', 'const READ_BATCH = 10;'],
  ['src/engine/verifier.ts', 'export const MEMO_LIMIT = 10_000;', 'export const MEMO_LIMIT = 5;'],
  ['src/engine/engine.ts', 'const BACKLOG = 1_000;', 'const BACKLOG = 5;'],
  ['plugins/redis/scripts.ts', 'export const SCAN_COUNT = 1000;', 'export const SCAN_COUNT = 10;'],
  ['plugins/redis/store.ts', 'export const SCRIPT_KEYS = 250;', 'export const SCRIPT_KEYS = 8;'],
];

const COPIED = [
  'bin',
  'plugins',
  'src',
  'test',
  'jest.config.js',
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'oclif.manifest.json',
];

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function main() {
  if (!fs.existsSync(path.join(ROOT, 'node_modules'))) {
    process.stderr.write('small-units: no node_modules here; run npm run setup first\n');
    return 1;
  }
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'pages-reaper-small-units-'));
  try {
    for (const entry of COPIED) fs.cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
    for (const [file, from, to] of SMALL) {
      const target = path.join(copy, file);
      const text = fs.readFileSync(target, 'utf8');
      if (!text.includes(from)) {
        process.stderr.write(`small-units: ${file} no longer says '${from}'; update SMALL in scripts/small-units.js\n`);
        return 1;
      }
      fs.writeFileSync(target, text.replace(from, to));
    }
    process.stdout.write(`small-units: ${SMALL.length} limits made small in ${copy}; building\n`);
    const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
    if (run(tsc, ['-p', 'tsconfig.build.json'], copy) !== 0) return 1;
    const jestArgs = process.argv.slice(2);
    const jest = path.join(ROOT, 'node_modules', '.bin', 'jest');
    return run(jest, jestArgs.length > 0 ? jestArgs : ['test/integration', 'test/e2e', 'test/contract'], copy);
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
}

process.exitCode = main();
