#!/bin/bash
# Installs what `npm run bench` measures against, where it is missing, and says what it did.
# Run by tools/bench/index.ts before anything else (root and apt-get needed; elsewhere it
# only reports what is missing). Idempotent: a second run finds everything and does nothing.
#
#   bash tools/bench/setup.sh            (EROFS_BENCH_CACHE: where 1.8+ is unpacked, as corpus.ts)
#
# From Debian's packages:
#   gcc, liblz4-dev, liblzma-dev, zlib1g-dev, libzstd-dev   the native codec loops
#   erofs-utils                                             mkfs.erofs 1.5 (bookworm's)
#   debootstrap                                             the Debian minbase tree
# erofs-utils 1.8 or newer (mkfs.erofs for most images, fsck.erofs --extract as the walk's
# baseline) is not in bookworm: unless one is found (/opt/erofs-utils/bin, the cache, PATH),
# Debian trixie's package and the libraries it links are downloaded with apt-get through a
# private apt configuration (the machine's sources are not touched), unpacked under
# $EROFS_BENCH_CACHE/erofs-utils, and run through trixie's own loader by small wrappers in
# $EROFS_BENCH_CACHE/erofs-utils/bin (mkfs.erofs18, fsck.erofs18, dump.erofs18).
set -uo pipefail
CACHE=${EROFS_BENCH_CACHE:-$HOME/.cache/erofs-js-bench}
MIRROR=${EROFS_BENCH_MIRROR:-http://deb.debian.org/debian}
say() { echo "bench setup: $*" >&2; }
root=0; [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && root=1

need=()
command -v gcc >/dev/null || need+=(gcc)
for p in liblz4-dev liblzma-dev zlib1g-dev libzstd-dev debootstrap erofs-utils; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ $root = 1 ]; then
    say "apt-get install ${need[*]}"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || say "apt-get install ${need[*]} failed"
  else
    say "missing ${need[*]}: run as root, or apt-get install -y ${need[*]}"
  fi
fi

is18() { "$1" -V 2>/dev/null | grep -Eq 'erofs-utils\)? *1\.(8|9|[1-9][0-9])|erofs-utils\)? *[2-9]\.'; }
have18=''
for b in /opt/erofs-utils/bin/fsck.erofs19 /opt/erofs-utils/bin/fsck.erofs18 "$CACHE/erofs-utils/bin/fsck.erofs18" "$(command -v fsck.erofs)"; do
  [ -n "$b" ] && [ -x "$b" ] && is18 "$b" && { have18=$b; break; }
done
if [ -n "$have18" ]; then
  say "erofs-utils 1.8+: $have18"
elif [ $root = 0 ]; then
  say "no erofs-utils 1.8+ (run this script as root to fetch Debian trixie's)"
else
  dir=$CACHE/erofs-utils
  say "erofs-utils 1.8+: fetching Debian trixie's package into $dir"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/apt/lists/partial" "$dir.tmp/apt/archives/partial" "$dir.tmp/debs" "$dir.tmp/root" || exit 1
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" >"$dir.tmp/apt/sources.list"
  apt=(apt-get -qq -o "Dir::Etc::sourcelist=$dir.tmp/apt/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$dir.tmp/apt/lists" -o "Dir::Cache::Archives=$dir.tmp/apt/archives" -o APT::Sandbox::User=root)
  pkgs=(erofs-utils libc6 libgcc-s1 libdeflate0 liblz4-1 liblzma5 libpcre2-8-0 libselinux1 libuuid1 libxxhash0 zlib1g libzstd1)
  if "${apt[@]}" update && (cd "$dir.tmp/debs" && "${apt[@]}" download "${pkgs[@]}"); then
    for d in "$dir.tmp"/debs/*.deb; do dpkg-deb -x "$d" "$dir.tmp/root"; done
    mkdir -p "$dir.tmp/bin"
    for t in mkfs fsck dump; do
      printf '#!/bin/sh\nexec "%s/root/usr/lib64/ld-linux-x86-64.so.2" --library-path "%s/root/usr/lib/x86_64-linux-gnu" "%s/root/usr/bin/%s.erofs" "$@"\n' "$dir" "$dir" "$dir" "$t" >"$dir.tmp/bin/$t.erofs18"
      chmod +x "$dir.tmp/bin/$t.erofs18"
    done
    rm -rf "$dir.tmp/apt" "$dir.tmp/debs" "$dir" && mv "$dir.tmp" "$dir"
    if is18 "$dir/bin/fsck.erofs18"; then say "erofs-utils 1.8+: $("$dir/bin/fsck.erofs18" -V | head -1) in $dir/bin"; else say "trixie's erofs-utils does not run here"; fi
  else
    say "could not download trixie's erofs-utils from $MIRROR"
    rm -rf "$dir.tmp"
  fi
fi
