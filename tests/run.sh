#!/bin/sh
# Runs the AVX2 build with 2 threads and the scalar build with 1 thread, then compares their
# dumps byte for byte: one comparison proves SIMD-path and thread-count independence.
# The last line is the total: "N passed, N failed".
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} # no spinning: many short parallel regions on a shared machine
quick=""
if [ "$1" = "--quick" ]; then quick="--quick"; shift; fi
a=$1; s=$2; dir=$(dirname "$a")
OMP_NUM_THREADS=2 "$a" $quick --dump "$dir/dump_a.bin" > "$dir/log_a.txt" 2>&1; ra=$?
sed 's/^/[avx2]   /' "$dir/log_a.txt" | grep -v ' passed, .* failed$' 
OMP_NUM_THREADS=1 "$s" $quick --dump "$dir/dump_s.bin" > "$dir/log_s.txt" 2>&1; rs=$?
sed 's/^/[scalar] /' "$dir/log_s.txt" | grep -v ' passed, .* failed$'
count() { tail -n 1 "$1" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p'; }
set -- $(count "$dir/log_a.txt") $(count "$dir/log_s.txt")
pa=${1:-0}; fa=${2:-1}; ps=${3:-0}; fs=${4:-1}
[ "$ra" -ne 0 ] && [ "$fa" -eq 0 ] && fa=1   # a crash counts as a failure
[ "$rs" -ne 0 ] && [ "$fs" -eq 0 ] && fs=1
if cmp -s "$dir/dump_a.bin" "$dir/dump_s.bin"; then
    echo "bit-identity: avx2 (2 threads) and scalar (1 thread) outputs match ($(wc -c < "$dir/dump_a.bin") bytes)"; pc=1; fc=0
else
    echo "FAIL bit-identity: avx2 and scalar dumps differ: $(cmp "$dir/dump_a.bin" "$dir/dump_s.bin" 2>&1 | head -n 1)"; pc=0; fc=1
fi
P=$((pa + ps + pc)); F=$((fa + fs + fc))
echo "$P passed, $F failed"
[ "$F" -eq 0 ]
