#define _POSIX_C_SOURCE 200809L /* clock_gettime, posix_memalign */
/* The machine's own limits, measured in the same run as the workloads: a STREAM-like triad
   a = b + s c over arrays far larger than the caches (GB/s counting 3 floats per element,
   as STREAM does), a read + non-temporal-write copy (GB/s, 2 floats per element: the best
   streaming bandwidth), a read-only sum (GB/s: the ceiling of a kernel that only reads its
   data, as W1 does), and the AVX2 FMA peak (GFLOP/s from independent FMA chains). The
   benchmarks' roofline fractions are taken against these. */
#include <immintrin.h>
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include "bench.h"

/* OpenMP pragmas that vanish (without an unknown-pragma warning) when built without it */
#ifdef _OPENMP
#define BENCH_OMP(x) _Pragma(#x)
#else
#define BENCH_OMP(x)
#endif

enum { N = 1 << 25 }; /* 128 MiB per array */
static float *A, *Bv, *C;

static void triad(void *q)
{
    long i;
    (void)q;
BENCH_OMP(omp parallel for schedule(static))
    for (i = 0; i < N; ++i) A[i] = Bv[i] + 1.5f * C[i];
}

#if defined(__AVX2__) && defined(__FMA__)
/* read one array, write another with non-temporal stores: the traffic pattern of a
   streaming kernel (W4), with no read-for-ownership */
static void copy_nt(void *q)
{
    long i;
    (void)q;
BENCH_OMP(omp parallel for schedule(static))
    for (i = 0; i < N; i += 8) _mm256_stream_ps(A + i, _mm256_load_ps(Bv + i));
    _mm_sfence();
}

static volatile float sink;
/* sum one array with four independent accumulators per thread */
static void read_sum(void *q)
{
    (void)q;
BENCH_OMP(omp parallel)
    {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        float v[8];
        long i;
BENCH_OMP(omp for schedule(static))
        for (i = 0; i < N; i += 32) {
            a0 = _mm256_add_ps(a0, _mm256_load_ps(Bv + i));
            a1 = _mm256_add_ps(a1, _mm256_load_ps(Bv + i + 8));
            a2 = _mm256_add_ps(a2, _mm256_load_ps(Bv + i + 16));
            a3 = _mm256_add_ps(a3, _mm256_load_ps(Bv + i + 24));
        }
        _mm256_storeu_ps(v, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        sink = v[0];
    }
}

static void fma_peak(void *q)
{
    long reps = *(long *)q;
BENCH_OMP(omp parallel)
    {
        __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f), a0 = _mm256_set1_ps(1.0f);
        __m256 a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
        long k;
        float v[8];
        for (k = 0; k < reps; ++k) {
            a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c); a2 = _mm256_fmadd_ps(a2, m, c);
            a3 = _mm256_fmadd_ps(a3, m, c); a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
            a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c); a8 = _mm256_fmadd_ps(a8, m, c);
            a9 = _mm256_fmadd_ps(a9, m, c);
        }
        a0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                           _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(_mm256_add_ps(a6, a7), _mm256_add_ps(a8, a9))));
        _mm256_storeu_ps(v, a0);
        sink = v[0];
    }
}
#endif

int main(void)
{
    bench_stat s;
    long i;
    int th = bench_max_threads() < 2 ? bench_max_threads() : 2;
    bench_header("machine");
    bench_set_threads(th);
    A = (float *)bench_alloc(sizeof(float) * N);
    Bv = (float *)bench_alloc(sizeof(float) * N);
    C = (float *)bench_alloc(sizeof(float) * N);
BENCH_OMP(omp parallel for schedule(static))
    for (i = 0; i < N; ++i) { A[i] = 0.0f; Bv[i] = 1.0f; C[i] = 2.0f; }
    s = bench_time(triad, NULL);
    bench_print("machine_triad_gbs", 3.0 * sizeof(float) * N / s.median * 1e-9, "GB/s");
#if defined(__AVX2__) && defined(__FMA__)
    s = bench_time(copy_nt, NULL);
    bench_print("machine_copy_nt_gbs", 2.0 * sizeof(float) * N / s.median * 1e-9, "GB/s");
    s = bench_time(read_sum, NULL);
    bench_print("machine_read_gbs", sizeof(float) * N / s.median * 1e-9, "GB/s");
    {
        long reps = 20000000;
        int nth = 1;
#ifdef _OPENMP
BENCH_OMP(omp parallel)
BENCH_OMP(omp master)
        nth = omp_get_num_threads();
#endif
        s = bench_time(fma_peak, &reps);
        bench_print("machine_fma_peak_gflops", 10.0 * 16.0 * reps * nth / s.median * 1e-9, "GFLOP/s");
    }
#endif
    free(A);
    free(Bv);
    free(C);
    return 0;
}
