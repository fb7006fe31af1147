#!/usr/bin/env bash
# System packages the tests use, from Debian: a PostgreSQL server (the distributed tests start their own)
# and Chromium (the dashboard's browser test).
# Installed only when missing, and only as root; tests that need a missing one are skipped, saying why.
set -uo pipefail

need=()
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "system-deps: missing ${need[*]} and cannot install them here (not root, or no apt-get); their tests will be skipped"
    exit 0
fi
echo "system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/tmp/workbench-apt.log 2>&1; then
    tail -n 20 /tmp/workbench-apt.log
    echo "system-deps: could not install ${need[*]}; their tests will be skipped"
fi
exit 0
