#!/bin/bash
# Stops Abbot's daemon and removes what install.sh installed. The client's state, caches and logs
# in /Library/Abbot stay unless --purge is given. macOS only; run as root:
#   sudo LaunchDaemons/uninstall.sh [--purge]
set -euo pipefail

fail() {
  echo "uninstall.sh: $*" >&2
  exit 1
}

purge=false
case "${1:-}" in
  --purge) purge=true ;;
  '') ;;
  *) fail "unknown option $1 (usage: uninstall.sh [--purge])" ;;
esac
[ "$(uname -s)" = Darwin ] || fail "this uninstalls on macOS only"
[ "$(id -u)" -eq 0 ] || fail "run as root (sudo $0)"

label=org.abbot.daemon
if launchctl print "system/$label" >/dev/null 2>&1; then
  launchctl bootout "system/$label" || true
fi
rm -f "/Library/LaunchDaemons/$label.plist" /Library/LaunchAgents/org.abbot.loginwindow-status.plist
rm -rf /usr/local/abbot
# Only our own wrapper: never someone else's `abbot`.
if grep -q "Installed by Abbot's install.sh" /usr/local/bin/abbot 2>/dev/null; then
  rm -f /usr/local/bin/abbot
fi
if [ "$purge" = true ]; then
  rm -rf /Library/Abbot
  echo "Abbot removed, with its state in /Library/Abbot."
else
  echo "Abbot removed; its state and logs are still in /Library/Abbot (--purge removes them)."
fi
