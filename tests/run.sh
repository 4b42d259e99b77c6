#!/bin/sh
# Runs the suite in several builds and compares their dumps byte for byte with the first
# (the strict scalar build): the SIMD path, the dispatch, the compiler's contraction mode and
# the thread count must not change a bit. Then the drop-in builds (tests/dropin.sh).
# Usage: run.sh [--quick] TAG=BINARY:THREADS ...    (the first is the reference)
# The last line is the total: "N passed, N failed".
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} # no spinning: many short parallel regions on a shared machine
quick=""
if [ "$1" = "--quick" ]; then quick="--quick"; shift; fi
P=0; F=0; ref=""; dir=""
count() { tail -n 1 "$1" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p'; }
for spec in "$@"; do
    tag=${spec%%=*}; rest=${spec#*=}; bin=${rest%:*}; thr=${rest##*:}
    [ -n "$dir" ] || dir=$(dirname "$bin")
    OMP_NUM_THREADS=$thr "$bin" $quick --dump "$dir/dump_$tag.bin" > "$dir/log_$tag.txt" 2>&1; rc=$?
    label=$(printf '[%s]' "$tag")
    sed "s/^/$label /" "$dir/log_$tag.txt" | grep -v ' passed, .* failed$'
    set -- $(count "$dir/log_$tag.txt")
    p=${1:-0}; f=${2:-1}
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1 # a crash counts as a failure
    P=$((P + p)); F=$((F + f))
    if [ -z "$ref" ]; then
        ref=$tag
    elif cmp -s "$dir/dump_$ref.bin" "$dir/dump_$tag.bin"; then
        echo "bit-identity: $tag ($thr threads) matches $ref ($(wc -c < "$dir/dump_$tag.bin") bytes)"; P=$((P + 1))
    else
        echo "FAIL bit-identity: $tag and $ref dumps differ: $(cmp "$dir/dump_$ref.bin" "$dir/dump_$tag.bin" 2>&1 | head -n 1)"; F=$((F + 1))
    fi
done
if grep -q 'avx512 kernels: on' "$dir"/log_*.txt; then
    echo "note: the AVX-512 kernels ran and are covered by the comparisons above"
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
