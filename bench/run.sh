#!/bin/sh
# Runs every benchmark: the AVX2 build (with its run-time AVX-512 kernels where the CPU has
# them), the same without AVX-512 (names suffixed _no512) and the scalar twin where one is
# built (_scalar). Then prints the speed ratios and each workload's roofline fraction against
# the machine's limits measured in the same run. Usage: bench/run.sh BUILD_DIR
dir=${1:-build}
export OMP_PROC_BIND=${OMP_PROC_BIND:-close}
all="$dir/bench_all.out"
: > "$all"
for b in "$dir"/bench_*; do
    case "$b" in *_scalar|*_no512|*_dispatch|*.out|*/bench_sizes*) continue ;; esac # bench-sizes is its own target
    [ -x "$b" ] || continue
    "$b" | tee -a "$all"
    if [ -x "${b}_no512" ]; then
        "${b}_no512" | sed 's/^bench=\([^ ]*\)/bench=\1_no512/' | tee -a "$all"
    fi
    if [ -x "${b}_dispatch" ]; then
        "${b}_dispatch" | sed 's/^bench=\([^ ]*\)/bench=\1_dispatch/' | tee -a "$all"
    fi
    if [ -x "${b}_scalar" ]; then
        "${b}_scalar" | sed 's/^bench=\([^ ]*\)/bench=\1_scalar/' | tee -a "$all"
    fi
done
val() { sed -n "s/^bench=$1 value=\([^ ]*\).*/\1/p" "$all" | head -n 1; }
ratio() { # name, kind (time: lower is better; rate: higher is better), numerator build, label
    a=$(val "$1$3"); s=$(val "${1}_scalar")
    [ -n "$a" ] && [ -n "$s" ] || return 0
    if [ "$2" = time ]; then r=$(awk "BEGIN{print $s/$a}"); else r=$(awk "BEGIN{print $a/$s}"); fi
    echo "bench=${1%_1t}_$4_over_scalar value=$r unit=x"
}
echo "# speed over the scalar build (1 thread): AVX2 alone, and with the AVX-512 kernels"
for w in w1_pa_grad_ns_1t:time w4_softmax_gbs_1t:rate rng8_normal_f32_rate:rate; do
    ratio "${w%%:*}" "${w##*:}" _no512 avx2
    ratio "${w%%:*}" "${w##*:}" "" simd
done
echo "# the AVX-512 kernels over the same build without them (2 threads; 1 for the sampler)"
for n in w1_pa_grad_ns:time w2_cmm_gen_sps:rate w3_icl_step_reduced_ms:time w3_icl_step_full_ms:time w4_softmax_gbs:rate w5_icl_train_s:time rng8_normal_f32_rate:rate; do
    name=${n%%:*}; kind=${n##*:}; a=$(val "$name"); b=$(val "${name}_no512")
    [ -n "$a" ] && [ -n "$b" ] || continue
    if [ "$kind" = time ]; then r=$(awk "BEGIN{print $b/$a}"); else r=$(awk "BEGIN{print $a/$b}"); fi
    echo "bench=${name}_avx512_over_avx2 value=$r unit=x"
done
echo "# built without SIMD flags (run-time dispatch) against -mavx2 -mfma: 1 = as fast, 0.9 = 10% slower"
for n in w1_pa_grad_ns:time w2_cmm_gen_sps:rate w3_icl_step_reduced_ms:time w3_icl_step_full_ms:time w4_softmax_gbs:rate w5_icl_train_s:time rng8_normal_f32_rate:rate; do
    name=${n%%:*}; kind=${n##*:}; a=$(val "$name"); b=$(val "${name}_dispatch")
    [ -n "$a" ] && [ -n "$b" ] || continue
    if [ "$kind" = time ]; then r=$(awk "BEGIN{print $a/$b}"); else r=$(awk "BEGIN{print $b/$a}"); fi
    echo "bench=${name}_dispatch_over_flags value=$r unit=x"
done
echo "# 1 vs 2 threads"
for n in w1_pa_grad_ns:time w2_cmm_gen_sps:rate w3_icl_step_reduced_ms:time w3_icl_step_full_ms:time w4_softmax_gbs:rate; do
    name=${n%%:*}; kind=${n##*:}; a=$(val "${name}_1t"); b=$(val "${name}_2t")
    [ -n "$a" ] && [ -n "$b" ] || continue
    if [ "$kind" = time ]; then r=$(awk "BEGIN{print $a/$b}"); else r=$(awk "BEGIN{print $b/$a}"); fi
    echo "bench=${name}_2t_over_1t value=$r unit=x"
done
# roofline: attainable = min(FMA peak, arithmetic intensity x best measured bandwidth)
bw=$(awk -v t="$(val machine_triad_gbs)" -v c="$(val machine_copy_nt_gbs)" 'BEGIN{print (c > t ? c : t)}')
peak=$(val machine_fma_peak_gflops)
echo "# roofline fractions (bandwidth $bw GB/s = max of triad and streaming copy; W1 against the read-only $(val machine_read_gbs) GB/s; FMA peak $peak GFLOP/s)"
g=$(val w1_pa_grad_gflops)
# W1 only reads: 4*T*d bytes per sample for 8Td + 13T + 8 flops (T = 32, d = 64), against
# the read-only bandwidth when measured
rbw=$(val machine_read_gbs); rbw=${rbw:-$bw}
[ -n "$g" ] && awk -v g="$g" -v bw="$rbw" -v pk="$peak" 'BEGIN{ai=(8*32*64+13*32+8)/(4*32*64); r=ai*bw; if (pk < r) r = pk;
    printf "bench=w1_pa_grad_roofline value=%.3f unit=fraction\n", g/r }'
s=$(val w2_cmm_gen_sps)
# W2 writes 4*T*d + 4 bytes per sample
[ -n "$s" ] && awk -v s="$s" -v bw="$bw" 'BEGIN{printf "bench=w2_cmm_gen_roofline value=%.3f unit=fraction\n", s*(4*32*64+4)/1e9/bw}'
w=$(val w4_softmax_gbs)
[ -n "$w" ] && awk -v w="$w" -v bw="$bw" 'BEGIN{printf "bench=w4_softmax_roofline value=%.3f unit=fraction\n", w/bw}'
r=$(val rng8_normal_f32_rate)
# W3 and W5 are bound by drawing normals, not by memory or FMAs: their share of the sampler's
# rate is the meaningful fraction (normals per step: 2 tasks x 3072 x (n + 1) x d, plus betas)
t3=$(val w3_icl_step_reduced_ms_1t)
[ -n "$t3" ] && [ -n "$r" ] && awk -v t="$t3" -v r="$r" 'BEGIN{nrm=2*3072*(51*10+10); printf "bench=w3_icl_step_reduced_sampler_fraction value=%.3f unit=fraction\n", nrm/r/(t*1e-3)}'
