#define _POSIX_C_SOURCE 200809L /* clock_gettime, posix_memalign */
/* The normal samplers (scalar-state pattn_rng and eight-lane pattn_rng8): standard normals
   per second into an L1-resident buffer, one thread; and the eight-lane one in calls of 220
   normals (one W5 prompt), where each call ends in a pipeline drain. */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include "bench.h"

enum { N = 4096, ROUNDS = 2000, SHORT = 220 };
typedef struct { pattn_rng r; pattn_rng8 r8; float buf[N]; } ctx_t;

static void run(void *q)
{
    ctx_t *c = (ctx_t *)q;
    int k;
    for (k = 0; k < ROUNDS; ++k) pattn_rng_normal_f32(&c->r, c->buf, N);
}

static void run8(void *q)
{
    ctx_t *c = (ctx_t *)q;
    int k;
    for (k = 0; k < ROUNDS; ++k) pattn_rng8_normal_f32(&c->r8, c->buf, N);
}

static void run8_short(void *q)
{
    ctx_t *c = (ctx_t *)q;
    int k;
    for (k = 0; k < ROUNDS * (N / SHORT); ++k) pattn_rng8_normal_f32(&c->r8, c->buf, SHORT);
}

int main(void)
{
    static ctx_t c;
    bench_stat s;
    bench_header("rng_normal");
    pattn_rng_seed(&c.r, 1);
    s = bench_time(run, &c);
    bench_print("rng_normal_f32_rate", (double)N * ROUNDS / s.median, "normals/s");
    pattn_rng8_seed(&c.r8, 1, 0);
    s = bench_time(run8, &c);
    bench_print("rng8_normal_f32_rate", (double)N * ROUNDS / s.median, "normals/s");
    s = bench_time(run8_short, &c);
    bench_print("rng8_normal_f32_rate_short", (double)SHORT * (N / SHORT) * ROUNDS / s.median, "normals/s");
    return 0;
}
