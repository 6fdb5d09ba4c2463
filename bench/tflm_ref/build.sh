#!/usr/bin/env bash
# Kiln's copy of ../shared/tools/tflm-qemu/build.sh for the boards without DSP (issue 19's anchors):
# the same TFLite Micro, reference kernels only, built for one target (about 25 min on one core):
#   TARGET=m0plus (default)  -mcpu=cortex-m0plus (qemu-m0plus)
#   TARGET=rv32              riscv64-unknown-elf -march=rv32imc -mabi=ilp32 with picolibc (qemu-rv32)
#   TARGET=m55               -mcpu=cortex-m55 (qemu-m55): reference and CMSIS-NN (Helium) kernels
# into:
#   lib/<TARGET>/ref/libtflm.a   TFLM runtime + reference kernels (not in git: build it); m55: and cmsis/
#   lib/<TARGET>/ref/flags.txt   its compile flags (include paths relative to this folder)
#   lib/REVS                     the source commits
#   include/                                the headers fw/main.cc includes, plus each source tree's LICENSE
#
# Sources: local bare clones (git clone --mirror URL DIR), named by environment variables:
#   TFLM_GIT         https://github.com/tensorflow/tflite-micro  90b983c2b3f1480642e040bbd2ddb37b998f3424
#   CMSIS_NN_GIT     https://github.com/ARM-software/CMSIS-NN    4ab83cc3cc98fb85ed6dafb55e8ca02f1628dcae
#   FLATBUFFERS_GIT  https://github.com/google/flatbuffers       187240970746d00bbd26b0f5873ed54d2477f9f3 (v25.9.23)
#   GEMMLOWP_GIT     https://github.com/google/gemmlowp          719139ce755a0f31cbf1c37f7f98adcc7fc9f425
#   RUY_GIT          https://github.com/google/ruy               d37128311b445e758136b8602d1bbd2a755e115d
# (the pins of that TFLM commit: cmsis_nn_download.sh, flatbuffers_download.sh, third_party_downloads.inc).
# Optional: TFLM_REV CMSIS_NN_REV FLATBUFFERS_REV GEMMLOWP_REV RUY_REV (build other commits),
#   TFLM_QEMU_BUILD (sources + objects, default ~/.cache/tflm-qemu/build), JOBS (default: nproc).
# Idempotent: a second run only rebuilds what changed.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${TFLM_QEMU_BUILD:-$HOME/.cache/tflm-qemu/build}
mkdir -p "$BUILD" && BUILD=$(cd "$BUILD" && pwd)
JOBS=${JOBS:-$(nproc)}
SRC=$BUILD/src
TARGET=${TARGET:-m0plus}
case $TARGET in
  m0plus) CROSS=arm-none-eabi- ;;
  rv32) CROSS=riscv64-unknown-elf- ;;
  m55) CROSS=arm-none-eabi- ;;
  *) echo "TARGET=$TARGET: m0plus, rv32 or m55" >&2; exit 2 ;;
esac
KERNEL_SETS=ref
[ "$TARGET" = m55 ] && KERNEL_SETS="ref cmsis"

missing=
for t in ${CROSS}gcc ${CROSS}g++ ${CROSS}ar arm-none-eabi-g++ make git patch tar; do
  command -v $t >/dev/null || missing+=" $t"
