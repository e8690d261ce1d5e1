import { domainToASCII } from 'node:url';
import { branchLabel } from './keys';
import type { RepoTarget } from './mapping';
import type { PagesConfig } from './pages-config';

/** A repository said to serve a domain: a forward mapping, or a reverse key to check. */
export interface Claim extends RepoTarget {
  domain: string;
}

export type Verdict =
  | { status: 'live'; reason: string }
  | { status: 'stale'; reason: string }
  | { status: 'unknown'; reason: string }
  | { status: 'invalid'; reason: string };

export type VerdictStatus = Verdict['status'];

export const live = (reason: string): Verdict => ({ status: 'live', reason });
export const stale = (reason: string): Verdict => ({ status: 'stale', reason });
export const unknown = (reason: string): Verdict => ({ status: 'unknown', reason });
export const invalid = (reason: string): Verdict => ({ status: 'invalid', reason });

/**
 * One DNS name, however written: a difference in case alone never makes a site stale, nor
 * the A-label and U-label spellings of one internationalized name (`xn--bcher-kva.test`,
 * `bücher.test`), which browsers send as the A-label: a site registered under it whose
 * `.pages` was rewritten in Unicode was reaped, and its domain answered 404.
 */
function sameDomain(a: string, b: string): boolean {
  if (a.toLowerCase() === b.toLowerCase()) return true;
  const ascii = domainToASCII(a);
  return ascii !== '' && ascii === domainToASCII(b);
}

/** Why a mapping is stale when its repository or `.pages` file answers 404: the usual stale verdict. */
export const GONE_REASON = 'repository or its .pages file is gone (404)';

/**
 * Judges a claim on the repository's `.pages` file alone. `undefined` config means the
 * file (or the repository) is gone. Returns `'check-branch'` when only the branch's
 * existence is left to prove.
 */
export function judgeByPages(claim: Claim, config: PagesConfig | undefined): Verdict | 'check-branch' {
  if (config === undefined) return stale(GONE_REASON);
  if (config.customDomain === '') return stale('.pages no longer names a custom_domain');
  if (claim.branch === undefined) {
    return sameDomain(config.customDomain, claim.domain)
      ? live(`.pages names ${config.customDomain}`)
      : stale(`custom_domain changed to ${config.customDomain}`);
  }
  if (!config.enableBranches.includes(claim.branch)) {
    return stale(`branch ${claim.branch} is no longer in enable_branches`);
  }
  const label = branchLabel(claim.branch);
  const expected = label === '' ? '' : `${label}.${config.customDomain}`;
  if (expected === '' || !sameDomain(expected, claim.domain)) {
    return stale(`branch ${claim.branch} now maps to ${expected || 'no subdomain'}`);
  }
  return 'check-branch';
}

export function judgeByBranch(claim: Claim, branchExists: boolean): Verdict {
  return branchExists ? live(`branch ${claim.branch} is enabled and exists`) : stale(`branch ${claim.branch} is gone (404)`);
}
