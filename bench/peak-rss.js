// Preloaded into the measured process: writes its peak resident set size (KiB) to
// BENCH_RSS_FILE on exit, so the benchmark reads the process's own accounting.
'use strict';
const fs = require('node:fs');

process.on('exit', () => {
  if (process.env.BENCH_RSS_FILE) fs.writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS));
});
