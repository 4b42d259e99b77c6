#define _POSIX_C_SOURCE 200809L /* clock_gettime, posix_memalign */
/* W2: contextual-mixture generation, B = 8192 samples of T = 32 tokens in d = 64, 8 of 32
   tokens relevant, |q| = 3, |v*| = 2, sigma = 1 (ORTHO noise), into a reused buffer.
   Figure: samples per second (1 and 2 threads). */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include "bench.h"
#include <string.h>

enum { B = 8192, T = 32, D = 64, BC = 256 };
typedef struct { pattn_cmm m; float *X, *y; uint64_t round; } ctx_t;

static void run(void *q)
{
    ctx_t *c = (ctx_t *)q;
    /* a fresh index range every call: new data, same cost */
    pattn_cmm_sample(&c->m, NULL, 2, c->round++ * B, B, c->X, c->y, NULL);
}

/* the same B samples in runs of BC into a 2 MiB, cache-resident buffer: the generator's own
   speed, without the 64 MiB of writes to memory */
static void run_incache(void *q)
{
    ctx_t *c = (ctx_t *)q;
    int k;
    for (k = 0; k < B / BC; ++k) pattn_cmm_sample(&c->m, NULL, 2, c->round++ * BC, BC, c->X, c->y, NULL);
}

int main(void)
{
    static ctx_t c;
    int th, top = bench_max_threads() < 2 ? bench_max_threads() : 2;
    char name[64];
    bench_header("w2_cmm_gen");
    memset(&c.m, 0, sizeof c.m);
    c.m.d = D; c.m.T = T; c.m.zeta = 0.25; c.m.sigma = 1.0; c.m.q_norm = 3.0; c.m.v_norm = 2.0;
    c.X = (float *)bench_alloc(sizeof(float) * (size_t)B * T * D);
    c.y = (float *)bench_alloc(sizeof(float) * B);
    for (th = 1; th <= top; ++th) {
        bench_stat s;
        bench_set_threads(th);
        s = bench_time(run, &c);
        snprintf(name, sizeof name, "w2_cmm_gen_sps_%dt", th);
        bench_print(name, B / s.median, "samples/s");
        if (th == top) {
            bench_print("w2_cmm_gen_sps", B / s.median, "samples/s");
            printf("# w2_cmm_gen: median %.3f ms, min %.3f, max %.3f\n", s.median * 1e3, s.min * 1e3, s.max * 1e3);
            s = bench_time(run_incache, &c);
            bench_print("w2_cmm_gen_incache_sps", B / s.median, "samples/s");
        }
    }
    free(c.X);
    free(c.y);
    return 0;
}
