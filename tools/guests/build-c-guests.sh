#!/bin/bash
# Builds the C guests in fixtures/guests/: single-command toybox tools (0BSD) compiled to
# wasm32-wasi with Debian's clang + lld + wasi-libc, from Debian's toybox source package.
# Tool time only (needs root and Debian's archive); npm test uses the committed binaries.
#
#   bash tools/guests/build-c-guests.sh            # build into fixtures/guests/
#   WORK=/tmp/x KEEP=1 bash tools/guests/build-c-guests.sh
#
# toybox's own build (scripts/single.sh → scripts/make.sh) does the compiling; we only pass
# flags: the wasm target, wasi-libc's emulation libraries, -D__linux__ (toybox's Linux
# branches), and tools/guests/toybox-compat (headers + stubs for what WASI lacks).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OUT="${OUT:-$REPO/fixtures/guests}"
COMPAT="$HERE/toybox-compat"
WORK="${WORK:-$(mktemp -d /tmp/c-guests.XXXXXX)}"
PKG=toybox
VERSION=0.8.9+dfsg-1
TOOLS="${TOOLS:-cat ls find md5sum sha1sum cksum wc mkdir cp mv rm ln touch chmod sort sed tar}"

# 1. Toolchain (Debian bookworm: clang-14, lld-14, wasi-libc 0.0~git20220510).
need=()
for p in clang lld wasi-libc libclang-rt-14-dev-wasm32 dpkg-dev xz-utils make gcc; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# 2. Source from Debian: enable deb-src if the sources list lacks it, then fetch.
SRC=/etc/apt/sources.list.d/debian.sources
if [ -f "$SRC" ] && ! grep -q '^Types:.*deb-src' "$SRC"; then
  sed -i 's/^Types: deb$/Types: deb deb-src/' "$SRC"
  apt-get update -qq
fi
cd "$WORK"
# The .debian.tar.xz (packaging only) may be missing from the mirror; the .dsc and the
# upstream tarball are what we need, and the tarball is checked against the .dsc below.
apt-get source --download-only "$PKG=$VERSION" || true
DSC="${PKG}_${VERSION}.dsc"
ORIG="$(sed -n 's/^ [0-9a-f]\{64\} [0-9]* \(.*\.orig\.tar\.xz\)$/\1/p' "$DSC" | head -1)"
WANT="$(sed -n "s/^ \([0-9a-f]\{64\}\) [0-9]* ${ORIG//./\\.}\$/\1/p" "$DSC" | head -1)"
GOT="$(sha256sum "$ORIG" | cut -d' ' -f1)"
[ "$WANT" = "$GOT" ] || { echo "checksum mismatch for $ORIG: $GOT != $WANT" >&2; exit 1; }
rm -rf src && mkdir src && tar -xJf "$ORIG" -C src --strip-components=1
cd src

# 3. Flags. toybox's configure appends its warnings to CFLAGS; scripts/make.sh adds -Os,
#    -ffunction-sections and the linker's --gc-sections, so only live code (and only the
#    compat stubs a tool really reaches) ends up in each binary.
TARGET="--target=wasm32-wasi"
EMUL="-D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS -D_WASI_EMULATED_MMAN -D_WASI_EMULATED_GETPID"
INC="-nostdlibinc -isystem $COMPAT/include -isystem /usr/include/wasm32-wasi"
clang $TARGET -D__linux__ $EMUL $INC -Wall -Os -ffunction-sections -fdata-sections \
  -c "$COMPAT/compat.c" -o "$WORK/compat.o"
export CC=clang HOSTCC=gcc NOSTRIP=1 CPUS=2
export CFLAGS="$TARGET -D__linux__ $EMUL $INC -include $COMPAT/compat.h"
export LDFLAGS="$TARGET $WORK/compat.o -Wl,--strip-all -lwasi-emulated-signal -lwasi-emulated-process-clocks -lwasi-emulated-mman -lwasi-emulated-getpid"
export LDOPTIMIZE="-Wl,--gc-sections"

# 4. One wasm per tool.
mkdir -p "$OUT"
for t in $TOOLS; do
  PREFIX="$WORK/bin/" scripts/single.sh "$t"
  install -m 0644 "$WORK/bin/$t" "$OUT/$t.wasm"
done
cp LICENSE "$OUT/LICENSE.toybox"

# 5. Record what was built (README.md in fixtures/guests is written by hand; this is the data).
{
  echo "source package: $PKG $VERSION (Debian bookworm), $ORIG sha256 $GOT"
  echo "compiler: $(clang --version | head -1)"
  echo "wasi-libc: $(dpkg-query -W -f '${Version}' wasi-libc)"
  echo "CFLAGS (plus toybox's own): $CFLAGS" | sed "s#$REPO/##g"
  echo "LDFLAGS: $LDFLAGS $LDOPTIMIZE" | sed "s#$WORK/##g"
  for t in $TOOLS; do echo "$t.wasm sha256 $(sha256sum "$OUT/$t.wasm" | cut -d' ' -f1) bytes $(stat -c %s "$OUT/$t.wasm")"; done
} > "$OUT/BUILD-INFO.txt"
[ -n "${KEEP:-}" ] || rm -rf "$WORK"
echo "built: $(cd "$OUT" && ls *.wasm | xargs)"
