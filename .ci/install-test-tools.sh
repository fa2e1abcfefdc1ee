#!/usr/bin/env bash
# Install the tools tests/readers.py needs on a fresh Debian 12 machine (run as root).
# Idempotent and quick when everything is already there: apt-get runs only if a package is
# missing, and `npm ci` only if tests/js/node_modules is missing or older than package-lock.json.
# Works with no TTY. Usage: bash .ci/install-test-tools.sh
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[install-test-tools] %s\n' "$*"; }

APT_PACKAGES=(jing newsboat chromium chromium-driver libxml2-utils sqlite3 fonts-noto-core openssl)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$pkg")
    fi
done
# `python3 -m venv` needs ensurepip, which Debian ships separately (python3-venv).
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3-venv)
fi
# node >= 20 is part of the machine image; fall back to Debian's nodejs/npm only if absent.
if ! command -v node >/dev/null 2>&1; then
    missing+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi

if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        log "missing packages: ${missing[*]} -- run this script as root" >&2
        exit 1
    fi
    log "apt-get update"
    apt-get update -q
    log "apt-get install -y --no-install-recommends ${missing[*]}"
    apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
else
    log "apt packages present: ${APT_PACKAGES[*]}"
fi

for tool in jing newsboat xmllint sqlite3 node npm; do
    command -v "$tool" >/dev/null 2>&1 || { log "ERROR: $tool still not on PATH" >&2; exit 1; }
done
log "node $(node --version), npm $(npm --version), $(newsboat --version 2>/dev/null | head -n1)"

# npm dependencies of tests/js (the independent JS feed parser).
JS_DIR=tests/js
stamp="$JS_DIR/node_modules/.install-stamp"
if [[ ! -d "$JS_DIR/node_modules" || ! -f "$stamp" ]] \
    || ! cmp -s "$JS_DIR/package-lock.json" "$stamp"; then
    log "npm ci --prefix $JS_DIR"
    npm ci --prefix "$JS_DIR" --no-audit --no-fund --loglevel=error
    cp "$JS_DIR/package-lock.json" "$stamp"
else
    log "$JS_DIR/node_modules up to date with package-lock.json"
fi
log "done"
