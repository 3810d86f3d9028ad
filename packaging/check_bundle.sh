#!/usr/bin/env bash
# Build the PyInstaller bundle and check that the frozen app works (Linux).
#
#   bash packaging/check_bundle.sh [--no-build]
#
# 1. frozen CLI: `trufor-desk --help`, then `analyze` on the sample image with the weight-free
#    fusion engine (the weight-free default); the .npz is loaded with numpy by the *system* python (only for that).
#    A PDF report of the sample is written (when the build has the `report` command).
#    If TRUFOR_DESK_CHECK_WEIGHTS names a checkpoint, the TruFor engine (torch) runs too.
# 2. frozen GUI (`TruForDesk gui IMAGE --analyze`) on a virtual X screen (xvfb-run, xcb
#    platform plugin): time until its window appears, still alive after GUI_SECONDS,
#    screenshot with ImageMagick `import`; then a short run on the `offscreen` platform.
# 3. summary: bundle size, build time, CLI times, GUI start time.
# Exits non-zero on any failure.  Everything goes under build/ (git-ignored); the screenshot
# is build/check/gui.png.  The frozen app runs with temporary config/data folders, as on a
# fresh machine: no settings, no installed weights.
#
# Needs: pyinstaller (pip), xvfb-run, ImageMagick `import`, and xdotool or xwininfo
# (apt-get install xvfb imagemagick xdotool x11-utils).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD=1
[[ "${1:-}" == "--no-build" ]] && BUILD=0
PY="${PYTHON:-python3}"                 # the system python: only to read the .npz
GUI_SECONDS="${GUI_SECONDS:-12}"        # how long the GUI must stay up (covers --analyze)
GUI_TIMEOUT="${GUI_TIMEOUT:-90}"        # give up waiting for the window after this
DIST="build/dist"; WORK="build/work"; CHECK="$ROOT/build/check"
APP="$ROOT/$DIST/TruForDesk"
SAMPLE="$ROOT/resources/samples/sample_splice.jpg"

