#!/usr/bin/env node
// Same as run.js, from the TypeScript sources (ts-node) when no manifest pins dist/.
require('reflect-metadata');
const oclif = require('@oclif/core');

oclif.settings.enableAutoTranspile = true;
require('./run.js');
