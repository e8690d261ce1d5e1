#!/usr/bin/env bash
# Installs what one pages-reaper task needs on a fresh Debian machine, and no more:
# the Debian packages it uses (with apt-get, only those missing) and the npm packages.
#
#   scripts/setup.sh demo    redis-server                       (npm run setup:demo)
#   scripts/setup.sh bench   redis-server
#   scripts/setup.sh test    redis-server, etcd, dnsmasq        (npm run setup; the default)
#
# SETUP_PRINT_ONLY=1 prints the packages the task needs and installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${1:-test}"
case "$target" in
  demo | bench) packages=(redis-server) ;;
  # etcd for the etcd store tests; dnsmasq-base (the dnsmasq binary, no service) for the DNS tests.
  test) packages=(redis-server etcd-server etcd-client dnsmasq-base) ;;
  *)
    echo "setup.sh: unknown task '$target': use demo, bench or test" >&2
    exit 1
    ;;
esac

if [ -n "${SETUP_PRINT_ONLY:-}" ]; then
  echo "packages: ${packages[*]}"
  exit 0
fi

# A package counts as present when its program is (it may come from elsewhere than apt).
program_of() {
  case "$1" in
    etcd-server) echo etcd ;;
    etcd-client) echo etcdctl ;;
    dnsmasq-base) echo dnsmasq ;;
    *) echo "$1" ;;
  esac
}
missing=()
for package in "${packages[@]}"; do
  PATH="$PATH:/usr/sbin:/sbin" command -v "$(program_of "$package")" >/dev/null || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing ${missing[*]} from Debian's packages…"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
