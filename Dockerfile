# syntax=docker/dockerfile:1
# pages-reaper container image.
#
#   docker build -t pages-reaper .
#   docker run --rm pages-reaper reap --dry-run --redis-host … --forgejo-host …
#
# The entrypoint is the pages-reaper binary, so arguments are subcommands and flags. The
# default command is the sidecar loop: reap every hour and serve /healthz, /readyz and
# /metrics on port 9464 (another --listen, or REAPER_LISTEN with a command of your own,
# moves the HEALTHCHECK along).
#
# NODE_IMAGE lets scripts/build-image.sh build this same file offline, against a base
# image it assembles from the local node binary (there is no registry to pull from there).
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: install all dependencies, compile, regenerate the oclif manifest, drop dev deps
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY plugins ./plugins
RUN npm run build && npm prune --omit=dev

# ---- runtime: only what `pages-reaper` needs to run
FROM ${NODE_IMAGE} AS runtime
# MALLOC_MMAP_THRESHOLD_ fixed: glibc then serves every allocation of 128 KiB or more by
# mmap and gives it back when freed. By default it raises that threshold to the largest
# block freed, and later blocks freed from its heap stay resident, against a sidecar's
# memory limit. The scan's large tables are mapped outside malloc anyway; this keeps the
# rest (buffers, arena chunks) from staying too (figures in the README, "Scale: a million
# domains").
ENV NODE_ENV=production \
    REAPER_BACKUP_DIR=/var/lib/pages-reaper/backups \
    MALLOC_MMAP_THRESHOLD_=131072
# A fixed, non-root uid/gid (10001) that owns the backup directory. Plain appends to
# /etc/passwd and /etc/group work in any base image that has a shell.
RUN echo 'reaper:x:10001:10001:pages-reaper:/nonexistent:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'reaper:x:10001:' >> /etc/group \
 && mkdir -p /var/lib/pages-reaper/backups \
 && chown -R 10001:10001 /var/lib/pages-reaper \
 && chmod 0750 /var/lib/pages-reaper /var/lib/pages-reaper/backups
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/oclif.manifest.json ./oclif.manifest.json
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist ./dist
COPY --from=build /src/node_modules ./node_modules
USER 10001:10001
VOLUME ["/var/lib/pages-reaper/backups"]
EXPOSE 9464
# The probe asks /healthz on the address the reaper listens on: the --listen of the
# running command (PID 1, this entrypoint), else $REAPER_LISTEN; with neither (a one-shot
# `reap`) there is nothing to probe and it reports healthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "let l=process.env.REAPER_LISTEN||'';try{const a=require('fs').readFileSync('/proc/1/cmdline','utf8').split(String.fromCharCode(0));const i=a.findIndex(x=>x==='--listen'||x.startsWith('--listen='));if(i>=0)l=a[i]==='--listen'?a[i+1]:a[i].slice(9)}catch{}if(!l)process.exit(0);const c=l.lastIndexOf(':');let h=l.slice(0,c).replace('[','').replace(']','');if(!h||h==='0.0.0.0'||h==='::')h='127.0.0.1';if(h.includes(':'))h='['+h+']';fetch('http://'+h+':'+l.slice(c+1)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/run.js"]
CMD ["reap", "--interval", "1h", "--listen", "0.0.0.0:9464"]
