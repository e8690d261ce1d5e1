import { isBranchName, isRepoPart } from '../core/keys';

/**
 * What a webhook delivery asks for: re-verify a repository (all its mappings), or some
 * of its branch mappings. A trigger, never a verdict: the payload decides nothing about
 * staleness, it only names what to ask Forgejo about now.
 */
export interface TriggerTarget {
  owner: string;
  repo: string;
  /** Undefined: every mapping of the repository; otherwise only these branches' mappings. */
  branches?: string[];
  /**
   * The delivery shows `.pages` on the default branch as its last commit left it: written
   * (added or modified), so a 404 for it now contradicts the delivery. Undefined when it
   * does not say.
   */
  pagesWritten?: boolean;
}

export type Interpretation =
  | { kind: 'trigger'; target: TriggerTarget }
  /** A known event that cannot make a mapping stale (a tag, a push not touching `.pages`). */
  | { kind: 'ignored'; reason: string }
  /** A payload that does not have the shape of this event. */
  | { kind: 'malformed'; reason: string };

/** The events acted on; anything else is refused (400) so the hook's settings get a look. */
export const SUPPORTED_EVENTS = ['repository', 'push', 'delete'] as const;
export type SupportedEvent = (typeof SUPPORTED_EVENTS)[number];

export function isSupportedEvent(event: string): event is SupportedEvent {
  return (SUPPORTED_EVENTS as readonly string[]).includes(event);
}

const ZERO_SHA = /^0+$/;
const PAGES_FILE = '.pages';

type Json = Record<string, unknown>;

function object(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** owner/repo from `repository` (`owner.login` or `owner.username`, `name`; else `full_name`). */
function repositoryOf(payload: Json): { owner: string; repo: string; defaultBranch?: string } | string {
  const repository = object(payload.repository);
  if (!repository) return 'no repository object';
  const ownerObject = object(repository.owner);
  let owner = text(ownerObject?.login) ?? text(ownerObject?.username);
  let repo = text(repository.name);
  if ((!owner || !repo) && text(repository.full_name)) {
    const parts = text(repository.full_name)!.split('/');
    if (parts.length === 2) [owner, repo] = [owner ?? parts[0], repo ?? parts[1]];
  }
  if (!owner || !repo) return 'repository without owner and name';
  if (!isRepoPart(owner) || !isRepoPart(repo)) return 'repository name Forgejo cannot have';
  return { owner, repo, defaultBranch: text(repository.default_branch) };
}

function branchOfRef(ref: string): string | undefined {
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
}

function touchesPages(commits: unknown[]): boolean {
  return commits.some((commit) => lastPagesChange([commit]) !== undefined);
}

/** What the last of `commits` that touches `.pages` did to it: wrote it, removed it, or none touched it. */
function lastPagesChange(commits: unknown[]): 'written' | 'removed' | undefined {
  let change: 'written' | 'removed' | undefined;
  for (const commit of commits) {
    const c = object(commit);
    const has = (field: string) => Array.isArray(c?.[field]) && (c![field] as unknown[]).includes(PAGES_FILE);
    if (has('removed')) change = 'removed';
    if (has('added') || has('modified')) change = 'written';
  }
  return change;
}

/** Reads a parsed, signed delivery of a supported event. */
export function interpretDelivery(event: SupportedEvent, body: unknown): Interpretation {
  const payload = object(body);
  if (!payload) return { kind: 'malformed', reason: 'payload is not a JSON object' };
  const repository = repositoryOf(payload);
  if (typeof repository === 'string') return { kind: 'malformed', reason: repository };
  const { owner, repo, defaultBranch } = repository;
  switch (event) {
    case 'repository':
      // created, deleted: either way the repository's mappings are asked about again
      // (a recreated repository proves itself live; a deleted one, stale).
      return { kind: 'trigger', target: { owner, repo } };
    case 'delete': {
      const refType = text(payload.ref_type);
      const ref = text(payload.ref);
      if (refType === undefined || ref === undefined) return { kind: 'malformed', reason: 'delete without ref and ref_type' };
      if (refType !== 'branch') return { kind: 'ignored', reason: `${refType} deleted` };
      const branch = branchOfRef(ref) ?? ref;
      if (!isBranchName(branch)) return { kind: 'malformed', reason: 'branch name git cannot have' };
      return { kind: 'trigger', target: { owner, repo, branches: [branch] } };
    }
    case 'push': {
      const ref = text(payload.ref);
      if (ref === undefined) return { kind: 'malformed', reason: 'push without ref' };
      const branch = branchOfRef(ref);
      if (branch === undefined) return { kind: 'ignored', reason: 'not a branch' };
      if (!isBranchName(branch)) return { kind: 'malformed', reason: 'branch name git cannot have' };
      const commits = Array.isArray(payload.commits) ? payload.commits : [];
      const total = typeof payload.total_commits === 'number' ? payload.total_commits : commits.length;
      const before = text(payload.before) ?? '';
      const after = text(payload.after) ?? '';
      const deleted = ZERO_SHA.test(after);
      // A list Forgejo cut short, or a force push that rewrote history without new
      // commits, may hide a change to `.pages`: ask again rather than guess.
      const unsure = total > commits.length || (commits.length === 0 && !ZERO_SHA.test(before) && before !== after);
      const pagesTouched = deleted || unsure || touchesPages(commits);
      if (!pagesTouched) return { kind: 'ignored', reason: 'no commit touches .pages' };
      if (defaultBranch === undefined || branch === defaultBranch) {
        const written = !deleted && !unsure && defaultBranch !== undefined && lastPagesChange(commits) === 'written';
        return { kind: 'trigger', target: written ? { owner, repo, pagesWritten: true } : { owner, repo } };
      }
      return { kind: 'trigger', target: { owner, repo, branches: [branch] } };
    }
  }
}
