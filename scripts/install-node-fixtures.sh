#!/usr/bin/env bash
# Install the pinned Node test fixtures (tests/fixtures/node: MCP reference servers, Inspector CLI,
# conformance suite and a local Node 22) with `npm ci`. No global installs.
#
# Idempotent: skips when node_modules/.switchyard-install-stamp holds the hash of package.json +
# package-lock.json (+ platform) and the local Node binary is present. Safe to run concurrently
# (flock). Usage: scripts/install-node-fixtures.sh [--force]
#   env NPM (default: npm), NPM_LOGLEVEL (default: error; "warn" shows the Node 20 engine warnings)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/tests/fixtures/node"
MODULES="$DIR/node_modules"
STAMP="$MODULES/.switchyard-install-stamp"
NPM="${NPM:-npm}"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

log() { echo "install-node-fixtures: $*" >&2; }

if ! command -v "$NPM" >/dev/null 2>&1; then
    log "npm not found on PATH (needed once to install $DIR)"
    exit 127
fi

wanted_hash() {
    {
        cat "$DIR/package.json" "$DIR/package-lock.json"
        uname -sm
    } | sha256sum | cut -d' ' -f1
}

is_current() {
    [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$(wanted_hash)" ]] && [[ -x "$MODULES/node/bin/node" ]]
}

# One installer at a time (parallel test sessions); the lock lives outside the work tree.
LOCK="${TMPDIR:-/tmp}/switchyard-node-fixtures-$(echo "$DIR" | sha256sum | cut -c1-12).lock"
exec 9>"$LOCK"
flock 9

if [[ $FORCE == 0 ]] && is_current; then
    log "up to date ($DIR)"
    exit 0
fi

log "npm ci in $DIR"
attempt=1
until (cd "$DIR" && "$NPM" ci --no-audit --no-fund --loglevel="${NPM_LOGLEVEL:-error}"); do
    if ((attempt >= 2)); then
        log "npm ci failed twice; see the npm output above"
        exit 1
    fi
    attempt=$((attempt + 1))
    log "npm ci failed, retrying once"
    sleep 2
done

version="$("$MODULES/node/bin/node" --version)" || {
    log "the npm package 'node' did not provide $MODULES/node/bin/node (were its install scripts blocked?)"
    exit 1
}
case "$version" in
    v22.*) ;;
    *) log "unexpected local Node version $version (want v22.x)"; exit 1 ;;
esac
for entry in \
    @modelcontextprotocol/server-everything/dist/index.js \
    @modelcontextprotocol/server-filesystem/dist/index.js \
    @modelcontextprotocol/server-memory/dist/index.js \
    @modelcontextprotocol/conformance/dist/index.js \
    @modelcontextprotocol/inspector/clients/launcher/build/index.js; do
    [[ -f "$MODULES/$entry" ]] || { log "missing $MODULES/$entry after npm ci"; exit 1; }
done

wanted_hash >"$STAMP"
log "installed (node $version)"
