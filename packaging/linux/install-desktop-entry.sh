#!/usr/bin/env bash
# Add TruFor Desk to the Linux desktop menu for the current user (no root needed).
#
#   bash packaging/linux/install-desktop-entry.sh [BUNDLE_DIR]     # install
#   bash packaging/linux/install-desktop-entry.sh --uninstall      # remove what it installed
#
# Copies trufor-desk.desktop to ~/.local/share/applications and the SVG icon to
# ~/.local/share/icons/hicolor/scalable/apps/trufor-desk.svg.  With BUNDLE_DIR (the
# PyInstaller folder holding the TruForDesk executable, e.g. build/dist/TruForDesk) the
# entry's Exec/TryExec point at that executable, so ~/.local/bin need not be on PATH;
# without it the entry runs `TruForDesk` from PATH.  Honours $XDG_DATA_HOME.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
APPS="$DATA/applications"
ICONS="$DATA/icons/hicolor/scalable/apps"

refresh() {
  command -v update-desktop-database >/dev/null && update-desktop-database -q "$APPS" || true
  command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true
}

if [[ "${1:-}" == "--uninstall" ]]; then
  rm -f "$APPS/trufor-desk.desktop" "$ICONS/trufor-desk.svg"
  refresh
  echo "removed the TruFor Desk menu entry and icon"
  exit 0
fi

BUNDLE="${1:-}"
ICON=""
for cand in "${BUNDLE:+$BUNDLE/_internal/resources/icons/trufor-desk.svg}" \
            "$HERE/../../resources/icons/trufor-desk.svg"; do
  [[ -n "$cand" && -f "$cand" ]] && { ICON="$cand"; break; }
done
[[ -n "$ICON" ]] || { echo "error: trufor-desk.svg not found (give the bundle folder)" >&2; exit 1; }

mkdir -p "$APPS" "$ICONS"
install -m 644 "$ICON" "$ICONS/trufor-desk.svg"
if [[ -n "$BUNDLE" ]]; then
  EXE="$(cd "$BUNDLE" && pwd)/TruForDesk"
  [[ -x "$EXE" ]] || { echo "error: $EXE is not an executable" >&2; exit 1; }
  # Desktop Entry spec: Exec arguments are quoted, and inside quotes \ " ` $ take a backslash,
  # which the string escaping of the file doubles (\ " ` $ are written \\\\ \\" \\` \\$).
  Q="$EXE"
  Q="${Q//\\/\\\\\\\\}"
  for c in '"' '`' '$'; do Q="${Q//"$c"/\\\\$c}"; done
  while IFS= read -r line; do
    case "$line" in
      Exec=*) printf 'Exec="%s" %%F\n' "$Q" ;;
      TryExec=*) printf 'TryExec=%s\n' "${EXE//\\/\\\\}" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done < "$HERE/trufor-desk.desktop" > "$APPS/trufor-desk.desktop"
  chmod 644 "$APPS/trufor-desk.desktop"
else
  install -m 644 "$HERE/trufor-desk.desktop" "$APPS/trufor-desk.desktop"
fi
refresh
echo "installed $APPS/trufor-desk.desktop"
echo "installed $ICONS/trufor-desk.svg"
