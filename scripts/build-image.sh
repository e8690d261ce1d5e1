#!/usr/bin/env bash
# Builds the pages-reaper container image from ./Dockerfile and checks the image it built.
#
#   scripts/build-image.sh [--tag TAG] [--save FILE.tar] [--keep]
#
#   --tag TAG      image tag (default: localhost/pages-reaper:dev)
#   --save FILE    also write the image as a docker-archive tarball (`docker load -i FILE`)
#   --keep         keep the temporary buildah storage (printed at the end) for inspection
#
# With a Docker engine (`docker info` answers) it is the plain path: `docker build` on the
# Dockerfile's own base (node:24-bookworm-slim), then `container-structure-test` with
# test/image/structure.yaml when that tool is installed. Everything below is only for
# machines with no Docker engine and no registry to pull base images from (ours):
#   1. installs buildah with apt-get when it is missing (needs root);
#   2. assembles a base image OFFLINE: a root filesystem holding this machine's node
#      binary (`command -v node`, >= 20.19), its npm, /bin/sh and the few coreutils the
#      Dockerfile's RUN lines use, every shared library they need (found with ldd),
#      /etc/passwd, /etc/group, /tmp and the CA bundle when present; imports it with
#      `buildah from scratch` + `buildah copy` + `buildah commit`;
#   3. builds ./Dockerfile against that base (`--build-arg NODE_IMAGE=<base>`, `--pull=never`,
#      `--isolation chroot`, `--storage-driver vfs`, `--format docker` so HEALTHCHECK is kept).
#      Dependencies: the build stage runs `npm ci` itself, from the npm registry, through
#      the host's network (chroot isolation shares it). No pre-installed node_modules is
#      copied in: the build context excludes node_modules (.dockerignore);
#   4. checks the result: mounts the image (`buildah from` + `buildah mount`) and runs
#      `chroot <mnt> node /app/bin/run.js --version` and `… reap --help` (as root and as
#      uid 10001), checks the files that must and must not be in /app, the backup
#      directory's owner, and USER / HEALTHCHECK / ENTRYPOINT / CMD / VOLUME / EXPOSE in
#      `buildah inspect`. (`podman run` cannot be used here: it fails on setrlimit.)
#
# The build uses the working tree as it is (package.json, package-lock.json, tsconfig*.json,
# bin/, src/, plugins/): it fails when the sources do not compile.
set -euo pipefail

cd "$(dirname "$0")/.."
PROJECT_DIR=$(pwd)

TAG=localhost/pages-reaper:dev
SAVE=""
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) TAG=$2; shift 2 ;;
    --save) SAVE=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown argument: $1" >&2; exit 64 ;;
  esac
done

# ---------------------------------------------------------------- 0. a Docker engine: the plain path
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  echo "[build-image] a Docker engine answers: docker build on the Dockerfile's own base"
  docker build -t "$TAG" .
  if command -v container-structure-test >/dev/null; then
    container-structure-test test --image "$TAG" --config test/image/structure.yaml
  else
    echo '[build-image] container-structure-test is not installed: the image is built, not checked'
  fi
  if [ -n "$SAVE" ]; then docker save -o "$SAVE" "$TAG"; fi
  exit 0
fi

T0=$(date +%s)
step_t=$T0
VERIFIED=()
say() { printf '[build-image] %s\n' "$*"; }
fail() { printf '[build-image] FAILED: %s\n' "$*" >&2; exit 1; }
ok() { VERIFIED+=("$*"); printf '[build-image]   ok: %s\n' "$*"; }
lap() { local now; now=$(date +%s); say "$1 ($((now - step_t)) s)"; step_t=$now; }

# ---------------------------------------------------------------- 1. buildah
if [ "$(id -u)" -ne 0 ]; then
  fail "run as root: buildah with --isolation chroot and vfs storage needs it here (and so does chroot for the checks)"
