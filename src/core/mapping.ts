import { isBranchName, isRepoPart } from './keys';

/** Where a forward mapping points: a repository, and for branch subdomains a branch. */
export interface RepoTarget {
  owner: string;
  repo: string;
  branch?: string;
}

/** A key the reaper may delete, with the exact bytes it read. */
export interface KeyValue {
  key: string;
  value: Buffer;
  expiresAt?: number;
}

export interface ForwardMapping {
  domain: string;
  key: string;
  value: Buffer;
  expiresAt?: number;
  /** Undefined when the value cannot be a mapping; `invalid` says why. */
  target?: RepoTarget;
  invalid?: string;
}

export interface ReverseMapping extends RepoTarget, KeyValue {
  /** The domain the reverse key names (its value). */
  domain: string;
}

export type ParsedTarget = { ok: true; target: RepoTarget } | { ok: false; reason: string };

/**
 * Reads a forward value (`owner:repo` or `owner:repo:branch`) the way the plugin's
 * `resolveCustomDomain` does, and refuses names that could not reach Forgejo safely.
 */
export function parseForwardValue(value: string): ParsedTarget {
  // By position: a scan reads every forward value, and an array of parts for each was garbage.
  const first = value.indexOf(':');
  const second = first < 0 ? -1 : value.indexOf(':', first + 1);
  if (first < 0 || (second >= 0 && value.indexOf(':', second + 1) >= 0)) {
    return { ok: false, reason: `Invalid mapping format '${value}' (expected owner:repo or owner:repo:branch)` };
  }
  const owner = value.slice(0, first);
  const repo = second < 0 ? value.slice(first + 1) : value.slice(first + 1, second);
  const branch = second < 0 ? undefined : value.slice(second + 1);
  if (!isRepoPart(owner)) return { ok: false, reason: `Invalid owner name '${owner}' in '${value}'` };
  if (!isRepoPart(repo)) return { ok: false, reason: `Invalid repository name '${repo}' in '${value}'` };
  if (branch === undefined) return { ok: true, target: { owner, repo } };
  if (!isBranchName(branch)) return { ok: false, reason: `Invalid branch name '${branch}' in '${value}'` };
  return { ok: true, target: { owner, repo, branch } };
}

export function formatTarget(target: RepoTarget): string {
  return target.branch === undefined ? `${target.owner}/${target.repo}` : `${target.owner}/${target.repo} (branch ${target.branch})`;
}

/** The forward value the plugin writes for a target. */
export function forwardValue(target: RepoTarget): string {
  return target.branch === undefined ? `${target.owner}:${target.repo}` : `${target.owner}:${target.repo}:${target.branch}`;
}

/** Forgejo treats owner and repository names case-insensitively. */
export function repoId(owner: string, repo: string): string {
  return `${owner.toLowerCase()}/${repo.toLowerCase()}`;
}
