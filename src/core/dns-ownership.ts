import { createHash } from 'node:crypto';
import { live, stale, unknown, type Claim, type Verdict } from './verdict';
import type { TxtAnswer } from '../ports/txt-resolver';

export type { TxtAnswer };

/**
 * The pages plugin's DNS ownership proof (pages.go, `verifyCustomDomainDNS`), re-checked
 * over time. Pure: what record is expected where, and what a TXT answer means.
 *
 * - Expected record: `bovine-pages-verification=` + hex SHA-256 of `owner/repo`
 *   (`generateDomainVerificationHash`), owner and repo as the mapping spells them.
 * - Where: at the `custom_domain` itself. The plugin checks once, in
 *   `registerCustomDomain`, before it registers the domain and then its branch
 *   subdomains (`registerBranchSubdomains` does no lookup of its own), so a branch
 *   subdomain `{label}.{custom_domain}` stands or falls with the record at
 *   `{custom_domain}`, hashed from the same `owner/repo` (the branch is not hashed).
 * - Match: any one TXT record (its character-strings concatenated, as Go's
 *   `net.LookupTXT` does) equal to the expected value, or equal once every space is
 *   removed from both. Other records beside it do not matter.
 */
export const VERIFICATION_PREFIX = 'bovine-pages-verification=';

export function verificationHash(owner: string, repo: string): string {
  return createHash('sha256').update(`${owner}/${repo}`, 'utf8').digest('hex');
}

export function expectedRecord(owner: string, repo: string): string {
  return VERIFICATION_PREFIX + verificationHash(owner, repo);
}

/**
 * The name whose TXT records prove a claim: the mapped domain, or for a branch
 * subdomain (proven live, so `{label}.{custom_domain}` with a dot-free label) its
 * `custom_domain`.
 */
export function lookupName(claim: Claim): string {
  if (claim.branch === undefined) return claim.domain;
  const dot = claim.domain.indexOf('.');
  return dot < 0 ? claim.domain : claim.domain.slice(dot + 1);
}

/** One TXT record's character-strings, joined with nothing between them (as resolvers do). */
export function joinTxt(chunks: string[][]): string[] {
  return chunks.map((strings) => strings.join(''));
}

export function recordMatches(record: string, expected: string): boolean {
  return record === expected || record.replaceAll(' ', '') === expected.replaceAll(' ', '');
}

/** Resolver error codes (c-ares, as node:dns reports them) that are answers, not failures. */
export function answerOfError(code: string | undefined, detail: string): TxtAnswer {
  if (code === 'ENODATA') return { kind: 'nodata' };
  if (code === 'ENOTFOUND') return { kind: 'nxdomain' };
  return { kind: 'error', code: code ?? 'EUNKNOWN', detail };
}

export type DnsOutcome = 'proven' | 'ownership-lost' | 'unknown';

/** The DNS evidence for one domain, as `verify --json` shows it. */
export interface DnsEvidence {
  /** Where the TXT records were looked up. */
  name: string;
  expected: string;
  outcome: DnsOutcome;
  /** What the answer was: records, nodata, nxdomain, or the error's code (ESERVFAIL, ETIMEOUT…). */
  answer: string;
  /** Every TXT record seen at the name (joined character-strings). */
  records: string[];
  reason: string;
}

function quoted(records: string[]): string {
  const shown = records.slice(0, 5).map((r) => JSON.stringify(r.length > 120 ? `${r.slice(0, 117)}...` : r));
  return shown.join(', ') + (records.length > 5 ? `, and ${records.length - 5} more` : '');
}

/** What an answer proves about a claim. */
export function judgeOwnership(claim: Claim, name: string, answer: TxtAnswer): DnsEvidence {
  const expected = expectedRecord(claim.owner, claim.repo);
  const base = { name, expected };
  switch (answer.kind) {
    case 'records': {
      const { records } = answer;
      if (records.some((record) => recordMatches(record, expected))) {
        return { ...base, outcome: 'proven', answer: 'records', records, reason: `ownership proven by the TXT record at ${name}` };
      }
      const others = records.filter((r) => r.replaceAll(' ', '').startsWith(VERIFICATION_PREFIX));
      const why = others.length > 0 ? 'a bovine-pages-verification record for another repository' : 'no bovine-pages-verification record';
      return {
        ...base,
        outcome: 'ownership-lost',
        answer: 'records',
        records,
        reason: `ownership lost: ${name} has ${why} (expected ${expected}; records seen: ${records.length === 0 ? 'none' : quoted(records)})`,
      };
    }
    case 'nodata':
      return {
        ...base,
        outcome: 'ownership-lost',
        answer: 'nodata',
        records: [],
        reason: `ownership lost: ${name} has no TXT record (expected ${expected})`,
      };
    case 'nxdomain':
      return {
        ...base,
        outcome: 'ownership-lost',
        answer: 'nxdomain',
        records: [],
        reason: `ownership lost: ${name} does not exist (NXDOMAIN)`,
      };
    case 'error':
      return {
        ...base,
        outcome: 'unknown',
        answer: answer.code,
        records: [],
        reason: `DNS lookup of TXT ${name} failed: ${answer.detail}`,
      };
  }
}

/** The verdict once Forgejo said live and DNS had its say. */
export function verdictWithDns(forgejo: Verdict, evidence: DnsEvidence): Verdict {
  switch (evidence.outcome) {
    case 'proven':
      return live(`${forgejo.reason}; ${evidence.reason}`);
    case 'ownership-lost':
      return stale(evidence.reason);
    case 'unknown':
      return unknown(evidence.reason);
  }
}
