#!/usr/bin/env node
// The dependency rule of docs/architecture.md, checked on the sources (no build needed):
// no import cycle between files, and no folder importing a folder above it in LAYERS.
// Every relative import counts, `import type` too: a cycle of types is still two files
// that cannot be read apart. Exit 1 with one line per breach.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

/** Lowest first: a file may import its own layer or the ones before it, never one after. */
const LAYERS = [
  ['src/ports'],
  ['src/core'],
  ['src/backup'],
  ['src/engine'],
  ['src/report'],
  ['src/render', 'src/observe', 'src/triggers'],
  ['src/plugin-kit'],
  ['plugins'],
  ['src/plugin-registry.ts', 'src/container.ts'],
  ['src/cli'],
  ['src/commands', 'src/hooks', 'src/index.ts'],
];

function sources(dir) {
  const out = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(rel));
    else if (/\.ts$/.test(entry.name) && !/\.d\.ts$/.test(entry.name)) out.push(rel);
  }
  return out;
}

/** The layer a file belongs to: the longest LAYERS entry that is the file or a folder above it. */
function layerOf(file) {
  let found;
  LAYERS.forEach((entries, index) => {
    for (const entry of entries) {
      if ((file === entry || file.startsWith(entry + '/')) && (!found || entry.length > found.entry.length)) found = { index, entry };
    }
  });
  return found;
}

function resolveImport(from, specifier) {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  for (const candidate of [base + '.ts', base + '/index.ts', base]) {
    if (fs.existsSync(path.join(ROOT, candidate)) && fs.statSync(path.join(ROOT, candidate)).isFile()) return candidate;
  }
  return undefined;
}

const files = [...sources('src'), ...sources('plugins')];
const graph = new Map();
const problems = [];
for (const file of files) {
  const text = fs
    .readFileSync(path.join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/.*$/gm, '$1');
  const targets = new Set();
  const pattern = /(?:\bfrom\s+|\brequire\(\s*|\bimport\(\s*)['"](\.{1,2}\/[^'"]*)['"]/g;
  for (const match of text.matchAll(pattern)) {
    const target = resolveImport(file, match[1]);
    if (!target) {
      problems.push(`${file}: cannot resolve '${match[1]}'`);
      continue;
    }
    targets.add(target);
  }
  graph.set(file, [...targets]);
  const own = layerOf(file);
  if (!own) {
    problems.push(`${file}: in no layer; add its folder to LAYERS in scripts/check-deps.js`);
    continue;
  }
  for (const target of targets) {
    const theirs = layerOf(target);
    if (theirs && theirs.index > own.index)
      problems.push(`${file} imports ${target}: ${own.entry} must not depend on ${theirs.entry}, which is above it`);
  }
}

// Tarjan's strongly connected components: any component of more than one file is a cycle.
let counter = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
function visit(node) {
  index.set(node, counter);
  low.set(node, counter);
  counter++;
  stack.push(node);
  onStack.add(node);
  for (const next of graph.get(node) ?? []) {
    if (!index.has(next)) {
      visit(next);
      low.set(node, Math.min(low.get(node), low.get(next)));
    } else if (onStack.has(next)) {
      low.set(node, Math.min(low.get(node), index.get(next)));
    }
  }
  if (low.get(node) === index.get(node)) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) problems.push(`import cycle: ${component.sort().join(' ↔ ')}`);
  }
}
for (const file of files) if (!index.has(file)) visit(file);

if (problems.length > 0) {
  for (const problem of problems) process.stderr.write(`check-deps: ${problem}\n`);
  process.exit(1);
}
process.stdout.write(`check-deps: ${files.length} files, no import cycle, every import points down the layers\n`);
