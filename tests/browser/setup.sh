#!/usr/bin/env bash
# Idempotent install of what the browser tests need: Debian's chromium (when root and missing) and playwright-core
# (npm ci from the lock file). Without them the browser tests are skipped, not failed.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
      || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
  else
    echo "tests/browser/setup.sh: chromium is missing and this is not root; the browser tests will be skipped." >&2
  fi
fi
if command -v npm >/dev/null 2>&1; then
  if [[ ! -d node_modules/playwright-core ]]; then
    npm ci --no-audit --no-fund --silent
  fi
else
  echo "tests/browser/setup.sh: npm is missing; the browser tests will be skipped." >&2
fi