done
if [ -z "$missing" ]; then  # rv32 borrows the arm-none-eabi libstdc++'s headers (tflm.mk says why)
  case $(arm-none-eabi-g++ -mcpu=cortex-m0plus -mthumb -print-file-name=libstdc++_nano.a) in /*) ;; *) missing+=" libstdc++_nano.a";; esac
fi
if [ -n "$missing" ]; then
  echo "missing:$missing. Install (Debian 12):" >&2
  echo "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib make git patch" >&2
  [ "$TARGET" = rv32 ] && echo "apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf" >&2
  exit 2
fi

# name | variable | public repository | pinned commit
SOURCES="tflite-micro TFLM_GIT https://github.com/tensorflow/tflite-micro ${TFLM_REV:-90b983c2b3f1480642e040bbd2ddb37b998f3424}
cmsis-nn CMSIS_NN_GIT https://github.com/ARM-software/CMSIS-NN ${CMSIS_NN_REV:-4ab83cc3cc98fb85ed6dafb55e8ca02f1628dcae}
flatbuffers FLATBUFFERS_GIT https://github.com/google/flatbuffers ${FLATBUFFERS_REV:-187240970746d00bbd26b0f5873ed54d2477f9f3}
gemmlowp GEMMLOWP_GIT https://github.com/google/gemmlowp ${GEMMLOWP_REV:-719139ce755a0f31cbf1c37f7f98adcc7fc9f425}
ruy RUY_GIT https://github.com/google/ruy ${RUY_REV:-d37128311b445e758136b8602d1bbd2a755e115d}"

unset_vars=0
while read -r name var url rev; do
  if [ -z "${!var:-}" ]; then
    echo "$var is not set: it names a local bare clone of $url (needs commit $rev):" >&2
    echo "  git clone --mirror $url DIR && export $var=DIR" >&2
    unset_vars=1
  fi
done <<< "$SOURCES"
[ $unset_vars = 0 ] || exit 2

# extract NAME GITDIR REV URL: `git archive REV` into $SRC/NAME unless that commit is already there
extract() {
  local name=$1 git=$2 rev=$3 url=$4 sha
  [ -d "$git/.git" ] && git=$git/.git
  git --git-dir="$git" rev-parse --git-dir >/dev/null 2>&1 || { echo "$name: $git is not a git repository (want a bare clone of $url)" >&2; exit 2; }
  sha=$(git --git-dir="$git" rev-parse --verify -q "$rev^{commit}") ||
    { echo "$name: commit $rev is not in $git; update the clone from $url (git --git-dir=$git fetch origin)" >&2; exit 2; }
  if [ "$(cat "$SRC/$name/.tflm-qemu-rev" 2>/dev/null)" != "$sha" ]; then
    echo "extracting $name @ $sha"
    rm -rf "$SRC/$name.tmp" && mkdir -p "$SRC/$name.tmp"
    git --git-dir="$git" archive "$sha" | tar -x -C "$SRC/$name.tmp"
    if [ "$name" = flatbuffers ]; then   # TFLM's patch (flatbuffers_download.sh)
      patch -s -d "$SRC/$name.tmp" -p1 < "$SRC/tflite-micro/tensorflow/lite/micro/tools/make/flatbuffers.patch"
    fi
    echo "$sha" > "$SRC/$name.tmp/.tflm-qemu-rev"
    rm -rf "$SRC/$name" && mv "$SRC/$name.tmp" "$SRC/$name"
  fi
  echo "$name $sha" >> "$SRC/REVS.tmp"
}
mkdir -p "$SRC"
rm -f "$SRC/REVS.tmp"
while read -r name var url rev; do extract "$name" "${!var}" "$rev" "$url"; done <<< "$SOURCES"
mv "$SRC/REVS.tmp" "$SRC/REVS"

for k in $KERNEL_SETS; do
  make -s -f "$HERE/tflm.mk" SRC="$SRC" TARGET="$TARGET" KERNELS=$k OUT="$BUILD/$TARGET/$k" -j"$JOBS"
  make -s -f "$HERE/tflm.mk" SRC="$SRC" TARGET="$TARGET" KERNELS=$k OUT="$BUILD/$TARGET/$k" flags > "$BUILD/$TARGET/$k/flags.txt"
done

# --- install into this folder: libraries, flags with relative include paths, pruned headers ---
STAGE=$BUILD/install
rm -rf "$STAGE" && mkdir -p "$STAGE/lib" "$STAGE/include"
# model_config.h only defines macros (measure.py writes the real one), so the include set is model-independent
printf '%s\n' '#define TFLM_KERNELS "x"' '#define TFLM_NUM_OPS 1' '#define TFLM_NUM_RESOURCE_VARS 1' \
  '#define TFLM_ARENA_SIZE 16' '#define TFLM_ADD_OPS(r) do { } while (0)' > "$STAGE/model_config.h"
for k in $KERNEL_SETS; do
  mkdir -p "$STAGE/lib/$TARGET/$k"
  cp "$BUILD/$TARGET/$k/libtflm.a" "$STAGE/lib/$TARGET/$k/"
  sed "s|-I$SRC/|-Iinclude/|g" "$BUILD/$TARGET/$k/flags.txt" > "$STAGE/lib/$TARGET/$k/flags.txt"
  cxxflags=$(sed -n 's/^CXXFLAGS=//p' "$BUILD/$TARGET/$k/flags.txt")
  cxxflags=${cxxflags//-MMD/}; cxxflags=${cxxflags//-MP/}
  includes=$(sed -n 's/^INCLUDES=//p' "$BUILD/$TARGET/$k/flags.txt")
  ${CROSS}g++ $cxxflags $includes -I"$STAGE" -MM -MF "$STAGE/$k.d" -o /dev/null "$HERE/fw/main.cc"
  tr -s ' \\' '\n\n' < "$STAGE/$k.d" | grep -F "$SRC/" | xargs -d '\n' realpath -m -s --relative-to="$SRC" >> "$STAGE/headers"
done
sort -u "$STAGE/headers" | (cd "$SRC" && xargs -d '\n' cp --parents -t "$STAGE/include")
for t in tflite-micro cmsis-nn flatbuffers gemmlowp ruy; do
  mkdir -p "$STAGE/include/$t" && cp "$SRC/$t/LICENSE" "$STAGE/include/$t/"
done
cp "$SRC/REVS" "$STAGE/lib/REVS"
# the pruned tree must compile fw/main.cc with both kernel sets
for k in $KERNEL_SETS; do
  cxxflags=$(sed -n 's/^CXXFLAGS=//p' "$STAGE/lib/$TARGET/$k/flags.txt")
  cxxflags=${cxxflags//-MMD/}; cxxflags=${cxxflags//-MP/}
  (cd "$STAGE" && ${CROSS}g++ $cxxflags $(sed -n 's/^INCLUDES=//p' "lib/$TARGET/$k/flags.txt") -I. \
     -c "$HERE/fw/main.cc" -o "main-$k.o")
done
rm -rf "$HERE/lib/$TARGET" "$HERE/include"  # the other target's library stays
mkdir -p "$HERE/lib"
mv "$STAGE/lib/$TARGET" "$STAGE/lib/REVS" "$HERE/lib/"
mv "$STAGE/include" "$HERE/"
rm -rf "$STAGE"
echo "OK: $HERE/lib/$TARGET/ref/libtflm.a, $(find "$HERE/include" -name '*.h' | wc -l) headers in include/"
cat "$HERE/lib/REVS"
