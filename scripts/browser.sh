#!/usr/bin/env bash
# browser.sh: make sure a headless Chromium for the dashboard's browser test is
# installed (Debian's chromium-headless-shell, else chromium) and print its path.
# Used by `make test`; the browser test reads TIDE_CHROMIUM or finds the same binaries.
set -euo pipefail

find_browser() {
	local b
	for b in chromium-headless-shell headless-shell chromium chromium-browser; do
		if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
	done
	for b in /usr/lib/chromium/chromium-headless-shell /usr/lib/chromium/headless_shell; do
		if [ -x "$b" ]; then echo "$b"; return 0; fi
	done
	return 1
}

# Chinese fonts, so the dashboard's labels render in screenshots (not as boxes).
has_cjk_font() { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; }

if path=$(find_browser) && has_cjk_font; then echo "$path"; exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
echo "browser.sh: installing headless Chromium and a Chinese font (Debian packages)" >&2
$SUDO apt-get update -qq >&2
if ! find_browser >/dev/null; then
	$SUDO apt-get install -y -qq --no-install-recommends chromium-headless-shell >&2 ||
		$SUDO apt-get install -y -qq --no-install-recommends chromium >&2
fi
has_cjk_font || $SUDO apt-get install -y -qq --no-install-recommends fontconfig fonts-wqy-microhei >&2
find_browser || { echo "browser.sh: no Chromium after install" >&2; exit 1; }
