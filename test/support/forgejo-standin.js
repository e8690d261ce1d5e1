'use strict';
/**
 * A stand-in for the parts of the Forgejo API v1 that pages-reaper reads:
 * repositories, the `.pages` file and branches, answered with Forgejo's shapes.
 * Failures can be injected on demand, and request statistics are kept for tests
 * and benchmarks. Run it as a script to serve a seeded instance (see `main`).
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const { parseArgs } = require('node:util');

/**
 * @typedef {object} StandinOptions
 * @property {number} [port] port on 127.0.0.1; 0 (default) picks a free one
 * @property {number} [latencyMs] fixed latency added to every request
 * @property {boolean} [log] keep a log entry per request (default true; the benchmark's million requests need none)
 * @property {string} [token] when set, every request must carry `token <T>` or `Bearer <T>`
 */

/**
 * @typedef {object} RepoOptions
 * @property {string} [pages] raw text of the `.pages` file; undefined = no such file
 * @property {string[]} [branches] default `['main']`; the first is the default branch
 * @property {boolean} [private]
 */

/**
 * A rule that makes matching requests misbehave. A rule that sets nothing but
 * `delayMs` only delays the normal answer; any other rule replaces the answer.
 * @typedef {object} FailureRule
 * @property {string | RegExp | ((path: string) => boolean)} [match] substring of, pattern for
 *   or predicate on the request path (query excluded); absent = every request
 * @property {number} [status] default 500
 * @property {number} [times] how many requests it applies to
 * @property {number | string} [retryAfter] sent as `Retry-After`
 * @property {string} [body] replaces the default Forgejo-like JSON error body
 * @property {string} [contentType] its Content-Type (a proxy's `text/plain` page), JSON unless given
 * @property {boolean} [hang] never answer
 * @property {number} [delayMs] extra latency before answering
 * @property {boolean} [malformed] answer 200 with a truncated JSON body
 * @property {boolean} [destroy] destroy the socket without answering
 * @property {string} [redirectTo] answer `status` (default 301) with `Location` = this
 *   origin + the request's path and query, as a host that moved does
 * @property {string} [content] answer 200 with a `.pages` contents body whose `content`
 *   is this text as is (malformed base64, say); `size` is left out unless `size` is set
 * @property {number} [size] the `size` sent with `content`
 * @property {() => Promise<void>} [before] runs before the answer (the plugin writing
 *   to the store while the reaper waits, say); the answer is the normal one unless
 *   the rule sets more
 */

/**
 * @typedef {object} RequestLogEntry
 * @property {string} method
 * @property {string} path
 * @property {boolean} authorization whether an Authorization header was sent (never its value)
 * @property {number | null} status null while unanswered, or when hung or destroyed
 */

/**
 * @typedef {object} StandinStats
 * @property {number} requests
 * @property {Record<string, number>} byPath request count per path (query excluded)
 * @property {number} inFlight
 * @property {number} maxInFlight
 * @property {number} authHeaders requests that carried an Authorization header
 */

/**
 * @typedef {object} Repo
 * @property {number} id
 * @property {string} owner
 * @property {string} name
 * @property {boolean} private
 * @property {string[]} branches
 * @property {string | undefined} pages
 * @property {number} revision bumped on every change so commit ids move like real ones
 * @property {string} createdAt
 * @property {string} updatedAt
 */

const JSON_TYPE = 'application/json;charset=utf-8';

const key = (/** @type {string} */ owner, /** @type {string} */ repo) => `${owner.toLowerCase()}/${repo.toLowerCase()}`;
const sha1 = (/** @type {string} */ text) => crypto.createHash('sha1').update(text).digest('hex');
const gitBlobSha = (/** @type {string} */ text) => sha1(`blob ${Buffer.byteLength(text)}\0${text}`);
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * @param {StandinOptions} [options]
 */
