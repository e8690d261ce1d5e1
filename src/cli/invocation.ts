import * as fs from 'node:fs';
import * as path from 'node:path';
import { shellQuote } from '../render/shell-quote';

/**
 * How the user can run this very binary again, for the printed `Undo with: … restore`
 * line: the bare name when that name on PATH is this binary (`npm install -g`), else the
 * path that ran, relative to the working directory when below it (`./bin/run.js`),
 * absolute otherwise.
 */
export function invocationName(
  name: string,
  script: string | undefined = process.argv[1],
  cwd: string = process.cwd(),
  searchPath: string = process.env.PATH ?? '',
): string {
  if (!script) return name;
  const absolute = path.resolve(cwd, script);
  const real = realpath(absolute);
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir && path.isAbsolute(dir) && real !== undefined && realpath(path.join(dir, name)) === real) return name;
  }
  const relative = path.relative(cwd, absolute);
  const shown = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? `./${relative}` : absolute;
  return shellQuote(shown);
}

function realpath(file: string): string | undefined {
  try {
    return fs.realpathSync(file);
  } catch {
    return undefined;
  }
}
