#!/bin/sh
# make platforms: the suite built the ways drop-in users build it (other compilers and modes,
# another CPU, another OS), each in the quick mode, and each run's dump compared with the
# strict scalar build's: kernels, samplers, generators and training byte for byte; the
# double-precision theory that goes through the C library's exp/log/erf only reported (a
# different C library may change its last bits).
# Needs: gcc clang tcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
#        gcc-mingw-w64-x86-64 wine64 (a platform whose tools are missing is reported, and fails)
# The last line is the total: "N passed, N failed".
cd "$(dirname "$0")/.."
B=${B:-build}/platforms
STB_INC=${STB_INC:-/usr/include/stb}
mkdir -p "$B"
export OMP_WAIT_POLICY=passive WINEDEBUG=-all WINEPREFIX=${WINEPREFIX:-$PWD/$B/wine} QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
P=0; F=0
X86=scalar; grep -qw avx2 /proc/cpuinfo 2>/dev/null && X86=avx2
SRC="tests/test_main.c tests/test_foundation.c tests/test_p1_models.c tests/test_p1_theory.c tests/test_icl_theory.c tests/test_icl_train.c tests/test_api.c tests/test_hardening.c tests/test_nowrite.c"
STRICT="-std=c99 -Wall -Wextra -pedantic -Werror"
INC="-I. -I$STB_INC -DPATTN_STB_DS_IMPLEMENTATION"
have() { command -v "$1" > /dev/null 2>&1; }
pass() { P=$((P + 1)); echo "platforms: ok    $*"; }
fail() { F=$((F + 1)); echo "FAIL platforms: $*"; }

cc -O2 -Wall -Wextra -Werror tests/tools/dumpdiff.c -o "$B/dumpdiff" -lm || exit 1
# the reference: strict C99, no contraction, the scalar path, one thread
cc $STRICT -O2 -ffp-contract=off $INC -DPATTN_NO_SIMD -fopenmp -o "$B/ref" $SRC -lm || exit 1
OMP_NUM_THREADS=1 "$B/ref" --quick --dump "$B/ref.bin" > "$B/ref.log" 2>&1 || { fail "the reference build fails its own suite"; tail -n 3 "$B/ref.log"; }

# one platform: label, expected simd path, tool that must exist, run prefix, compiler and flags...
platform() {
    label=$1; path=$2; tool=$3; runner=$4; shift 4
    if ! have "$tool" || { [ -n "$runner" ] && ! have "${runner%% *}"; }; then
        fail "$label: $tool${runner:+ or ${runner%% *}} is not installed"; return
    fi
    exe="$B/$label"
    case "$tool" in *mingw*) exe="$exe.exe" ;; esac
    if ! "$@" -o "$exe" $SRC -lm > "$B/$label.build.log" 2>&1; then
        fail "$label: does not build: $(head -n 3 "$B/$label.build.log" | tr '\n' ' ')"; return
    fi
    t0=$(date +%s)
    OMP_NUM_THREADS=2 $runner "$exe" --quick --dump "$B/$label.bin" > "$B/$label.log" 2>&1
    t1=$(date +%s)
    res=$(tail -n 1 "$B/$label.log" | tr -d '\r')
    got=$(tr -d '\r' < "$B/$label.log" | sed -n 's/.*simd path: \([a-z0-9+]*\).*/\1/p' | head -n 1)
    case "$res" in
        *" passed, 0 failed") pass "$label: suite $res ($((t1 - t0)) s), path $got" ;;
        *) fail "$label: suite '$res'"; grep '^FAIL' "$B/$label.log" | head -n 5 ;;
    esac
    case "$path" in
        "$got") ;;
        avx2*) if [ "${got%%+*}" = avx2 ]; then :; else fail "$label: path $got, expected $path"; fi ;;
        *) fail "$label: path $got, expected $path" ;;
    esac
    if "$B/dumpdiff" "$B/ref.bin" "$B/$label.bin" "$label" > "$B/$label.diff" 2>&1; then
        pass "$(tail -n 1 "$B/$label.diff")"
    else
        fail "$label: dump differs from the reference"; head -n 5 "$B/$label.diff"
    fi
}

platform gcc-gnu-avx2      $X86   gcc   "" gcc -O2 -Wall -Wextra -Werror $INC -mavx2 -mfma -fopenmp
platform gcc-gnu-noflags   $X86   gcc   "" gcc -O2 -Wall -Wextra -Werror $INC -fopenmp
platform gcc-c99-noflags   $X86   gcc   "" gcc $STRICT -O2 $INC -fopenmp
platform gcc-O0-noflags    $X86   gcc   "" gcc $STRICT -O0 $INC -fopenmp
platform gcc-O3-native     $X86   gcc   "" gcc $STRICT -O3 -march=native $INC -fopenmp
platform clang-avx2        $X86   clang "" clang $STRICT -O2 $INC -mavx2 -mfma -fopenmp
platform clang-noflags     $X86   clang "" clang $STRICT -O2 $INC -fopenmp
platform tcc               scalar tcc   "" tcc $INC
platform aarch64-qemu      neon   aarch64-linux-gnu-gcc qemu-aarch64 aarch64-linux-gnu-gcc $STRICT -O2 $INC -fopenmp
platform mingw-wine        $X86   x86_64-w64-mingw32-gcc wine x86_64-w64-mingw32-gcc $STRICT -O2 $INC -fopenmp -static
echo "$P passed, $F failed"
[ "$F" -eq 0 ]