fail() { echo "check_bundle: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

rm -rf "$CHECK"; mkdir -p "$CHECK/home/config" "$CHECK/home/data" "$CHECK/home/cache"
export XDG_CONFIG_HOME="$CHECK/home/config" XDG_DATA_HOME="$CHECK/home/data" XDG_CACHE_HOME="$CHECK/home/cache"
export TRUFOR_DESK_SETTINGS="$CHECK/home/settings.ini"
unset TRUFOR_WEIGHTS

# ---------------------------------------------------------------------------------------------
BUILD_S="skipped (--no-build)"
if (( BUILD )); then
  command -v pyinstaller >/dev/null || fail "pyinstaller not found: pip install pyinstaller"
  echo "== building the bundle (log: build/pyinstaller.log)"
  t0=$(now)
  pyinstaller packaging/trufor-desk.spec --noconfirm --distpath "$DIST" --workpath "$WORK" \
      > build/pyinstaller.log 2>&1 || { tail -30 build/pyinstaller.log; fail "pyinstaller failed"; }
  BUILD_S="$(since "$t0") s"
fi
[[ -x "$APP/trufor-desk" && -x "$APP/TruForDesk" ]] || fail "no bundle at $APP (build it first)"
[[ -f "$APP/_internal/resources/icons/trufor-desk.svg" ]] || fail "resources/ missing from the bundle"
for p in xcb offscreen; do
  [[ -f "$APP/_internal/PySide6/Qt/plugins/platforms/libq$p.so" ]] || fail "Qt platform plugin $p missing"
done
if find "$APP" -name '*.pth.tar' -o -name '*.pth' | grep -q .; then fail "weights found in the bundle"; fi

# --------------------------------------------------------------------------------------------- 1
echo "== 1. frozen CLI"
t0=$(now)
"$APP/trufor-desk" --help > "$CHECK/help.txt" || fail "trufor-desk --help exited non-zero"
HELP_S=$(since "$t0")
grep -q "usage: trufor-desk" "$CHECK/help.txt" || fail "--help printed no usage"

NPZ="$CHECK/sample_splice.npz"
t0=$(now)
"$APP/trufor-desk" analyze "$SAMPLE" --engine fusion --out "$NPZ" \
    || fail "frozen analyze (fusion) failed"
CLI_S=$(since "$t0")
"$PY" - "$NPZ" <<'EOF' || fail "the .npz written by the frozen CLI does not load"
import sys
import numpy as np
d = np.load(sys.argv[1], allow_pickle=False)
m = d["map"]
assert m.ndim == 2 and m.dtype == np.float32 and tuple(d["imgsize"]) == m.shape, (m.shape, d["imgsize"])
assert np.isfinite(m).all() and 0 <= m.min() and m.max() <= 1
assert str(d["engine"]) == "fusion" and "score" in d.files, sorted(d.files)  # the calibrated default
print(f"   npz ok: keys {sorted(d.files)[:6]}..., map {m.shape}, score {float(d['score']):.4f}")
EOF

REPORT_S="not run (this build has no report command)"
if grep -qE '^ +report ' "$CHECK/help.txt"; then
  t0=$(now)
  "$APP/trufor-desk" report "$SAMPLE" --engine fusion --out "$CHECK/report.pdf" \
      || fail "frozen report failed"
  REPORT_S="$(since "$t0") s"
  [[ "$(head -c 5 "$CHECK/report.pdf")" == "%PDF-" ]] || fail "the frozen report is not a PDF"
  # the report lists the metadata warnings: one of them says when the frozen app cannot import exiv2
  if command -v pdftotext >/dev/null; then
    pdftotext "$CHECK/report.pdf" "$CHECK/report.txt" || fail "pdftotext could not read the frozen report"
    if grep -q "exiv2 not installed" "$CHECK/report.txt"; then fail "the frozen app cannot import exiv2"; fi
    grep -q "Metadata summary" "$CHECK/report.txt" || fail "the frozen report has no metadata summary"
    # Content Credentials: the sample has none, which the frozen app must be able to say
    if grep -q "C2PA reading unavailable" "$CHECK/report.txt"; then fail "the frozen app cannot load c2pa"; fi
    grep -q "no Content Credentials" "$CHECK/report.txt" || fail "the frozen report has no Content Credentials line"
  fi
fi
find "$APP/_internal" -name 'libexiv2*' | grep -q . || fail "libexiv2 missing from the bundle"
find "$APP/_internal" -path '*c2pa/libs/libc2pa_c.*' | grep -q . || fail "libc2pa_c (Content Credentials) missing from the bundle"

TRUFOR_S="not run (set TRUFOR_DESK_CHECK_WEIGHTS=PATH to a checkpoint)"
if [[ -n "${TRUFOR_DESK_CHECK_WEIGHTS:-}" ]]; then
  [[ -f "$TRUFOR_DESK_CHECK_WEIGHTS" ]] || fail "TRUFOR_DESK_CHECK_WEIGHTS=$TRUFOR_DESK_CHECK_WEIGHTS: no such file"
  t0=$(now)
  "$APP/trufor-desk" analyze "$SAMPLE" --engine trufor --weights "$TRUFOR_DESK_CHECK_WEIGHTS" \
      --device cpu --out "$CHECK/sample_trufor.npz" || fail "frozen analyze (trufor) failed"
  TRUFOR_S="$(since "$t0") s"
  "$PY" -c "import numpy as np, sys; d = np.load(sys.argv[1]); assert d['map'].shape == tuple(d['imgsize'])" \
      "$CHECK/sample_trufor.npz" || fail "TruFor .npz does not load"
fi

# --------------------------------------------------------------------------------------------- 2
echo "== 2. frozen GUI under Xvfb (xcb)"
command -v xvfb-run >/dev/null || fail "xvfb-run not found (apt-get install xvfb)"
command -v import >/dev/null || fail "ImageMagick import not found (apt-get install imagemagick)"
command -v xdotool >/dev/null || command -v xwininfo >/dev/null \
    || fail "neither xdotool nor xwininfo found (apt-get install xdotool x11-utils)"

# Runs inside the virtual X server: start the GUI, wait for its window, let it work, check it
# is alive, take the screenshot, stop it.  Writes key=value lines to $CHECK/gui.result.
cat > "$CHECK/gui_probe.sh" <<'PROBE'
set -u
has_window() {
  if command -v xdotool >/dev/null; then
    xdotool search --onlyvisible --name "TruFor Desk" >/dev/null 2>&1
  else
    xwininfo -root -tree 2>/dev/null | grep -q "TruFor Desk"
  fi
}
t0=$(date +%s.%N)
QT_QPA_PLATFORM=xcb "$APP/TruForDesk" gui "$SAMPLE" --analyze > "$CHECK/gui.log" 2>&1 &
pid=$!
shown=""
while kill -0 "$pid" 2>/dev/null; do
  if has_window; then shown=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'); break; fi
  if awk -v a="$t0" -v b="$(date +%s.%N)" -v t="$GUI_TIMEOUT" 'BEGIN { exit !(b - a > t) }'; then break; fi
  sleep 0.05
done
echo "window_s=$shown"
[ -n "$shown" ] && sleep "$GUI_SECONDS"
if kill -0 "$pid" 2>/dev/null; then echo "alive=1"; else echo "alive=0"; fi
import -window root "$CHECK/gui.png" && echo "screenshot=1" || echo "screenshot=0"
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exit 0
PROBE
export APP SAMPLE CHECK GUI_SECONDS GUI_TIMEOUT
xvfb-run -a -s "-screen 0 1600x1000x24" bash "$CHECK/gui_probe.sh" > "$CHECK/gui.result" 2>&1 \
    || { cat "$CHECK/gui.result"; fail "xvfb-run failed"; }
WINDOW_S=$(sed -n 's/^window_s=//p' "$CHECK/gui.result")
gui_fail() { echo "--- gui.result"; cat "$CHECK/gui.result"; echo "--- gui.log"; tail -40 "$CHECK/gui.log"; fail "$1"; }
[[ -n "$WINDOW_S" ]] || gui_fail "the GUI window did not appear within ${GUI_TIMEOUT}s"
grep -q '^alive=1' "$CHECK/gui.result" || gui_fail "the GUI exited (crashed?) within ${GUI_SECONDS}s of showing its window"
grep -q '^screenshot=1' "$CHECK/gui.result" || gui_fail "screenshot failed"
if grep -q "Traceback\|^error:" "$CHECK/gui.log"; then gui_fail "the GUI logged an error"; fi
echo "   window after ${WINDOW_S}s, alive after ${GUI_SECONDS}s more, screenshot $CHECK/gui.png"

echo "== 2b. frozen GUI on the offscreen platform"
QT_QPA_PLATFORM=offscreen "$APP/TruForDesk" "$SAMPLE" > "$CHECK/gui_offscreen.log" 2>&1 &
pid=$!
sleep 5
kill -0 "$pid" 2>/dev/null || { tail -20 "$CHECK/gui_offscreen.log"; fail "the GUI died on the offscreen platform"; }
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
if grep -q "Traceback\|^error:" "$CHECK/gui_offscreen.log"; then
  tail -20 "$CHECK/gui_offscreen.log"; fail "the offscreen GUI logged an error"
fi

# --------------------------------------------------------------------------------------------- 3
echo "== 3. summary"
echo "bundle:            $APP ($(du -sh "$APP" | cut -f1); torch $(du -sh "$APP/_internal/torch" | cut -f1))"
echo "build time:        $BUILD_S"
echo "CLI --help:        ${HELP_S} s"
echo "CLI analyze:       ${CLI_S} s (fusion, sample 600x400, process start included)"
echo "CLI report:        ${REPORT_S}"
echo "CLI trufor:        ${TRUFOR_S}"
echo "GUI window shown:  ${WINDOW_S} s after launch (xcb on Xvfb)"
echo "check_bundle: OK"
