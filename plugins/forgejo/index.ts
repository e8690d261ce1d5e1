import type { Dispatcher, Pool } from 'undici';
import { noTelemetry, type Telemetry } from '../../src/ports/telemetry';
import { SourceError, type PagesFileLookup, type SourceOfTruth } from '../../src/ports/source-of-truth';
import type { PluginSettings, SourcePlugin } from '../../src/ports/plugins';
import { readFlagFile, UsageError } from '../../src/plugin-kit';
import { RequestLimiter, sleep } from './limiter';
import { strictBase64 } from '../../src/core/strict-base64';

export { strictBase64 };

export interface ForgejoSettings {
  forgejoHost: string;
  forgejoToken?: string;
  forgejoTokenFile?: string;
  /** Requests in flight at most. */
  concurrency?: number;
  /** Requests started per second at most; unset for no limit. */
  rateLimit?: number;
  /** Per-request timeout in ms. */
  timeout?: number;
  /** Retries after the first attempt for 429, 502, 503, 504 and network errors. */
  retries?: number;
  /** First backoff step in ms; doubles each retry, with jitter. */
  retryDelay?: number;
  /** A Retry-After longer than this (ms) is not waited for: the entry stays unknown. */
  maxRetryAfter?: number;
  /** Told of every request's status and duration (metrics). */
  telemetry?: Telemetry;
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const BASE_HEADERS: Record<string, string> = { accept: 'application/json', 'user-agent': 'pages-reaper' };
const MAX_BACKOFF_MS = 10_000;
/**
 * Transport failures of the host itself, never of one request: refused, unknown or
 * unroutable, or TLS that cannot be spoken (https:// on a plain-HTTP port, a certificate
 * not trusted). A dropped connection or a timeout may be one request's.
 */
const HOST_UNREACHABLE =
  /^(?:ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EAI_NONAME|EHOSTUNREACH|ENETUNREACH|ERR_SSL_|ERR_TLS_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_(?:GET|VERIFY)_)/;

interface Answer {
  status: number;
  body: string;
}

/** What one GET brought back: the headers are read only when the status needs them. */
interface RawAnswer extends Answer {
  location?: string;
  retryAfter?: string;
  /** A 404's Content-Type: the API's own answers are JSON. */
  contentType?: string;
}

/**
 * undici's Pool alone: the package's main module also loads fetch, WebSocket, the cache
 * and mock agents, about twice the start-up time of the pool (undici has no `exports`
 * map, so its files are part of its public layout; test/unit/forgejo-transport.test.ts
 * pins it). Loaded when the first source is created, so `scan` and `backup` never load it.
 */
function loadPool(): typeof Pool {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a deep path, loaded lazily
  return require('undici/lib/dispatcher/pool') as typeof Pool;
}

/** The first value of header `name` (lower case) in undici's raw header list. */
function rawHeader(raw: Buffer[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i].length === name.length && raw[i].toString('latin1').toLowerCase() === name) return raw[i + 1].toString('latin1');
  }
  return undefined;
}

/**
 * One GET on the pool, its body read as text. A bare dispatch handler: undici's
 * `request()` wraps every answer in a Readable stream and an async resource, which cost
 * more than the rest of the client per request (bench/scale.js). The body is kept whole,
 * as `body.text()` did; timeouts are undici's (`headersTimeout`, `bodyTimeout`).
 */
function dispatchGet(pool: Dispatcher, options: Dispatcher.DispatchOptions, deadlineMs: number): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let location: string | undefined;
    let retryAfter: string | undefined;
    let contentType: string | undefined;
    let first: Buffer | undefined;
    let rest: Buffer[] | undefined;
    let abort: ((reason: Error) => void) | undefined;
    let late: Error | undefined;
    // undici's headers and body timeouts are idle timeouts: a server that sends a byte
    // every second never trips them, and a run waited on it for as long as it dripped.
    // The whole answer, headers and body, must come within the deadline.
    const deadline = setTimeout(() => {
      late = Object.assign(new Error(`no whole answer within ${deadlineMs} ms`), { name: 'TimeoutError' });
      abort?.(late);
      reject(late);
    }, deadlineMs);
    const handler = {
      onConnect(abortRequest: (reason: Error) => void) {
        abort = abortRequest;
        if (late) abortRequest(late);
      },
      onHeaders(statusCode: number, raw: Buffer[]) {
        status = statusCode;
        if (statusCode === 404) contentType = rawHeader(raw, 'content-type');
        else if (statusCode !== 200) {
          location = rawHeader(raw, 'location');
          retryAfter = rawHeader(raw, 'retry-after');
        }
        return true;
      },
      onData(chunk: Buffer) {
        if (first === undefined) first = chunk;
        else (rest ??= [first]).push(chunk);
        return true;
      },
      onComplete() {
        clearTimeout(deadline);
        const bytes = rest ? Buffer.concat(rest) : first;
        resolve({ status, body: bytes ? bytes.toString('utf8') : '', location, retryAfter, contentType });
      },
      onError(error: Error) {
        clearTimeout(deadline);
        reject(error);
      },
    };
    pool.dispatch(options, handler as unknown as Dispatcher.DispatchHandler);
  });
}

