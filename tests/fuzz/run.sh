#!/bin/sh
# make fuzz FUZZ_S=N: build every libFuzzer target with clang (ASan + UBSan) and run each for
# N seconds from its seed corpus. Memory is capped, so an over-large request shows up as a
# failure; so does any input slower than 60 s (the heaviest valid call, a head risk on a
# sampled law of 100,000 atoms, takes about 30 s under the sanitizers). A crash leaves its input in build/fuzz/.
# Usage: tests/fuzz/run.sh SECONDS TARGET...
set -u
S=$1; shift
B=build/fuzz
CC=${FUZZ_CC:-clang}
mkdir -p $B
fail=0
for t in "$@"; do
    if ! $CC -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -I. -I/usr/include/stb -Itests/fuzz -o $B/fuzz_$t tests/fuzz/fuzz_$t.c -lm; then
        echo "FAIL fuzz: $t does not build"; fail=1; continue
    fi
    mkdir -p $B/work_$t tests/fuzz/corpus/$t
    $B/fuzz_$t -max_total_time="$S" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=60 \
        -print_final_stats=1 -artifact_prefix=$B/$t- $B/work_$t tests/fuzz/corpus/$t > $B/log_$t.txt 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' $B/log_$t.txt)
    if [ $rc -eq 0 ]; then
        echo "fuzz: ok    $t: ${runs:-?} executions in $S s"
    else
        echo "FAIL fuzz: $t (exit $rc) after ${runs:-?} executions; log $B/log_$t.txt"
        grep -E "^fuzz:|ERROR|SUMMARY|runtime error" $B/log_$t.txt | head -5
        fail=1
    fi
done
exit $fail
