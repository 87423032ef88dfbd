#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine with only Swift lacks: liblmdb-dev (headers, lib, pkg-config file).
set -euo pipefail
if pkg-config --exists lmdb 2>/dev/null && [ -f /usr/include/lmdb.h ]; then
  exit 0
fi
echo "credledger: installing liblmdb-dev (apt-get update && apt-get install -y liblmdb-dev)" >&2
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq liblmdb-dev pkg-config >/dev/null
pkg-config --exists lmdb || { echo "credledger: liblmdb-dev did not install a pkg-config file" >&2; exit 1; }
