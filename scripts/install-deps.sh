#!/usr/bin/env bash
# install-deps.sh: install the real peers the test suite drives (SIPp, baresip)
# and the tools around them (sqlite3, espeak-ng, sox, lame for MP3 test
# fixtures, libopus-dev + pkg-config for the opus crate), and for the agent
# desktop's browser test Debian's chromium, node and npm, then playwright-core
# from tests/browser/package-lock.json (npm ci, no browser download) into
# tests/browser/node_modules. Idempotent: a package
# already installed is left alone, and `apt-get update` runs once, only when
# something is missing. Runs as root (or via sudo) without prompts.
set -euo pipefail

# package name -> command that proves it is installed
declare -A PROVIDES=(
  [sip-tester]=sipp
  [baresip]=baresip
  [sqlite3]=sqlite3
  [espeak-ng]=espeak-ng
  [sox]=sox
  [lame]=lame
  [libopus-dev]=opus-pkg-config
  [pkg-config]=pkg-config
  [chromium]=chromium
  [nodejs]=node
  [npm]=npm
)
ORDER=(sip-tester baresip sqlite3 espeak-ng sox lame pkg-config libopus-dev chromium nodejs npm)

# A library has no command: 'opus-pkg-config' means pkg-config knows opus.
present() {
  if [ "$1" = opus-pkg-config ]; then
    pkg-config --exists opus 2>/dev/null
  else
    command -v "$1" >/dev/null 2>&1
  fi
}

missing=()
for pkg in "${ORDER[@]}"; do
  cmd=${PROVIDES[$pkg]}
  if present "$cmd"; then
    echo "install-deps: $pkg present ($(command -v "$cmd"))"
  else
    echo "install-deps: $pkg missing (no '$cmd' on PATH)"
    missing+=("$pkg")
  fi
done

# playwright-core for tests/browser (after node and npm are there).
browser_modules() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/browser"
  if [ -f "$dir/node_modules/playwright-core/package.json" ]; then
    echo "install-deps: playwright-core present ($dir/node_modules)"
    return 0
  fi
  echo "install-deps: npm ci in $dir (playwright-core, no browser download)"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
}

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: no system package to install"
  browser_modules
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: error: apt-get not found; install by hand: ${missing[*]}" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: error: not root and no sudo; install by hand: ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: apt-get update"
"${SUDO[@]}" apt-get update -q
echo "install-deps: apt-get install ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}"

for pkg in "${missing[@]}"; do
  cmd=${PROVIDES[$pkg]}
  if ! present "$cmd"; then
    echo "install-deps: error: installed $pkg but '$cmd' is still not on PATH" >&2
    exit 1
  fi
  echo "install-deps: installed $pkg"
done

browser_modules
