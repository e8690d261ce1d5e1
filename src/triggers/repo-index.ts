import type { Inventory } from '../core/inventory';
import { repoId } from '../core/mapping';

/**
 * What the last sweep learnt: repository → the domains mapped to it (forward values and
 * reverse keys), with the branch of each branch mapping. Only repositories that have
 * mappings are kept, so memory follows the mappings, not the keyspace. A trigger for a
 * repository missing here (and from the reverse keys) costs no API request.
 */
export class RepoIndex {
  /** repoId → domain → branch ('' for the repository's own custom domain). */
  private byRepo = new Map<string, Map<string, string>>();
  private mapped = 0;

  /** Replaces the index with what a completed sweep saw. */
  rebuild(inventory: Inventory): void {
    const next = new Map<string, Map<string, string>>();
    const add = (owner: string, repo: string, domain: string, branch: string | undefined) => {
      const id = repoId(owner, repo);
      let domains = next.get(id);
      if (!domains) next.set(id, (domains = new Map()));
      domains.set(domain, branch ?? '');
    };
    for (const mapping of inventory.forwards.values()) {
      if (mapping.target) add(mapping.target.owner, mapping.target.repo, mapping.domain, mapping.target.branch);
    }
    for (const reverse of inventory.reverses) add(reverse.owner, reverse.repo, reverse.domain, reverse.branch);
    this.byRepo = next;
    this.mapped = inventory.forwards.size;
  }

  /** Domains of a repository: all of them, or only those of the given branches. */
  domains(owner: string, repo: string, branches?: ReadonlySet<string>): string[] {
    const domains = this.byRepo.get(repoId(owner, repo));
    if (!domains) return [];
    return [...domains].filter(([, branch]) => branches === undefined || branches.has(branch)).map(([domain]) => domain);
  }

  /** Forward mappings the last sweep saw: the brake's measure of the whole store. */
  mappedDomains(): number {
    return this.mapped;
  }

  get repositories(): number {
    return this.byRepo.size;
  }
}
