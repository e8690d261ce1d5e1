#!/usr/bin/env node
// Runs the TypeScript sources through ts-node when it is installed; otherwise the build.
require('reflect-metadata');
require('@oclif/core').execute({ development: true, dir: __dirname });
