// Writes keys exactly as the pages plugin does (pages.go registerCustomDomain,
// registerBranchSubdomains, registerTraefikRouter; redirects.go), so tests, the demo
// and the benchmark all start from the same realistic data.
'use strict';

/** @param {string} domain */
function sanitize(domain) {
  return domain.replaceAll('.', '-');
}

/** The plugin's sanitizeBranchForSubdomain. @param {string} branch */
function branchLabel(branch) {
  let label = branch
    .toLowerCase()
    .replace(/[/_.]/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
  if (label.length > 63) label = label.slice(0, 63).replace(/-+$/, '');
  return /^[a-z0-9]/.test(label) ? label : '';
}

/**
 * The router keys the plugin writes for one domain.
 * @param {string} domain
 * @param {{rootKey?: string, certResolver?: string, redirectCount?: number}} [options]
 * @returns {Record<string, string>}
 */
function routerEntries(domain, options = {}) {
  const root = options.rootKey ?? 'traefik';
  const prefix = `${root}/http/routers/custom-${sanitize(domain)}/`;
  /** @type {Record<string, string>} */
  const entries = {
    [`${prefix}rule`]: `Host(\`${domain}\`)`,
    [`${prefix}entryPoints/0`]: 'web',
    [`${prefix}entryPoints/1`]: 'websecure',
    [`${prefix}service`]: 'noop@internal',
    [`${prefix}tls/certResolver`]: options.certResolver ?? 'letsencrypt-http',
    [`${prefix}priority`]: '10',
  };
  const redirects = options.redirectCount ?? 0;
  for (let i = 0; i < redirects; i++) entries[`${prefix}middlewares/${i}`] = `redirects-${sanitize(domain)}-${i}@redis`;
  entries[`${prefix}middlewares/${redirects}`] = 'pages-server@file';
  return entries;
}

/**
 * Every key the plugin writes for a site with a custom domain, its enabled branches
 * and, optionally, a `.redirects` file with `redirects` rules.
 * @param {{owner: string, repo: string, domain: string, branches?: string[], redirects?: number, rootKey?: string}} site
 * @returns {Record<string, string>}
 */
function siteEntries(site) {
  const root = site.rootKey ?? 'traefik';
  const redirects = site.redirects ?? 0;
  /** @type {Record<string, string>} */
  const entries = {
    [`custom_domain:${site.domain}`]: `${site.owner}:${site.repo}`,
    [`${site.owner}:${site.repo}`]: site.domain,
    ...routerEntries(site.domain, { rootKey: root, redirectCount: redirects }),
  };
  for (let i = 0; i < redirects; i++) {
    const mw = `${root}/http/middlewares/redirects-${sanitize(site.domain)}-${i}/redirectRegex/`;
    entries[`${mw}regex`] = `^https?://${site.domain.replaceAll('.', '\\.')}/old-${i}(.*)`;
    entries[`${mw}replacement`] = `https://${site.domain}/new-${i}$1`;
    entries[`${mw}permanent`] = 'true';
  }
  if (redirects > 0) entries[`redirects_meta:${site.domain}`] = `count=${redirects}`;
  for (const branch of site.branches ?? []) {
    const label = branchLabel(branch);
    if (!label) continue;
    const branchDomain = `${label}.${site.domain}`;
    entries[`custom_domain:${branchDomain}`] = `${site.owner}:${site.repo}:${branch}`;
    entries[`${site.owner}:${site.repo}:branch:${branch}`] = branchDomain;
    Object.assign(entries, routerEntries(branchDomain, { rootKey: root }));
  }
  return entries;
}

/**
 * The `.pages` file that makes a site live.
 * @param {{domain: string, branches?: string[]}} site
 */
function pagesFile(site) {
  const lines = [`custom_domain: "${site.domain}"`];
  if (site.branches?.length) lines.push('enable_branches:', ...site.branches.map((b) => `  - ${b}`));
  return lines.join('\n') + '\n';
}

module.exports = { sanitize, branchLabel, routerEntries, siteEntries, pagesFile };