/** What `send` gives back: the retry hint in ms, and a 404's type. */
type SentAnswer = Answer & { retryAfter?: number; contentType?: string };

/** What `/api/v1/version` said: Forgejo's API answers there, something else does, or no answer came. */
type ApiProbe = 'there' | 'absent' | 'unknown';

function apiProbeOf(answer: Answer): ApiProbe {
  if (answer.status === 200 && looksLikeJson(answer.body)) return 'there';
  return answer.status === 200 || answer.status === 404 ? 'absent' : 'unknown';
}

/** Whether a body starts as a JSON object does (the API answers objects). */
function looksLikeJson(body: string): boolean {
  return /^\s*\{/.test(body);
}

/**
 * Whether a 404 is the API's own "not found": Forgejo answers JSON there. A web page
 * (HTML, a proxy's text) is not: it comes from outside the API. A bare 404, with no body
 * and no type, is taken as the API's.
 */
function isApiNotFound(answer: SentAnswer): boolean {
  if (answer.contentType !== undefined && /json/i.test(answer.contentType)) return true;
  if (looksLikeJson(answer.body)) return true;
  return answer.contentType === undefined && answer.body.trim() === '';
}

/** A bare host name means HTTPS, as every Forgejo served to the plugin is. */
export function parseForgejoHost(host: string): URL {
  const example = 'give a URL such as https://git.example.com';
  // Credentials in the URL (user:token@host, ?token=…) would never be sent: every request
  // names its path itself, and undici sends no userinfo. Without them a private
  // repository answers 404, as a deleted one does, and its live site would be reaped.
  // They are refused before any message repeats the URL, so no secret is echoed.
  // Any `@` counts: a token may hold a `/`, `?` or `#`, which would end the authority early.
  const tokenHint = 'give the token with --forgejo-token or --forgejo-token-file (FORGEJO_TOKEN, FORGEJO_TOKEN_FILE)';
  if (host.includes('@'))
    throw new UsageError(
      `invalid --forgejo-host: it holds credentials (user:token@) that would never be sent; ${tokenHint}, and the URL without them`,
    );
  const query = /[?#]/.exec(host);
  if (query)
    throw new UsageError(
      `invalid --forgejo-host '${host.slice(0, query.index)}': it holds a query or fragment (${query[0]}…) that would never be sent; ${tokenHint}, and the URL without it`,
    );
  // URL() quietly percent-encodes spaces and takes `ht!tp://x` for a host named `ht!tp`.
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\s\u0000-\u001f\u007f]/.test(host))
    throw new UsageError(`invalid --forgejo-host '${host.trim()}': it contains spaces or control characters; ${example}`);
  const scheme = /^([^:/?#]*):\/\//.exec(host)?.[1];
  if (scheme !== undefined && !/^[a-z][a-z0-9+.-]*$/i.test(scheme))
    throw new UsageError(`invalid --forgejo-host '${host}': '${scheme}' is not a URL scheme; ${example}`);
  const withScheme = scheme !== undefined ? host : `https://${host}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`invalid --forgejo-host '${host}': ${example}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`invalid --forgejo-host '${host}': only http:// and https:// are supported`);
  }
  // Letters, digits, dots and dashes (IDNs arrive as punycode), or an IPv6 literal.
  if (!/^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?\.?)+$|^\[[0-9a-f:.]+\]$/i.test(url.hostname)) {
    throw new UsageError(`invalid --forgejo-host '${host}': '${url.hostname}' is not a host name; ${example}`);
  }
  // The API path is the reaper's to add: given with it, every request would go to
  // /api/v1/api/v1/…, which Forgejo answers 404, and every site would look gone.
  const apiPath = /\/api\/v1\/*$/i.exec(url.pathname);
  if (apiPath) {
    const root = url.origin + url.pathname.slice(0, apiPath.index);
    throw new UsageError(
      `invalid --forgejo-host '${host}': give Forgejo's own URL, without /api/v1 (the reaper adds it): --forgejo-host ${root}`,
    );
  }
  return url;
}

export function resolveToken(settings: Pick<ForgejoSettings, 'forgejoToken' | 'forgejoTokenFile'>): string | undefined {
  if (settings.forgejoToken) return headerSafeToken(settings.forgejoToken, '--forgejo-token (FORGEJO_TOKEN)');
  if (!settings.forgejoTokenFile) return undefined;
  const what = `--forgejo-token-file ${settings.forgejoTokenFile}`;
  const token = readFlagFile(settings.forgejoTokenFile, what, { hint: 'give a readable file holding the token', requireText: true })
    .toString('utf8')
    .trim();
  return headerSafeToken(token, what);
}

/**
 * A token goes into a header, which cannot carry a line break or another control
 * character: undici refuses such a request before sending it, and every check of the run
 * failed as if Forgejo could not be reached. Said once, up front, without the token.
 */
