#!/bin/sh
# Runs every benchmark (AVX2 build, then the scalar build of the same source) and prints the
# scalar/AVX2 ratios. Usage: bench/run.sh BUILD_DIR
dir=${1:-build}
export OMP_PROC_BIND=${OMP_PROC_BIND:-close}
for b in "$dir"/bench_*; do
    case "$b" in *_scalar) continue ;; esac
    [ -x "$b" ] || continue
    "$b" | tee "$b.out"
    if [ -x "${b}_scalar" ]; then
        "${b}_scalar" | sed 's/^bench=\([^ ]*\)/bench=\1_scalar/' | tee "${b}_scalar.out"
    fi
done
# scalar/AVX2 speed ratios for the headline figures
for pair in "w1_pa_grad_ns_1t:ns" "w4_softmax_gbs_1t:gbs" "rng_normal_f32_rate:rate"; do
    name=${pair%%:*}; kind=${pair##*:}
    a=$(cat "$dir"/bench_*.out | sed -n "s/^bench=$name value=\([^ ]*\).*/\1/p" | head -n 1)
    s=$(cat "$dir"/bench_*.out | sed -n "s/^bench=${name}_scalar value=\([^ ]*\).*/\1/p" | head -n 1)
    [ -n "$a" ] && [ -n "$s" ] || continue
    if [ "$kind" = ns ]; then r=$(awk "BEGIN{print $s/$a}"); else r=$(awk "BEGIN{print $a/$s}"); fi
    echo "bench=${name%_1t}_avx2_over_scalar value=$r unit=x"
done
