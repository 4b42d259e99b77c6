#!/bin/sh
# Runs the AVX2 build with 2 threads (its AVX-512 kernels on where the CPU has them), the
# same build without AVX-512 with 1 thread (when given) and the scalar build with 1 thread,
# then compares their dumps byte for byte: SIMD path and thread count must not change a bit.
# Usage: run.sh [--quick] AVX2_BIN SCALAR_BIN [AVX2_NO512_BIN]
# The last line is the total: "N passed, N failed".
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} # no spinning: many short parallel regions on a shared machine
quick=""
if [ "$1" = "--quick" ]; then quick="--quick"; shift; fi
a=$1; s=$2; n=$3; dir=$(dirname "$a")
P=0; F=0
count() { tail -n 1 "$1" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p'; }
run() { # binary, threads, tag, label
    OMP_NUM_THREADS=$2 "$1" $quick --dump "$dir/dump_$3.bin" > "$dir/log_$3.txt" 2>&1; rc=$?
    sed "s/^/$4 /" "$dir/log_$3.txt" | grep -v ' passed, .* failed$'
    set -- $(count "$dir/log_$3.txt")
    p=${1:-0}; f=${2:-1}
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1 # a crash counts as a failure
    P=$((P + p)); F=$((F + f))
}
same() { # tag, tag, description
    if cmp -s "$dir/dump_$1.bin" "$dir/dump_$2.bin"; then
        echo "bit-identity: $3 outputs match ($(wc -c < "$dir/dump_$1.bin") bytes)"; P=$((P + 1))
    else
        echo "FAIL bit-identity: $3 dumps differ: $(cmp "$dir/dump_$1.bin" "$dir/dump_$2.bin" 2>&1 | head -n 1)"; F=$((F + 1))
    fi
}
run "$a" 2 a "[avx2]  "
run "$s" 1 s "[scalar]"
same a s "avx2 (2 threads) and scalar (1 thread)"
if [ -n "$n" ]; then
    run "$n" 1 n "[no512] "
    same n s "avx2 without AVX-512 (1 thread) and scalar (1 thread)"
fi
if grep -q 'avx512 kernels: on' "$dir/log_a.txt"; then
    echo "note: the AVX-512 kernels ran in the avx2 build and are covered by the comparisons above"
else
    echo "note: this CPU lacks AVX-512 (F, VL, DQ, BW): only the AVX2 and scalar paths were compared"
fi
if [ -z "$quick" ]; then # the drop-in builds: zero-init in C/C++, stb_ds's names, two headers
    B="$dir" sh "$(dirname "$0")/dropin.sh" > "$dir/log_dropin.txt" 2>&1
    grep -v ' passed, .* failed$' "$dir/log_dropin.txt"
    set -- $(count "$dir/log_dropin.txt")
    P=$((P + ${1:-0})); F=$((F + ${2:-1}))
fi
echo "$P passed, $F failed"
[ "$F" -eq 0 ]