function headerSafeToken(token: string, what: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(token))
    throw new UsageError(
      `the Forgejo token of ${what} holds a line break or another control character, which no HTTP header can carry; give the token alone, on one line`,
    );
  if (/[\u0100-\uffff]/.test(token))
    throw new UsageError(
      `the Forgejo token of ${what} holds a character beyond Latin-1 (such as €), which no HTTP header can carry; give the token as Forgejo issued it`,
    );
  return token;
}

/** Retry-After in ms: delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The resource an API path asks for below `/api/v1/repos/{owner}/{repo}` (`contents`,
 * `.pages`), its segments decoded; undefined for a path outside a repository's API.
 */
function repoResource(pathname: string, basePath: string): string[] | undefined {
  const prefix = `${basePath}/api/v1/repos/`;
  if (!pathname.startsWith(prefix)) return undefined;
  const parts = pathname.slice(prefix.length).split('/');
  if (parts.length < 3 || parts[0] === '' || parts[1] === '') return undefined;
  try {
    return parts.slice(2).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

function sameResource(asked: string[] | undefined, given: string[] | undefined): boolean {
  return asked !== undefined && given !== undefined && asked.length === given.length && asked.every((part, i) => part === given[i]);
}

/** A path segment; `.` and `..` are escaped so that no server reads them as a step up. */
function segment(name: string): string {
  return name === '.' || name === '..' ? name.replaceAll('.', '%2E') : encodeURIComponent(name);
}

/** The Forgejo API v1 as the source of truth, over one keep-alive connection pool. */
export class ForgejoSource implements SourceOfTruth {
  private readonly pool: Pool;
  private readonly limiter: RequestLimiter;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly headers: string[];
  private requests = 0;
  private apiProbe: Promise<ApiProbe> | undefined;
  private readonly timeout: number;
  private readonly retries: number;
  private readonly retryDelay: number;
  private readonly maxRetryAfter: number;
  private readonly telemetry: Telemetry;

  constructor(settings: ForgejoSettings) {
    const url = parseForgejoHost(settings.forgejoHost);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    const token = resolveToken(settings);
    // A flat list: undici takes it as is, where an object is walked key by key per request.
    this.headers = Object.entries({ ...BASE_HEADERS, ...(token ? { authorization: `token ${token}` } : {}) }).flat();
    const concurrency = settings.concurrency ?? 16;
    // One origin, one pool: redirects are followed only within it (send).
    this.pool = new (loadPool())(this.origin, { connections: concurrency, keepAliveTimeout: 30_000 });
    this.limiter = new RequestLimiter(concurrency, settings.rateLimit);
    this.timeout = settings.timeout ?? 10_000;
    this.retries = settings.retries ?? 3;
    this.retryDelay = settings.retryDelay ?? 250;
    this.maxRetryAfter = settings.maxRetryAfter ?? 60_000;
    this.telemetry = settings.telemetry ?? noTelemetry;
  }

  describe(): string {
    return this.origin + this.basePath;
  }

  requestCount(): number {
    return this.requests;
  }

  async pagesFile(owner: string, repo: string, signal?: AbortSignal): Promise<PagesFileLookup> {
    const what = `${owner}/${repo}/.pages`;
    const answer = await this.get(`/api/v1/repos/${segment(owner)}/${segment(repo)}/contents/.pages`, what, signal);
    if (answer.status === 404) return { found: false };
    let parsed: { type?: unknown; content?: unknown; encoding?: unknown; size?: unknown };
    try {
      parsed = JSON.parse(answer.body);
    } catch {
      throw new SourceError(`malformed answer for ${what}: not JSON`, 'malformed', 'malformed');
    }
    if (parsed?.type !== 'file' || typeof parsed.content !== 'string' || (parsed.encoding !== undefined && parsed.encoding !== 'base64')) {
      throw new SourceError(`malformed answer for ${what}: no base64 file content`, 'malformed', 'malformed');
    }
    const content = strictBase64(parsed.content);
    if (content === undefined) throw new SourceError(`malformed answer for ${what}: content is not valid base64`, 'malformed', 'malformed');
    if (typeof parsed.size === 'number' && parsed.size !== content.length) {
      throw new SourceError(
        `malformed answer for ${what}: content holds ${content.length} bytes, size says ${parsed.size}`,
        'malformed',
        'malformed',
      );
    }
    return { found: true, text: content.toString('utf8') };
  }

  async branchExists(owner: string, repo: string, branch: string, signal?: AbortSignal): Promise<boolean> {
    const path = `/api/v1/repos/${segment(owner)}/${segment(repo)}/branches/${branch.split('/').map(segment).join('/')}`;
    const what = `${owner}/${repo} branch ${branch}`;
    const answer = await this.get(path, what, signal);
    if (answer.status === 404) return false;
    let parsed: { name?: unknown };
    try {
      parsed = JSON.parse(answer.body);
    } catch {
      throw new SourceError(`malformed answer for ${what}: not JSON`, 'malformed', 'malformed');
    }
    if (typeof parsed?.name !== 'string') throw new SourceError(`malformed answer for ${what}: no branch name`, 'malformed', 'malformed');
    return true;
  }

  /** Drops whatever is still in flight: nothing is waiting for it any more. */
  async close(): Promise<void> {
    await this.pool.destroy();
  }

  /** 200 or 404, or a SourceError once retries are spent. */
  private async get(path: string, what: string, signal?: AbortSignal): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      let failure: SourceError;
      let waitHint: number | undefined;
      try {
        const answer = await this.limiter.run(() => this.send(path, what), signal);
        if (answer.status === 200) return answer;
        if (answer.status === 404) {
          if (isApiNotFound(answer)) return answer;
          throw this.notApiError(answer, what, await this.apiAtHost());
        }
        failure = this.statusError(answer.status, what);
        waitHint = answer.retryAfter;
        if (!RETRYABLE_STATUS.has(answer.status)) throw failure;
      } catch (error) {
        if (error instanceof SourceError) throw error;
        if (signal?.aborted) throw signal.reason;
        failure = this.transportError(error, what);
      }
      if (attempt >= this.retries) throw failure;
      if (waitHint !== undefined && waitHint > this.maxRetryAfter) {
        throw new SourceError(
          `${failure.message}; Retry-After ${Math.round(waitHint / 1000)} s is too long to wait`,
          failure.kind,
          failure.signature,
          failure.status,
        );
      }
      const backoff = Math.min(MAX_BACKOFF_MS, this.retryDelay * 2 ** attempt) * (0.5 + Math.random());
      await sleep(Math.max(waitHint ?? 0, backoff), signal);
    }
  }

  /**
   * One GET, following redirects within the configured origin (renamed repositories
   * answer 301). Redirects are followed here rather than by undici's interceptor, which
   * costs more per request than the rest of the client; one to another origin fails.
   */
  private async send(path: string, what: string): Promise<SentAnswer> {
    let target = this.basePath + path;
    for (let redirects = 0; ; redirects++) {
      this.requests++;
      const started = performance.now();
      // The run's signal is not handed to undici: a listener per request on one long-lived
      // signal keeps every finished request reachable until the run ends. Requests in
      // flight end by undici's own timers; `close()` drops them when the run is over.
      let answer: RawAnswer;
      try {
        answer = await dispatchGet(
          this.pool,
          { path: target, method: 'GET', headers: this.headers, headersTimeout: this.timeout, bodyTimeout: this.timeout },
          this.timeout,
        );
      } catch (error) {
        this.telemetry.requestObserved('error', (performance.now() - started) / 1000);
        throw error;
      }
      this.telemetry.requestObserved(answer.status, (performance.now() - started) / 1000);
      if (REDIRECT_STATUS.has(answer.status) && answer.location !== undefined && redirects < MAX_REDIRECTS) {
        const next = new URL(answer.location, this.origin + target);
        if (next.origin !== this.origin) throw this.crossOriginError(next);
        if (!sameResource(repoResource(this.basePath + path, this.basePath), repoResource(next.pathname, this.basePath))) {
          throw this.elsewhereError(answer.status, next, what);
        }
        target = next.pathname + next.search;
        continue;
      }
      return { status: answer.status, body: answer.body, retryAfter: retryAfterMs(answer.retryAfter), contentType: answer.contentType };
    }
  }

  /**
   * Only answers from the configured origin, asked with the configured token, prove
   * anything (DESIGN §3): another origin never gets the token, so a private repository
   * would answer it 404. The fix is to configure the origin the API lives at.
   */
  private crossOriginError(next: URL): SourceError {
    const target = next.origin + (this.basePath && next.pathname.startsWith(`${this.basePath}/`) ? this.basePath : '');
    return new SourceError(
      `the Forgejo API at ${this.describe()} redirects to another origin, ${next.origin}: answers from there prove nothing (the token is never sent to another origin); set --forgejo-host ${target}`,
      'misconfigured',
      `redirect:${next.origin}`,
    );
  }

  /**
   * A redirect within the origin but away from the repository's resource (a login page in
   * front of the API, an SSO proxy): what answers there, a 404 included, says nothing of
   * the repository. Followed, that 404 read as "the .pages file is gone" and live sites
   * were reaped; a renamed repository redirects to the same resource under its new name.
   */
  private elsewhereError(status: number, next: URL, what: string): SourceError {
    return new SourceError(
      `Forgejo answered ${status} for ${what} with a redirect to ${next.pathname}, away from the repository API: an answer from there proves nothing (a login page in front of the API?)`,
      'http',
      'redirect:elsewhere',
      status,
    );
  }

  /**
   * Whether Forgejo's API answers at the configured URL: asked once, and only when a 404
   * does not look like the API's own (a web page), to say why. A 404 page comes from
   * outside the API: from Forgejo's web pages when --forgejo-host names a path it is not
   * served under (every repository answers so, and every site would look gone), or from a
   * proxy in front of it while Forgejo is away (Traefik's `404 page not found` when no
   * router matches: a live site among the others would look gone).
   */
  private apiAtHost(): Promise<ApiProbe> {
    this.apiProbe ??= this.send('/api/v1/version', 'the API version').then(apiProbeOf, () => 'unknown' as const);
    return this.apiProbe;
  }

  private notApiError(answer: SentAnswer, what: string, api: ApiProbe): SourceError {
    const page = answer.contentType ? `a ${answer.contentType.split(';')[0].trim()} page` : 'a page';
    const said = `Forgejo answered 404 for ${what} with ${page}, not the API's JSON: a 404 from outside the API proves nothing`;
    if (api === 'there')
      return new SourceError(`${said} (a proxy in front of Forgejo, while Forgejo is away?)`, 'http', 'http:404-page', 404);
    if (api === 'unknown')
      return new SourceError(`${said} (and ${this.describe()}/api/v1/version did not answer)`, 'http', 'http:404-page', 404);
    return new SourceError(
      `${said}, and ${this.describe()}/api/v1/version is not Forgejo's API either; check that --forgejo-host is the URL Forgejo is served at`,
      'misconfigured',
      'http:404-outside-api',
      404,
      true,
    );
  }

  private statusError(status: number, what: string): SourceError {
    if (status === 401)
      return new SourceError(
        `Forgejo answered 401 Unauthorized for ${what}: the token is missing, wrong or revoked`,
        'auth',
        'http:401',
        status,
      );
    if (status === 403)
      return new SourceError(`Forgejo answered 403 Forbidden for ${what}: the token lacks read access`, 'auth', 'http:403', status);
    if (status === 429) return new SourceError(`Forgejo answered 429 Too Many Requests for ${what}`, 'rate-limited', 'http:429', status);
    if (status >= 500) return new SourceError(`Forgejo answered ${status} for ${what}`, 'server', `http:${status}`, status);
    return new SourceError(`Forgejo answered ${status} for ${what}`, 'http', `http:${status}`, status);
  }

  private transportError(error: unknown, what: string): SourceError {
    const err = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    if (
      err?.name === 'TimeoutError' ||
      err?.name === 'AbortError' ||
      err?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
      err?.code === 'UND_ERR_BODY_TIMEOUT'
    ) {
      return new SourceError(`Forgejo did not answer within ${this.timeout / 1000} s for ${what}`, 'timeout', 'timeout');
    }
    const code = err?.code ?? err?.cause?.code ?? err?.name ?? 'error';
    return new SourceError(
      `cannot reach Forgejo at ${this.describe()} for ${what}: ${code}`,
      'network',
      `network:${code}`,
      undefined,
      HOST_UNREACHABLE.test(code),
    );
  }
}

export const sourcePlugin: SourcePlugin = {
  name: 'forgejo',
  create: async (settings: PluginSettings) => new ForgejoSource(settings as unknown as ForgejoSettings),
};