fi
if ! command -v buildah >/dev/null; then
  say "buildah is missing: installing Debian's package"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >/dev/null
fi
say "$(buildah --version)"

# ---------------------------------------------------------------- 2. node
NODE_BIN=$(command -v node) || fail "no node on PATH: the offline base image is made from this machine's node"
NODE_BIN=$(readlink -f "$NODE_BIN")
NODE_VERSION=$("$NODE_BIN" --version)
if ! "$NODE_BIN" -e '
  const [a, b] = process.versions.node.split(".").map(Number);
  process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1);'; then
  fail "node $NODE_VERSION at $NODE_BIN is older than 20.19 (package.json engines)"
fi
NODE_PREFIX=$(dirname "$(dirname "$NODE_BIN")")
NPM_DIR=""
for d in "$NODE_PREFIX/lib/node_modules/npm" /usr/lib/node_modules/npm /usr/local/lib/node_modules/npm /usr/share/nodejs/npm; do
  if [ -f "$d/bin/npm-cli.js" ]; then NPM_DIR=$d; break; fi
done
[ -n "$NPM_DIR" ] || fail "npm not found next to $NODE_BIN: the build stage runs npm ci"
NPM_VERSION=$("$NODE_BIN" "$NPM_DIR/bin/npm-cli.js" --version)
say "node $NODE_VERSION ($NODE_BIN), npm $NPM_VERSION ($NPM_DIR)"

