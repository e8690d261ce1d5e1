// Preloaded into every measured process: writes its peak resident set size (KiB) and the
// CPU it used (user + system, every thread of it) to BENCH_RSS_FILE on exit, so the
// benchmark reads the process's own accounting.
//
// On Linux the peak is VmHWM, the high-water mark of this program's own memory.
// getrusage's maxRSS is not: the kernel carries into it, at exec, the peak of the
// forked copy of the parent, so a reaper started by a benchmark that has just seeded a
// million domains would report the benchmark's size whenever its own is smaller.
'use strict';
const fs = require('node:fs');

function peakKib() {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]);
  } catch {
    // not Linux: getrusage below
  }
  return process.resourceUsage().maxRSS;
}

process.on('exit', () => {
  if (!process.env.BENCH_RSS_FILE) return;
  const { user, system } = process.cpuUsage();
  fs.writeFileSync(process.env.BENCH_RSS_FILE, JSON.stringify({ peakKib: peakKib(), cpuSeconds: (user + system) / 1e6 }));
});
