import type { Inventory } from '../core/inventory';
import { repoId } from '../core/mapping';
import { ArenaTextMap, MAX_ENTRY_TEXT_BYTES } from '../core/domain-arena';

/**
 * What the last sweep learnt: repository → the domains mapped to it (forward values and
 * reverse keys), with the branch of each branch mapping. Only repositories that have
 * mappings are kept, so memory follows the mappings, not the keyspace; a repository's
 * list is one text in an arena (a sidecar of a million domains keeps a million of them),
 * rewritten as it grows, so a list of more than LIST_IN_ARENA domains is kept as a Map. A trigger for a
 * repository missing here (and from the reverse keys) costs no API request.
 */
/** Domains one repository's list holds in the arena at most. */
const LIST_IN_ARENA = 32;

export class RepoIndex {
  /** repoId → its list, encoded by `encode`. */
  private byRepo = new ArenaTextMap();
  /** repoId → domain → branch ('' for the repository's own custom domain), for lists too long for the arena. */
  private long = new Map<string, Map<string, string>>();
  private mapped = 0;

  /** Replaces the index with what a completed sweep saw. */
  rebuild(inventory: Inventory): void {
    const byRepo = new ArenaTextMap();
    const long = new Map<string, Map<string, string>>();
    const add = (owner: string, repo: string, domain: string, branch = '') => {
      const id = repoId(owner, repo);
      const kept = long.get(id);
      if (kept) {
        kept.set(domain, branch);
        return;
      }
      const list = decode(byRepo.get(id));
      if (list.get(domain) === branch) return;
      list.set(domain, branch);
      const text = list.size <= LIST_IN_ARENA ? encode(list) : undefined;
      if (text !== undefined && Buffer.byteLength(text, 'utf8') <= MAX_ENTRY_TEXT_BYTES) byRepo.set(id, text);
      else {
        byRepo.delete(id);
        long.set(id, list);
      }
    };
    for (const mapping of inventory.forwards.values()) {
      if (mapping.target) add(mapping.target.owner, mapping.target.repo, mapping.domain, mapping.target.branch);
    }
    for (const reverse of inventory.reverses) add(reverse.owner, reverse.repo, reverse.domain, reverse.branch);
    this.byRepo = byRepo;
    this.long = long;
    this.mapped = inventory.forwards.size;
  }

  /** Domains of a repository: all of them, or only those of the given branches. */
  domains(owner: string, repo: string, branches?: ReadonlySet<string>): string[] {
    const id = repoId(owner, repo);
    const domains = this.long.get(id) ?? decode(this.byRepo.get(id));
    return [...domains].filter(([, branch]) => branches === undefined || branches.has(branch)).map(([domain]) => domain);
  }

  /** Forward mappings the last sweep saw: the brake's measure of the whole store. */
  mappedDomains(): number {
    return this.mapped;
  }

  get repositories(): number {
    return this.byRepo.size + this.long.size;
  }
}

/** A list as text: per domain, its length, `:`, the domain, the branch's length, `:`, the branch. Any character may appear in either. */
function encode(list: Map<string, string>): string {
  let text = '';
  for (const [domain, branch] of list) text += `${domain.length}:${domain}${branch.length}:${branch}`;
  return text;
}

function decode(text: string | undefined): Map<string, string> {
  const list = new Map<string, string>();
  if (text === undefined) return list;
  const field = (at: number): [string, number] => {
    const colon = text.indexOf(':', at);
    const end = colon + 1 + Number(text.slice(at, colon));
    return [text.slice(colon + 1, end), end];
  };
  for (let at = 0; at < text.length;) {
    const [domain, afterDomain] = field(at);
    const [branch, afterBranch] = field(afterDomain);
    list.set(domain, branch);
    at = afterBranch;
  }
  return list;
}
