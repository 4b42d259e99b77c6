/* kernel_bench: a microbenchmark of the prompt-attention kernel on one sample. It times
   f, h and df/dp of f = v' X' softmax(X p) for a T x d sample that stays in cache, reports
   nanoseconds per call and the bytes of X read per second, and names the SIMD path that ran.
   Timing is CPU time (clock), median of 7 runs: run it on a quiet machine.
       cc -O2 kernel_bench.c -I/usr/include/stb -lstb -lm [T d] */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int T = argc > 2 ? atoi(argv[1]) : 64, d = argc > 2 ? atoi(argv[2]) : 64, i, r;
    long reps, k;
    float *X, *p, *v, *h, *g, sink = 0.0f;
    double t[7];
    pattn_rng rng;
    if (T < 1 || d < 1 || (double)T * d > 1e8) { fprintf(stderr, "usage: kernel_bench [T d]\n"); return 1; }
    X = malloc(sizeof(float) * (size_t)T * d);
    p = malloc(sizeof(float) * (size_t)d * 4);
    if (!X || !p) return 1;
    v = p + d; h = v + d; g = h + d;
    pattn_rng_seed(&rng, 1);
    pattn_rng_normal_f32(&rng, X, T * d);
    for (i = 0; i < d; ++i) {
        p[i] = 0.1f * (float)pattn_rng_normal_f64(&rng);
        v[i] = (float)pattn_rng_normal_f64(&rng);
    }
    /* about 20 ms of work per run, whatever the shape */
    reps = (long)(2e7 / ((double)T * d)) + 1;
    for (r = 0; r < 7; ++r) {
        clock_t c0 = clock();
        for (k = 0; k < reps; ++k) {
            p[k % d] += 1e-7f; /* a new input each call, so no call can be skipped */
            sink += pattn_pa_forward_backward_f32(X, T, d, p, v, h, g);
        }
        t[r] = (double)(clock() - c0) / CLOCKS_PER_SEC / (double)reps;
    }
    qsort(t, 7, sizeof t[0], cmp);
    printf("pattn_pa_forward_backward_f32, T = %d, d = %d, path %s\n", T, d, pattn_simd_path());
    printf("  %.1f ns per call (median of 7; min %.1f, max %.1f), %.2f GB/s of X, %.2f GFLOP/s\n", t[3] * 1e9, t[0] * 1e9,
           t[6] * 1e9, 4.0 * T * d / t[3] * 1e-9, 6.0 * T * d / t[3] * 1e-9);
    printf("  (checksum %g)\n", (double)sink);
    free(X);
    free(p);
    return 0;
}
