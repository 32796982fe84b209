# Sourced by test.sh: the system packages the tests start as real services.
# PostgreSQL (Debian's package) provides initdb/pg_ctl for the throwaway test clusters.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing postgresql with apt-get (first run only)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >/dev/null
  else
    echo "the tests need PostgreSQL's server binaries (initdb, pg_ctl): sudo apt-get install postgresql" >&2
    exit 1
  fi
fi
# Chromium (Debian's package) is the headless browser the UI tests drive through Playwright.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium with apt-get (first run only)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq chromium >/dev/null
  else
    echo "the UI tests need a headless Chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
fi