async function startForgejoStandin(options = {}) {
  const latencyMs = options.latencyMs ?? 0;
  const token = options.token;

  /** @type {Map<string, Repo>} */
  const repos = new Map();
  /** Old owner/repo key → the renamed repo, so chains of renames resolve to its current name. */
  /** @type {Map<string, Repo>} */
  const redirects = new Map();
  /** @type {Map<string, number>} */
  const ownerIds = new Map();
  let nextRepoId = 1;

  /** @type {Array<FailureRule & { times: number }>} */
  let failures = [];

  let requests = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let authHeaders = 0;
  /** @type {Map<string, number>} */
  const byPath = new Map();
  /** @type {RequestLogEntry[]} */
  const requestLog = [];

  /** @type {Set<NodeJS.Timeout>} */
  const timers = new Set();

  const server = http.createServer(handle);
  // The benchmark reuses keep-alive connections; hung requests must stay hung.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.requestTimeout = 0;

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve(undefined));
  });
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  const url = `http://127.0.0.1:${address.port}`;
  const api = `${url}/api/v1`;
  const swaggerUrl = `${url}/api/swagger`;

  /** @param {string} owner @param {string} name */
  function mustGet(owner, name) {
    const repo = repos.get(key(owner, name));
    if (!repo) throw new Error(`forgejo stand-in: no repository ${owner}/${name}`);
    return repo;
  }

  /** @param {string} login */
  function ownerId(login) {
    const k = login.toLowerCase();
    if (!ownerIds.has(k)) ownerIds.set(k, ownerIds.size + 1);
    return /** @type {number} */ (ownerIds.get(k));
  }

  /** @param {Repo} repo */
  const touch = (repo) => {
    repo.revision++;
    repo.updatedAt = now();
  };

  /** @param {Repo} repo @param {string} branch */
  const commitId = (repo, branch) => sha1(`${repo.id}:${branch}:${repo.revision}`);

  /** @param {string | undefined} header */
  function authenticated(header) {
    // Forgejo accepts a lowercase `token` scheme and a case-insensitive `Bearer` one.
    const m = header ? /^(token|[Bb][Ee][Aa][Rr][Ee][Rr])\s+(\S+)\s*$/.exec(header) : null;
    if (!m) return false;
    return token === undefined || m[2] === token;
  }

  /** @param {string} path */
  function takeFailure(path) {
    const i = failures.findIndex(({ match }) =>
      match === undefined
        ? true
        : typeof match === 'string'
          ? path.includes(match)
          : match instanceof RegExp
            ? match.test(path)
            : match(path),
    );
    if (i === -1) return undefined;
    const rule = failures[i];
    if (--rule.times <= 0) failures.splice(i, 1);
    return rule;
  }

  /**
   * @param {http.ServerResponse} res
   * @param {RequestLogEntry} entry
   * @param {number} status
   * @param {Record<string, string | number>} headers
   * @param {string} [body]
   */
  function send(res, entry, status, headers, body = '') {
    if (!res.socket || res.socket.destroyed) return;
    entry.status = status;
    res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  /** @param {http.ServerResponse} res @param {RequestLogEntry} entry @param {number} status @param {unknown} value */
  const sendJson = (res, entry, status, value) => send(res, entry, status, { 'Content-Type': JSON_TYPE }, JSON.stringify(value));

  /** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
  function handle(req, res) {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.once('close', () => inFlight--);

    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const path = q === -1 ? target : target.slice(0, q);
    const query = q === -1 ? '' : target.slice(q);
    const hasAuth = req.headers.authorization !== undefined;

    requests++;
    byPath.set(path, (byPath.get(path) ?? 0) + 1);
    if (hasAuth) authHeaders++;
    /** @type {RequestLogEntry} */
    const entry = { method: req.method ?? 'GET', path, authorization: hasAuth, status: null };
    if (options.log !== false) requestLog.push(entry);

    const rule = takeFailure(path);
    const delay = latencyMs + (rule?.delayMs ?? 0);
    const respond = () =>
      rule ? fail(req, res, entry, rule, () => route(req, res, entry, path, query)) : route(req, res, entry, path, query);
    const answer = rule?.before
      ? () => {
          rule.before?.().then(respond, (/** @type {Error} */ err) => {
            entry.status = 599;
            res.destroy(err);
          });
        }
      : respond;
    if (delay > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, delay);
      timers.add(timer);
    } else {
      answer();
    }
  }

  /**
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   * @param {RequestLogEntry} entry
   * @param {FailureRule} rule
   * @param {() => void} normally
   */
  function fail(req, res, entry, rule, normally) {
    if (rule.hang) return;
    if (rule.destroy) {
      req.socket.destroy();
      return;
    }
    /** @type {Record<string, string | number>} */
    const headers = { 'Content-Type': rule.contentType ?? JSON_TYPE };
    if (rule.retryAfter !== undefined) headers['Retry-After'] = rule.retryAfter;
    if (rule.malformed) {
      send(res, entry, 200, headers, '{"id":1,"name":"pages","full_name":"owner/pa');
      return;
    }
    if (rule.redirectTo !== undefined) {
      send(res, entry, rule.status ?? 301, { Location: `${rule.redirectTo}${req.url ?? '/'}` });
      return;
    }
    if (rule.content !== undefined) {
      const body = {
        name: '.pages',
        path: '.pages',
        type: 'file',
        encoding: 'base64',
        content: rule.content,
        ...(rule.size === undefined ? {} : { size: rule.size }),
      };
      send(res, entry, 200, headers, JSON.stringify(body));
      return;
    }
    const onlyDelays = rule.status === undefined && rule.body === undefined && rule.retryAfter === undefined;
    if (onlyDelays && (rule.delayMs !== undefined || rule.before !== undefined)) {
      normally();
      return;
    }
    const status = rule.status ?? 500;
    const message = status >= 500 ? 'internal error' : (http.STATUS_CODES[status] ?? 'error');
    send(res, entry, status, headers, rule.body ?? JSON.stringify({ message, url: swaggerUrl }));
  }

  /**
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   * @param {RequestLogEntry} entry
   * @param {string} path
   * @param {string} query
   */
  function route(req, res, entry, path, query) {
    const authed = authenticated(req.headers.authorization);
    if (token !== undefined && !authed) {
      sendJson(res, entry, 401, { message: 'token is required', url: swaggerUrl });
      return;
    }
    const notFound = () => sendJson(res, entry, 404, { message: 'not found' });
    const targetNotFound = () => sendJson(res, entry, 404, { errors: [], message: "The target couldn't be found.", url: swaggerUrl });

    const raw = path.split('/');
    if (req.method === 'GET' && path === '/api/v1/version') {
      sendJson(res, entry, 200, { version: '11.0.0+standin' });
      return;
    }
    if (raw[1] !== 'api') {
      // Outside the API Forgejo serves its web pages: a path it does not know is an HTML page.
      send(res, entry, 404, { 'content-type': 'text/html; charset=utf-8' }, '<!DOCTYPE html><html><body>Page Not Found</body></html>');
      return;
    }
    if (req.method !== 'GET' || raw.length < 6 || raw[2] !== 'v1' || raw[3] !== 'repos') {
      notFound();
      return;
    }
    /** @type {string[]} */
    let segments;
    try {
      segments = raw.map(decodeURIComponent);
    } catch {
      notFound();
      return;
    }
    const [owner, name, resource, ...rest] = segments.slice(4);

    const repo = repos.get(key(owner, name));
    if (!repo) {
      const renamed = redirects.get(key(owner, name));
      if (!renamed) {
        targetNotFound();
        return;
      }
      const location =
        ['', 'api', 'v1', 'repos', encodeURIComponent(renamed.owner), encodeURIComponent(renamed.name), ...raw.slice(6)].join('/') + query;
      send(res, entry, 301, { Location: location });
      return;
    }
    if (repo.private && !authed) {
      targetNotFound();
      return;
    }

    if (resource === undefined) {
      sendJson(res, entry, 200, repoJson(repo));
    } else if (resource === 'contents' && rest.length > 0) {
      const filepath = rest.join('/');
      if (filepath === '.pages' && repo.pages !== undefined) {
        sendJson(res, entry, 200, contentsJson(repo, filepath, repo.pages));
      } else {
        sendJson(res, entry, 404, {
          errors: [`object does not exist [id: , rel_path: ${filepath}]`],
          message: 'GetContentsOrList',
          url: swaggerUrl,
        });
      }
    } else if (resource === 'branches' && rest.length > 0) {
      const branch = rest.join('/');
      if (repo.branches.includes(branch)) {
        sendJson(res, entry, 200, branchJson(repo, branch));
      } else {
        sendJson(res, entry, 404, { errors: [], message: `branch does not exist [name: ${branch}]`, url: swaggerUrl });
      }
    } else {
      notFound();
    }
  }

  /** @param {string} login */
  function userJson(login) {
    return {
      id: ownerId(login),
      login,
      login_name: '',
      source_id: 0,
      full_name: '',
      email: `${login.toLowerCase()}@noreply.localhost`,
      avatar_url: `${url}/avatars/${sha1(login.toLowerCase())}`,
      html_url: `${url}/${login}`,
      language: '',
      is_admin: false,
      last_login: '0001-01-01T00:00:00Z',
      created: '2024-01-01T00:00:00Z',
      restricted: false,
      active: false,
      prohibit_login: false,
      location: '',
      pronouns: '',
      website: '',
      description: '',
      visibility: 'public',
      followers_count: 0,
      following_count: 0,
      starred_repos_count: 0,
      username: login,
    };
  }

  /** @param {Repo} repo */
  function repoJson(repo) {
    const fullName = `${repo.owner}/${repo.name}`;
    const htmlUrl = `${url}/${fullName}`;
    return {
      id: repo.id,
      owner: userJson(repo.owner),
      name: repo.name,
      full_name: fullName,
      description: '',
      empty: repo.branches.length === 0,
      private: repo.private,
      fork: false,
      template: false,
      parent: null,
      mirror: false,
      size: 24,
      language: '',
      languages_url: `${api}/repos/${fullName}/languages`,
      html_url: htmlUrl,
      url: `${api}/repos/${fullName}`,
      link: '',
      ssh_url: `git@127.0.0.1:${fullName}.git`,
      clone_url: `${htmlUrl}.git`,
      original_url: '',
      website: '',
      stars_count: 0,
      forks_count: 0,
      watchers_count: 1,
      open_issues_count: 0,
      open_pr_counter: 0,
      release_counter: 0,
      default_branch: repo.branches[0] ?? 'main',
      archived: false,
      created_at: repo.createdAt,
      updated_at: repo.updatedAt,
      archived_at: '1970-01-01T00:00:00Z',
      permissions: { admin: false, push: false, pull: true },
      has_issues: true,
      has_wiki: true,
      has_pull_requests: true,
      has_projects: true,
      has_releases: true,
      has_packages: true,
      has_actions: false,
      ignore_whitespace_conflicts: false,
      allow_merge_commits: true,
      allow_rebase: true,
      allow_rebase_explicit: true,
      allow_squash_merge: true,
      allow_rebase_update: true,
      default_delete_branch_after_merge: false,
      default_merge_style: 'merge',
      default_allow_maintainer_edit: false,
      avatar_url: '',
      internal: false,
      mirror_interval: '',
      object_format_name: 'sha1',
      mirror_updated: '0001-01-01T00:00:00Z',
      repo_transfer: null,
    };
  }

  /** @param {Repo} repo @param {string} filepath @param {string} text */
  function contentsJson(repo, filepath, text) {
    const fullName = `${repo.owner}/${repo.name}`;
    const branch = repo.branches[0] ?? 'main';
    const sha = gitBlobSha(text);
    const self = `${api}/repos/${fullName}/contents/${filepath}?ref=${branch}`;
    const gitUrl = `${api}/repos/${fullName}/git/blobs/${sha}`;
    const htmlUrl = `${url}/${fullName}/src/branch/${branch}/${filepath}`;
    return {
      name: filepath.slice(filepath.lastIndexOf('/') + 1),
      path: filepath,
      sha,
      last_commit_sha: commitId(repo, branch),
      type: 'file',
      size: Buffer.byteLength(text),
      encoding: 'base64',
      content: Buffer.from(text).toString('base64'),
      target: null,
      url: self,
      html_url: htmlUrl,
      git_url: gitUrl,
      download_url: `${url}/${fullName}/raw/branch/${branch}/${filepath}`,
      submodule_git_url: null,
      _links: { self, git: gitUrl, html: htmlUrl },
    };
  }

  /** @param {Repo} repo @param {string} branch */
  function branchJson(repo, branch) {
    const id = commitId(repo, branch);
    const person = { name: repo.owner, email: `${repo.owner.toLowerCase()}@noreply.localhost`, username: repo.owner };
    return {
      name: branch,
      commit: {
        id,
        message: 'Update .pages\n',
        url: `${url}/${repo.owner}/${repo.name}/commit/${id}`,
        author: person,
        committer: person,
        verification: {
          verified: false,
          reason: 'gpg.error.not_signed_commit',
          signature: '',
          signer: null,
          payload: '',
        },
        timestamp: repo.updatedAt.replace('Z', '+00:00'),
        added: null,
        removed: null,
        modified: null,
      },
      protected: false,
      required_approvals: 0,
      enable_status_check: false,
      status_check_contexts: [],
      user_can_push: false,
      user_can_merge: false,
      effective_branch_protection_name: '',
    };
  }

  // ---- Webhooks: deliveries sent as Forgejo's services/webhook/deliver.go sends them ----

  /** @type {Array<{url: string, secret: string}>} */
  const hooks = [];
  const hookAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  /** @param {Repo} repo */
  function pusherJson(repo) {
    return userJson(repo.owner);
  }

  /** @param {Repo} repo @param {string} branch @param {{added?: string[], removed?: string[], modified?: string[]}} change */
  function payloadCommit(repo, branch, change) {
    const id = commitId(repo, branch);
    const person = { name: repo.owner, email: `${repo.owner.toLowerCase()}@noreply.localhost`, username: repo.owner };
    return {
      id,
      message: 'Update .pages\n',
      url: `${url}/${repo.owner}/${repo.name}/commit/${id}`,
      author: person,
      committer: person,
      verification: null,
      timestamp: repo.updatedAt.replace('Z', '+00:00'),
      added: change.added ?? [],
      removed: change.removed ?? [],
      modified: change.modified ?? [],
    };
  }

  /**
   * Forgejo's payloads (modules/structs/hook.go): RepositoryPayload, PushPayload, DeletePayload.
   */
  const build = {
    /** @param {Repo} repo @param {'created' | 'deleted'} action */
    repository(repo, action) {
      return { action, repository: repoJson(repo), organization: userJson(repo.owner), sender: pusherJson(repo) };
    },
    /**
     * @param {Repo} repo @param {string} branch @param {string} before
     * @param {Array<{added?: string[], removed?: string[], modified?: string[]}>} changes
     */
    push(repo, branch, before, changes) {
      const commits = changes.map((change) => payloadCommit(repo, branch, change));
      const after = commits.length > 0 ? commits[commits.length - 1].id : commitId(repo, branch);
      return {
        ref: `refs/heads/${branch}`,
        before,
        after,
        compare_url: `${url}/${repo.owner}/${repo.name}/compare/${before.slice(0, 10)}...${after.slice(0, 10)}`,
        commits,
        total_commits: commits.length,
        head_commit: commits[commits.length - 1] ?? null,
        repository: repoJson(repo),
        pusher: pusherJson(repo),
        sender: pusherJson(repo),
      };
    },
    /** @param {Repo} repo @param {string} ref @param {'branch' | 'tag'} refType */
    delete(repo, ref, refType) {
      return { ref, ref_type: refType, pusher_type: 'user', repository: repoJson(repo), sender: pusherJson(repo) };
    },
  };

  /** The same payloads for an existing repository by name, to send by hand (replays, forgeries). */
  const payloads = {
    /** @param {string} owner @param {string} name @param {'created' | 'deleted'} action */
    repository: (owner, name, action) => build.repository(mustGet(owner, name), action),
    /** @param {string} owner @param {string} name @param {string} branch @param {string} before @param {Array<{added?: string[], removed?: string[], modified?: string[]}>} changes */
    push: (owner, name, branch, before, changes) => build.push(mustGet(owner, name), branch, before, changes),
    /** @param {string} owner @param {string} name @param {string} ref @param {'branch' | 'tag'} refType */
    delete: (owner, name, ref, refType) => build.delete(mustGet(owner, name), ref, refType),
  };

  /**
   * @typedef {object} DeliveryOptions
   * @property {string} [url] send here instead of every registered hook
   * @property {string} [secret] sign with this secret (default: the hook's)
   * @property {string | null} [signature] send this signature (null: none at all)
   * @property {Buffer | string} [body] send these bytes instead of the JSON payload
   * @property {string} [contentType]
   * @property {boolean} [giteaOnly] send only the X-Gitea-* headers (a Gitea instance)
   * @property {string} [id] the delivery's id (default: a fresh UUID)
   */

  /**
   * Sends one delivery to every registered hook (or `options.url`), with Forgejo's headers:
   * X-Forgejo-/X-Gitea-/X-Gogs- Delivery, Event, Event-Type and Signature (bare hex
   * HMAC-SHA256 of the body under the secret), X-Hub-Signature-256, Content-Type.
   * @param {string} event @param {unknown} payload @param {DeliveryOptions} [options]
   * @returns {Promise<Array<{status: number, body: string, id: string}>>}
   */
  async function deliver(event, payload, options = {}) {
    const targets = options.url ? [{ url: options.url, secret: options.secret ?? '' }] : hooks;
    const body = Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body ?? JSON.stringify(payload, null, '  '), 'utf8');
    return Promise.all(
      targets.map(async (hook) => {
        const id = options.id ?? crypto.randomUUID();
        const secret = options.secret ?? hook.secret;
        const signature =
          options.signature === undefined
            ? secret
              ? crypto.createHmac('sha256', secret).update(body).digest('hex')
              : ''
            : options.signature;
        /** @type {Record<string, string>} */
        const headers = {
          'User-Agent': 'Go-http-client/1.1',
          'Content-Type': options.contentType ?? 'application/json',
          'Content-Length': String(body.length),
          'X-Gitea-Delivery': id,
          'X-Gitea-Event': event,
          'X-Gitea-Event-Type': event,
          'X-Gogs-Delivery': id,
          'X-Gogs-Event': event,
          'X-Gogs-Event-Type': event,
        };
        if (!options.giteaOnly)
          Object.assign(headers, { 'X-Forgejo-Delivery': id, 'X-Forgejo-Event': event, 'X-Forgejo-Event-Type': event });
        if (signature !== null && signature !== '') {
          headers['X-Gitea-Signature'] = signature;
          headers['X-Gogs-Signature'] = signature;
          headers['X-Hub-Signature-256'] = `sha256=${signature}`;
          if (!options.giteaOnly) headers['X-Forgejo-Signature'] = signature;
        }
        const { status, text } = await post(hook.url, headers, body);
        return { status, body: text, id };
      }),
    );
  }

  /** @param {string} target @param {Record<string, string>} headers @param {Buffer} body */
  function post(target, headers, body) {
    return new Promise((resolve, reject) => {
      const req = http.request(target, { method: 'POST', headers, agent: hookAgent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: /** @type {number} */ (res.statusCode), text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** @type {Promise<void> | undefined} */
  let closing;

  return {
    url,
    requestLog,
    payloads,
    deliver,

    /** Registers a hook (a system webhook): every `…AndNotify` change is delivered to it. */
    addWebhook(/** @type {{url: string, secret: string}} */ hook) {
      hooks.push(hook);
    },

    clearWebhooks() {
      hooks.length = 0;
    },

    /** The repository as the API shows it, for building payloads by hand. @param {string} owner @param {string} name */
    repoJson(owner, name) {
      return repoJson(mustGet(owner, name));
    },

    /** Deletes the repository, then delivers `repository` with action `deleted`. @param {string} owner @param {string} name */
    async deleteRepoAndNotify(owner, name) {
      const repo = mustGet(owner, name);
      const payload = build.repository(repo, 'deleted');
      this.deleteRepo(owner, name);
      return deliver('repository', payload);
    },

    /** Creates the repository, then delivers `repository` with action `created`. @param {string} owner @param {string} name @param {RepoOptions} [repoOptions] */
    async createRepoAndNotify(owner, name, repoOptions) {
      this.setRepo(owner, name, repoOptions);
      return deliver('repository', build.repository(mustGet(owner, name), 'created'));
    },

    /**
     * Commits `.pages` (undefined: removes it) to the default branch, then delivers the `push`
     * whose commit adds, modifies or removes `.pages`.
     * @param {string} owner @param {string} name @param {string | undefined} text
     */
    async pushPagesAndNotify(owner, name, text) {
      const repo = mustGet(owner, name);
      const branch = repo.branches[0] ?? 'main';
      const before = commitId(repo, branch);
      const had = repo.pages !== undefined;
      this.setPages(owner, name, text);
      const change = text === undefined ? { removed: ['.pages'] } : had ? { modified: ['.pages'] } : { added: ['.pages'] };
      return deliver('push', build.push(repo, branch, before, [change]));
    },

    /** A push that touches other files only. @param {string} owner @param {string} name @param {string} [branch] */
    async pushOtherAndNotify(owner, name, branch) {
      const repo = mustGet(owner, name);
      const on = branch ?? repo.branches[0] ?? 'main';
      const before = commitId(repo, on);
      touch(repo);
      return deliver('push', build.push(repo, on, before, [{ modified: ['index.html'] }]));
    },

    /** Deletes a branch, then delivers `delete` with ref_type `branch`. @param {string} owner @param {string} name @param {string} branch */
    async deleteBranchAndNotify(owner, name, branch) {
      const repo = mustGet(owner, name);
      this.setBranches(
        owner,
        name,
        repo.branches.filter((b) => b !== branch),
      );
      return deliver('delete', build.delete(repo, branch, 'branch'));
    },

    /** @param {string} owner @param {string} name @param {RepoOptions} [repoOptions] */
    setRepo(owner, name, repoOptions = {}) {
      const k = key(owner, name);
      const existing = repos.get(k);
      const stamp = now();
      repos.set(k, {
        id: existing?.id ?? nextRepoId++,
        owner,
        name,
        private: repoOptions.private ?? false,
        branches: [...(repoOptions.branches ?? ['main'])],
        pages: repoOptions.pages,
        revision: (existing?.revision ?? 0) + 1,
        createdAt: existing?.createdAt ?? stamp,
        updatedAt: stamp,
      });
      // A repository created under a renamed repository's old name shadows the redirect.
      redirects.delete(k);
    },

    /** @param {string} owner @param {string} name */
    deleteRepo(owner, name) {
      const repo = repos.get(key(owner, name));
      if (!repo) return;
      repos.delete(key(owner, name));
      for (const [k, target] of redirects) if (target === repo) redirects.delete(k);
    },

    /** @param {string} oldOwner @param {string} oldName @param {string} newOwner @param {string} newName */
    renameRepo(oldOwner, oldName, newOwner, newName) {
      const repo = mustGet(oldOwner, oldName);
      const newKey = key(newOwner, newName);
      const oldKey = key(oldOwner, oldName);
      if (newKey !== oldKey && repos.has(newKey)) {
        throw new Error(`forgejo stand-in: ${newOwner}/${newName} already exists`);
      }
      repos.delete(oldKey);
      repo.owner = newOwner;
      repo.name = newName;
      repos.set(newKey, repo);
      redirects.delete(newKey);
      if (newKey !== oldKey) redirects.set(oldKey, repo);
      touch(repo);
    },

    /** @param {string} owner @param {string} name @param {string | undefined} text */
    setPages(owner, name, text) {
      const repo = mustGet(owner, name);
      repo.pages = text;
      touch(repo);
    },

    /** @param {string} owner @param {string} name @param {string[]} branches */
    setBranches(owner, name, branches) {
      const repo = mustGet(owner, name);
      repo.branches = [...branches];
      touch(repo);
    },

    /**
     * Adds a rule checked before all others; it applies once unless `times` says otherwise.
     * @param {FailureRule} rule
     */
    failNext(rule) {
      failures.unshift({ ...rule, times: rule.times ?? 1 });
    },

    /**
     * Adds a rule checked after the existing ones; it applies forever unless `times` says otherwise.
     * @param {FailureRule} rule
     */
    addFailure(rule) {
      failures.push({ ...rule, times: rule.times ?? Infinity });
    },

    clearFailures() {
      failures = [];
    },

    /** @returns {StandinStats} */
    stats() {
      return { requests, byPath: Object.fromEntries(byPath), inFlight, maxInFlight, authHeaders };
    },

    resetStats() {
      requests = 0;
      authHeaders = 0;
      maxInFlight = inFlight;
      byPath.clear();
      requestLog.length = 0;
    },

    /** Stops listening and destroys every connection, hung ones included. */
    close() {
      closing ??= new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        hookAgent.destroy();
        server.close(() => resolve(undefined));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** @typedef {Awaited<ReturnType<typeof startForgejoStandin>>} ForgejoStandin */

/**
 * `node test/support/forgejo-standin.js [--port P] [--latency-ms L] [--seed FILE] [--token T]`
 * prints `{"url": ...}` once listening and serves until SIGTERM or SIGINT.
 */
const USAGE =
  'usage: node test/support/forgejo-standin.js [--port P] [--latency-ms L] [--seed FILE] [--token T]\n' +
  '  --seed: a JSON array of { owner, repo, pages?, branches?, private? }; prints {"url": ...} once listening.\n' +
  '  Answers and failures on demand are set through startForgejoStandin() (module use).\n';

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '0' },
        'latency-ms': { type: 'string', default: '0' },
        seed: { type: 'string' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`forgejo-standin: ${error.message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const port = Number(values.port);
  const latencyMs = Number(values['latency-ms']);
  if (!Number.isInteger(port) || !(latencyMs >= 0)) throw new Error('--port and --latency-ms take numbers');

  // Served as a script (the benchmark, the demo), nothing reads the request log.
  const standin = await startForgejoStandin({ port, latencyMs, token: values.token, log: false });
  if (values.seed) {
    /** @type {Array<{ owner: string, repo: string, pages?: string | null, branches?: string[], private?: boolean }>} */
    const seed = JSON.parse(fs.readFileSync(values.seed, 'utf8'));
    for (const r of seed) {
      standin.setRepo(r.owner, r.repo, { pages: r.pages ?? undefined, branches: r.branches, private: r.private });
    }
  }
  process.stdout.write(`${JSON.stringify({ url: standin.url })}\n`);

  const stop = () => standin.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { startForgejoStandin };
