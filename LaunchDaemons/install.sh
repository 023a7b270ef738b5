#!/bin/bash
# Installs the built Abbot client under /usr/local/abbot, with its own copy of node, and starts
# the daemon with launchctl. macOS only; run as root from a checkout after `npm ci && npm run build`:
#   sudo LaunchDaemons/install.sh
# NODE=/path/to/node picks the node binary to bundle (default: the node on PATH). The production
# dependencies are installed with `npm ci --omit=dev` (needs npm and the registry).
set -euo pipefail

fail() {
  echo "install.sh: $*" >&2
  exit 1
}

[ "$(uname -s)" = Darwin ] || fail "this installs on macOS only"
[ "$(id -u)" -eq 0 ] || fail "run as root (sudo $0)"

here="$(cd "$(dirname "$0")" && pwd)"
project="$(dirname "$here")"
prefix=/usr/local/abbot
label=org.abbot.daemon
daemon_plist="/Library/LaunchDaemons/$label.plist"
agent_plist=/Library/LaunchAgents/org.abbot.loginwindow-status.plist
node_bin="${NODE:-$(command -v node || true)}"

if [ -z "$node_bin" ] || [ ! -x "$node_bin" ]; then fail "node not found; set NODE=/path/to/node"; fi
[ -f "$project/dist/client/cli.js" ] || fail "$project/dist is missing; run npm run build first"
command -v npm >/dev/null || fail "npm not found"

# Everything is assembled beside the old install and swapped in at the end.
mkdir -p /usr/local
staging="$(mktemp -d "$prefix.new.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/bin" "$staging/libexec"
cp -R "$project/dist" "$staging/dist"
cp "$project/package.json" "$project/package-lock.json" "$staging/"
cp "$project/bin/abbot" "$staging/bin/abbot"
cp "$here/loginwindow-status.js" "$staging/libexec/loginwindow-status.js"
cp "$node_bin" "$staging/libexec/node"
(cd "$staging" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
chown -R root:wheel "$staging"
chmod -R go-w "$staging"
chmod 755 "$staging" "$staging/bin/abbot" "$staging/libexec/node"

# Stop the running daemon (it finishes the run under way) before its files are replaced.
if launchctl print "system/$label" >/dev/null 2>&1; then
  launchctl bootout "system/$label" || true
fi
rm -rf "$prefix.old"
if [ -d "$prefix" ]; then mv "$prefix" "$prefix.old"; fi
mv "$staging" "$prefix"
trap - EXIT
rm -rf "$prefix.old"

# `abbot` on the PATH, running the bundled node.
mkdir -p /usr/local/bin
cat >/usr/local/bin/abbot <<WRAPPER
#!/bin/sh
# Installed by Abbot's install.sh.
exec $prefix/libexec/node $prefix/bin/abbot "\$@"
WRAPPER
chmod 755 /usr/local/bin/abbot

mkdir -p /Library/Abbot/Logs
chmod 755 /Library/Abbot
install -m 0644 -o root -g wheel "$here/$label.plist" "$daemon_plist"
install -m 0644 -o root -g wheel "$here/org.abbot.loginwindow-status.plist" "$agent_plist"
launchctl bootstrap system "$daemon_plist"
echo "Abbot installed in $prefix; $label is running (log: /Library/Abbot/Logs/daemon.log)."
echo "The login window status agent loads at the next login window."
