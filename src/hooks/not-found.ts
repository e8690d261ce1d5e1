import type { Hook } from '@oclif/core';

/**
 * A mistyped command outside a terminal (cron, CI, a script): one line with the closest
 * command and exit 1, before oclif looks the command up. In a terminal
 * @oclif/plugin-not-found asks "Did you mean scan?" and runs it when confirmed; without
 * one it would print a warning, no suggestion, and exit 127.
 */
const hook: Hook<'init'> = async function (options) {
  const id = options.id;
  if (!id || id.startsWith('-') || (process.stdin.isTTY && !process.env.CI)) return;
  const config = options.config;
  if (config.findCommand(id) || config.findTopic(id)) return;
  const visible = config.commands.filter((command) => !command.hidden).flatMap((command) => [command.id, ...command.aliases]);
  const suggestion = closest(id, visible);
  const hint = suggestion ? ` Did you mean ${suggestion}?` : '';
  this.error(`${id} is not a ${config.bin} command.${hint} Run ${config.bin} help for the list of commands.`, { exit: 1 });
};

export default hook;

/** The command with the smallest edit distance, when it is close enough to be a typo. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: { id: string; distance: number } | undefined;
  for (const id of candidates) {
    const distance = levenshtein(word, id);
    if (!best || distance < best.distance) best = { id, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(word.length / 2)) ? best.id : undefined;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