WORK=$(mktemp -d /tmp/pages-reaper-image.XXXXXX)
STORE_ROOT=$WORK/storage
STORE_RUNROOT=$WORK/run
BUILDAH=(buildah --storage-driver vfs --root "$STORE_ROOT" --runroot "$STORE_RUNROOT")
CHECK_CTR=""
SMOKE_PID=""
REDIS_PIDFILE=""
cleanup() {
  set +e
  [ -n "$SMOKE_PID" ] && kill -TERM "$SMOKE_PID" 2>/dev/null && wait "$SMOKE_PID" 2>/dev/null
  [ -n "$REDIS_PIDFILE" ] && [ -f "$REDIS_PIDFILE" ] && kill "$(cat "$REDIS_PIDFILE")" 2>/dev/null
  if [ -n "$CHECK_CTR" ]; then
    "${BUILDAH[@]}" umount "$CHECK_CTR" >/dev/null 2>&1
    "${BUILDAH[@]}" rm "$CHECK_CTR" >/dev/null 2>&1
  fi
  if [ "$KEEP" -eq 1 ]; then
    say "kept buildah storage: ${BUILDAH[*]}"
  else
    "${BUILDAH[@]}" rm --all >/dev/null 2>&1
    "${BUILDAH[@]}" umount --all >/dev/null 2>&1
    # vfs layers are plain directories; nothing is mounted from them any more.
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- 3. offline base image
NODE_MAJOR_MINOR=${NODE_VERSION#v}
BASE_TAG="localhost/pages-reaper-base:node-${NODE_MAJOR_MINOR}-offline"
ROOTFS=$WORK/rootfs
say "assembling the base image's root filesystem in $ROOTFS"
mkdir -p "$ROOTFS"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,usr/local/lib,etc/ssl/certs,root,tmp,var/tmp,proc,sys,dev,run}
# Debian bookworm's merged /usr layout.
ln -s usr/bin "$ROOTFS/bin"; ln -s usr/sbin "$ROOTFS/sbin"
ln -s usr/lib "$ROOTFS/lib"; ln -s usr/lib64 "$ROOTFS/lib64"
chmod 1777 "$ROOTFS/tmp" "$ROOTFS/var/tmp"
chmod 0700 "$ROOTFS/root"

cp "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
cp -a "$NPM_DIR" "$ROOTFS/usr/local/lib/node_modules_npm.tmp"
mkdir -p "$ROOTFS/usr/local/lib/node_modules"
mv "$ROOTFS/usr/local/lib/node_modules_npm.tmp" "$ROOTFS/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"

# /bin/sh runs every RUN line and npm's scripts; `npm run build` uses rm; the runtime stage
# uses mkdir, chown, chmod; env is the shebang interpreter of npm-cli.js.
TOOLS=(sh rm mkdir chown chmod cat cp mv ln ls env id echo true false)
for t in "${TOOLS[@]}"; do
  src=$(command -v "$t" 2>/dev/null || true)
  case "$src" in /*) ;; *) src="" ;; esac        # skip shell builtins
  [ -n "$src" ] || { [ "$t" = sh ] && fail "no /bin/sh on this machine"; continue; }
  cp -L "$src" "$ROOTFS/usr/bin/$t"
done
[ -x /usr/sbin/nologin ] && cp -L /usr/sbin/nologin "$ROOTFS/usr/sbin/nologin"

copy_libs() {
  local bin=$1 lib
  # "libx.so => /lib/x86_64-linux-gnu/libx.so (0x…)" and "/lib64/ld-linux-x86-64.so.2 (0x…)"
  for lib in $(ldd "$bin" 2>/dev/null | awk '/=> \//{print $3} /^[[:space:]]*\//{print $1}'); do
    local dest=$ROOTFS$lib
    [ -e "$dest" ] && continue
    mkdir -p "$(dirname "$dest")"
    cp -L "$lib" "$dest"
  done
}
copy_libs "$NODE_BIN"
for f in "$ROOTFS"/usr/bin/* "$ROOTFS"/usr/sbin/*; do copy_libs "$f"; done
# Name resolution (getaddrinfo) loads the NSS modules at run time; ldd does not list them.
for lib in /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/x86_64-linux-gnu/libnss_dns.so.2 \
           /lib/x86_64-linux-gnu/libresolv.so.2; do
  [ -e "$lib" ] && { mkdir -p "$ROOTFS$(dirname "$lib")"; cp -L "$lib" "$ROOTFS$lib"; }
done

cat >"$ROOTFS/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$ROOTFS/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$ROOTFS/etc/nsswitch.conf"
CA_NOTE="no CA bundle on this machine (node uses its built-in CAs)"
CA_ENV=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp -L /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
  CA_NOTE="CA bundle /etc/ssl/certs/ca-certificates.crt copied"
  # This machine reaches the npm registry through a TLS proxy whose CA is only in the
  # system bundle; node (and so npm ci in the build) trusts it through NODE_EXTRA_CA_CERTS,
  # as on the host. The real node:*-slim base has neither and needs neither.
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] || [ -n "$(npm config get cafile 2>/dev/null | grep -v '^null$' || true)" ]; then
    CA_ENV=(--env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
    CA_NOTE="$CA_NOTE, NODE_EXTRA_CA_CERTS set in the base image (as on this host)"
  fi
fi
say "rootfs: $(du -sh "$ROOTFS" | cut -f1), $CA_NOTE"

BASE_CTR=$("${BUILDAH[@]}" from scratch)
"${BUILDAH[@]}" copy --quiet "$BASE_CTR" "$ROOTFS/" / >/dev/null
"${BUILDAH[@]}" config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="${NODE_VERSION#v}" \
  "${CA_ENV[@]}" \
  --cmd node \
  --label org.opencontainers.image.description="offline stand-in for node:bookworm-slim, made from this machine's node ${NODE_VERSION}" \
  "$BASE_CTR"
"${BUILDAH[@]}" commit --quiet --format docker "$BASE_CTR" "$BASE_TAG" >/dev/null
"${BUILDAH[@]}" rm "$BASE_CTR" >/dev/null
lap "base image $BASE_TAG committed"

# ---------------------------------------------------------------- 4. build the Dockerfile
say "building Dockerfile -> $TAG (build stage runs npm ci against the npm registry)"
BUILD_LOG=$WORK/build.log
set +e
"${BUILDAH[@]}" bud \
  --isolation chroot \
  --format docker \
  --pull=never \
  --layers=false \
  --build-arg NODE_IMAGE="$BASE_TAG" \
  --tag "$TAG" \
  --file Dockerfile \
  "$PROJECT_DIR" 2>&1 | tee "$BUILD_LOG" | sed 's/^/    | /'
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  if grep -qE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network' "$BUILD_LOG"; then
    fail "buildah bud exited $rc: npm ci inside the build could not reach the npm registry from chroot isolation (see the log above)"
  elif grep -qE 'error TS[0-9]+' "$BUILD_LOG"; then
    fail "buildah bud exited $rc: the TypeScript sources in this working tree do not compile (see the log above)"
  fi
  fail "buildah bud exited $rc (see the log above)"
fi
lap "image $TAG built"

# ---------------------------------------------------------------- 5. check the image
say "checking $TAG"
CHROOT=$(PATH="$PATH:/usr/sbin:/sbin" command -v chroot) || fail "no chroot(8) on this machine (coreutils)"
CHECK_CTR=$("${BUILDAH[@]}" from --pull=never "$TAG")
MNT=$("${BUILDAH[@]}" mount "$CHECK_CTR")

v=$(env -i PATH=/usr/local/bin:/usr/bin:/bin "$CHROOT" "$MNT" node /app/bin/run.js --version 2>&1) \
  || fail "chroot <mnt> node /app/bin/run.js --version: $v"
ok "chroot <mnt> node /app/bin/run.js --version -> $v"

help=$(env -i PATH=/usr/local/bin:/usr/bin:/bin "$CHROOT" "$MNT" node /app/bin/run.js reap --help 2>&1) \
  || fail "chroot <mnt> node /app/bin/run.js reap --help: $help"
flags=$(printf '%s\n' "$help" | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u | tr '\n' ' ')
ok "chroot <mnt> node /app/bin/run.js reap --help -> $(printf '%s\n' "$help" | grep -c -- '--') flag lines"
missing=()
for f in --interval --jitter --grace --listen --metrics-file --log-format; do
  case " $flags " in *" $f "*) ;; *) missing+=("$f") ;; esac
done
if [ ${#missing[@]} -eq 0 ]; then
  ok "reap --help lists --interval --jitter --grace --listen --metrics-file --log-format"
else
  say "  NOTE: reap --help does not list ${missing[*]} yet: the image's default CMD (reap --interval 1h --listen 0.0.0.0:9464) needs them"
fi

v=$(env -i PATH=/usr/local/bin:/usr/bin:/bin "$CHROOT" --userspec=10001:10001 "$MNT" node /app/bin/run.js --version 2>&1) \
  || fail "as uid 10001: node /app/bin/run.js --version: $v"
ok "as uid 10001 (chroot --userspec=10001:10001): node /app/bin/run.js --version -> $v"

for p in bin/run.js dist/src/commands/reap.js oclif.manifest.json package.json node_modules/@oclif/core node_modules/ioredis; do
  [ -e "$MNT/app/$p" ] || fail "/app/$p missing from the image"
done
ok "/app has bin/run.js, dist/, oclif.manifest.json, package.json, production node_modules"
for p in src test node_modules/typescript node_modules/jest node_modules/oclif node_modules/@swc/core package-lock.json; do
  [ ! -e "$MNT/app/$p" ] || fail "/app/$p should not be in the runtime image"
done
ok "/app has no src/, test/, package-lock.json, nor dev dependencies (typescript, jest, oclif, @swc/core)"
owner=$(stat -c '%u:%g %a' "$MNT/var/lib/pages-reaper/backups")
[ "${owner%% *}" = "10001:10001" ] || fail "/var/lib/pages-reaper/backups is owned by $owner, not 10001:10001"
ok "/var/lib/pages-reaper/backups owned by 10001:10001 (mode ${owner#* })"
grep -q '^reaper:x:10001:10001:' "$MNT/etc/passwd" || fail "no reaper (10001) in /etc/passwd"
ok "/etc/passwd has reaper:x:10001:10001"

# The image's default command, for real, in the image's filesystem (chroot shares this
# machine's network): as uid 10001, with the image's ENV, against a throwaway redis-server
# (empty, so the run needs no Forgejo), then the HEALTHCHECK command itself.
smoke_note=""
if ! command -v redis-server >/dev/null; then
  smoke_note="redis-server not installed (apt-get install redis-server)"
elif (exec 3<>/dev/tcp/127.0.0.1/9464) 2>/dev/null; then
  smoke_note="port 9464 is in use on this machine (the HEALTHCHECK checks 127.0.0.1:9464)"
fi
if [ -n "$smoke_note" ]; then
  say "  SKIPPED: running the default CMD and the HEALTHCHECK: $smoke_note"
else
  mkdir -p "$WORK/redis"
  REDIS_PORT=$("$NODE_BIN" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --daemonize yes \
    --pidfile "$WORK/redis/pid" --dir "$WORK/redis" --logfile "$WORK/redis/log"
  REDIS_PIDFILE=$WORK/redis/pid
  HEALTH_CMD=()
  while IFS= read -r -d '' word; do HEALTH_CMD+=("$word"); done < <("${BUILDAH[@]}" inspect --type image --format '{{json .Docker.Config.Healthcheck.Test}}' "$TAG" \
    | "$NODE_BIN" -e 'const t = JSON.parse(require("fs").readFileSync(0, "utf8")); for (const w of t.slice(1)) process.stdout.write(w + "\0")')
  IMAGE_ENV=()
  while IFS= read -r line; do IMAGE_ENV+=("$line"); done < <("${BUILDAH[@]}" inspect --type image --format '{{range .Docker.Config.Env}}{{println .}}{{end}}' "$TAG" | grep .)
  # ENTRYPOINT + CMD exactly as the image declares them.
  env -i "${IMAGE_ENV[@]}" REDIS_HOST=127.0.0.1 REDIS_PORT="$REDIS_PORT" FORGEJO_HOST=http://127.0.0.1:9 \
    "$CHROOT" --userspec=10001:10001 "$MNT" node /app/bin/run.js reap --interval 1h --listen 0.0.0.0:9464 \
    >"$WORK/sidecar.log" 2>&1 &
  SMOKE_PID=$!
  healthy=""
  for _ in $(seq 1 40); do
    sleep 0.5
    kill -0 "$SMOKE_PID" 2>/dev/null || break
    # The image's own HEALTHCHECK command. In a container it finds the port in PID 1's
    # --listen; in this chroot PID 1 is the machine's, so REAPER_LISTEN names it.
    if env -i "${IMAGE_ENV[@]}" REAPER_LISTEN=0.0.0.0:9464 "$CHROOT" --userspec=10001:10001 "$MNT" "${HEALTH_CMD[@]}" \
       && "$NODE_BIN" -e "fetch('http://127.0.0.1:9464/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
      healthy=yes; break
    fi
  done
  metrics=$("$NODE_BIN" -e "fetch('http://127.0.0.1:9464/metrics').then(r=>r.text()).then(t=>process.stdout.write(t),()=>{})" || true)
  kill -TERM "$SMOKE_PID" 2>/dev/null || true
  smoke_rc=0; wait "$SMOKE_PID" || smoke_rc=$?
  SMOKE_PID=""
  kill "$(cat "$REDIS_PIDFILE")" 2>/dev/null || true; REDIS_PIDFILE=""
  if [ -z "$healthy" ]; then
    sed 's/^/    sidecar| /' "$WORK/sidecar.log" >&2
    fail "the default CMD (reap --interval 1h --listen 0.0.0.0:9464) did not become healthy and ready"
  fi
  ok "default CMD as uid 10001 against an empty redis-server: the HEALTHCHECK command exits 0 (/healthz), /readyz answers 200"
  printf '%s\n' "$metrics" | grep -q '^pages_reaper_last_success_timestamp_seconds ' \
    || fail "/metrics lacks pages_reaper_last_success_timestamp_seconds"
  ok "/metrics serves pages_reaper_last_success_timestamp_seconds and $(printf '%s\n' "$metrics" | grep -c '^pages_reaper_') pages_reaper_ samples"
  [ "$smoke_rc" -eq 0 ] || fail "the sidecar exited $smoke_rc on SIGTERM (log: $(tr '\n' ' ' <"$WORK/sidecar.log"))"
  ok "the sidecar exits 0 on SIGTERM"
fi
"${BUILDAH[@]}" umount "$CHECK_CTR" >/dev/null
"${BUILDAH[@]}" rm "$CHECK_CTR" >/dev/null
CHECK_CTR=""

# buildah's --format templates have no json function: read the whole inspect document.
INSPECT=$WORK/inspect.json
"${BUILDAH[@]}" inspect --type image "$TAG" >"$INSPECT"
cfg() { node -e '
  const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).Docker.config;
  const v = process.argv[2].split(".").reduce((o, k) => (o == null ? o : o[k]), c);
  process.stdout.write(v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));
' "$INSPECT" "$1"; }
user=$(cfg User)
[ "$user" = "10001:10001" ] || fail "USER is '$user', expected 10001:10001"
ok "USER $user (non-root)"
hc=$(cfg Healthcheck.Test)
case "$hc" in *REAPER_LISTEN*'/healthz'*) ;; *) fail "HEALTHCHECK missing or wrong: '$hc'" ;; esac
ok "HEALTHCHECK $hc (interval $(cfg Healthcheck.Interval) ns)"
ep=$(cfg Entrypoint)
[ "$ep" = '["node","/app/bin/run.js"]' ] || fail "ENTRYPOINT is $ep"
ok "ENTRYPOINT $ep"
cmd=$(cfg Cmd)
[ "$cmd" = '["reap","--interval","1h","--listen","0.0.0.0:9464"]' ] || fail "CMD is $cmd"
ok "CMD $cmd"
vol=$(cfg Volumes)
case "$vol" in *'/var/lib/pages-reaper/backups'*) ;; *) fail "VOLUME is $vol" ;; esac
ok "VOLUME $vol"
ports=$(cfg ExposedPorts)
case "$ports" in *'9464/tcp'*) ;; *) fail "EXPOSE is $ports" ;; esac
ok "EXPOSE $ports"
envs=$(cfg Env)
case "$envs" in *'REAPER_BACKUP_DIR=/var/lib/pages-reaper/backups'*) ;; *) fail "ENV lacks REAPER_BACKUP_DIR: $envs" ;; esac
ok "ENV REAPER_BACKUP_DIR=/var/lib/pages-reaper/backups"
size=$("${BUILDAH[@]}" images --format '{{.Size}}' "$TAG" | head -1)
lap "checks done"

if [ -n "$SAVE" ]; then
  "${BUILDAH[@]}" push --quiet "$TAG" "docker-archive:$SAVE:$TAG" >/dev/null
  ok "saved to $SAVE (docker load -i $SAVE)"
fi

echo
say "SUMMARY: image $TAG ($size), built from Dockerfile on the offline base $BASE_TAG (node $NODE_VERSION, npm $NPM_VERSION) in $(( $(date +%s) - T0 )) s"
say "dependencies: npm ci ran inside the build stage against the npm registry (no host node_modules copied)"
for line in "${VERIFIED[@]}"; do say "  verified: $line"; done
say "not verified here: running the image under a container runtime (podman run fails on setrlimit on this machine; the checks above run its files with chroot, sharing this machine's network, /proc and /dev absent)${smoke_note:+; the default CMD and HEALTHCHECK: $smoke_note}"
