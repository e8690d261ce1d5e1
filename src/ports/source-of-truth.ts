/** What Forgejo said about a repository's `.pages` file. */
export type PagesFileLookup = { found: true; text: string } | { found: false };

export type SourceErrorKind = 'auth' | 'rate-limited' | 'server' | 'timeout' | 'network' | 'malformed' | 'http' | 'misconfigured';

/**
 * Anything but a clear 200 or 404: the entry it concerns is unknown, never stale.
 * `signature` groups failures that have one cause (wrong host, revoked token). A
 * `misconfigured` error (the API answers from another origin than the one configured)
 * makes every later answer worthless as proof: the run stops asking at once.
 */
export class SourceError extends Error {
  constructor(
    message: string,
    readonly kind: SourceErrorKind,
    readonly signature: string,
    readonly status?: number,
    /**
     * The failure says the setup is wrong, whatever the repository: the host cannot be
     * reached at all (refused, unknown, TLS on a plain port). A run whose every check
     * fails so stops as one that tripped the breaker would, however few its checks.
     */
    readonly ofSetup = false,
  ) {
    super(message);
    this.name = 'SourceError';
  }
}

export interface SourceOfTruth {
  describe(): string;
  /** `signal` cancels the call, also while it waits for a free connection. */
  pagesFile(owner: string, repo: string, signal?: AbortSignal): Promise<PagesFileLookup>;
  branchExists(owner: string, repo: string, branch: string, signal?: AbortSignal): Promise<boolean>;
  /** Every HTTP request sent so far, retries included. */
  requestCount(): number;
  close(): Promise<void>;
}

export const SOURCE_OF_TRUTH = Symbol.for('pages-reaper.SourceOfTruth');
