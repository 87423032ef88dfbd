#!/usr/bin/env bash
# Installs the programs the HTTP tests drive when a fresh Debian 12 machine lacks them: curl, nginx (the suite runs
# its own nginx as the current user with a temporary prefix and config, never the system service), wrk (the HTTP
# benchmark's load generator), chromium and chromium-driver (the admin page's browser tests). A quick no-op when all
# are present; one `apt-get update`, then one `apt-get install` of what is missing (sudo when not root).
set -euo pipefail
missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
# nginx lives in /usr/sbin, often not on a non-root PATH.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "credledger: installing test dependencies: ${missing[*]} (apt-get update && apt-get install -y …)" >&2
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Another installer may hold the dpkg lock (parallel setups): wait for it rather than fail.
lock=(-o DPkg::Lock::Timeout=300)
$SUDO apt-get "${lock[@]}" update -qq
$SUDO apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for program in curl wrk chromium chromedriver; do
  command -v "$program" >/dev/null 2>&1 || { echo "credledger: $program is still missing after apt-get install" >&2; exit 1; }
done
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { echo "credledger: nginx is still missing after apt-get install" >&2; exit 1; }
