# syntax=docker/dockerfile:1
# pages-reaper container image.
#
#   docker build -t pages-reaper .
#   docker run --rm pages-reaper reap --dry-run --redis-host … --forgejo-host …
#
# The entrypoint is the pages-reaper binary, so arguments are subcommands and flags. The
# default command is the sidecar loop: reap every hour and serve /healthz, /readyz and
# /metrics on port 9464.
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
ENV NODE_ENV=production \
    REAPER_BACKUP_DIR=/var/lib/pages-reaper/backups
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
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/run.js"]
CMD ["reap", "--interval", "1h", "--listen", "0.0.0.0:9464"]
