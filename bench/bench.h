/* Shared timing helpers for the benchmarks: medians of repeated runs after a warm-up,
   printed as `bench=<name> value=<v> unit=<u>`. */
#ifndef PATTN_BENCH_H
#define PATTN_BENCH_H
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define BENCH_REPEATS 9

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct bench_stat { double median, min, max; } bench_stat;

/* time fn(ctx) BENCH_REPEATS times after one warm-up call; seconds per call */
static inline bench_stat bench_time(void (*fn)(void *), void *ctx)
{
    double t[BENCH_REPEATS];
    bench_stat s;
    int i;
    fn(ctx);
    for (i = 0; i < BENCH_REPEATS; ++i) {
        double t0 = bench_now();
        fn(ctx);
        t[i] = bench_now() - t0;
    }
    qsort(t, BENCH_REPEATS, sizeof t[0], bench_cmp);
    s.median = t[BENCH_REPEATS / 2];
    s.min = t[0];
    s.max = t[BENCH_REPEATS - 1];
    return s;
}

/* 64-byte aligned allocation (streaming stores want 32-byte alignment) */
static inline void *bench_alloc(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes)) return NULL;
    return p;
}

static inline void bench_print(const char *name, double v, const char *unit)
{
    printf("bench=%s value=%.6g unit=%s\n", name, v, unit);
    fflush(stdout);
}

static inline void bench_set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

static inline int bench_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static inline void bench_header(const char *name)
{
    printf("# %s: simd path %s, avx512 kernels %s, %d threads available\n", name, pattn_simd_path(),
           pattn_avx512_active() ? "on" : "off", bench_max_threads());
}
#endif
