#define _POSIX_C_SOURCE 200809L /* clock_gettime, posix_memalign */
/* W4: row-wise stable softmax over a 262144 x 64 float matrix into a reused output buffer.
   Figure: GB/s of compulsory traffic (read x + write y), 1 and 2 threads. */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include "bench.h"

enum { ROWS = 262144, COLS = 64 };
typedef struct { float *x, *y; } ctx_t;

static void run(void *p)
{
    ctx_t *c = (ctx_t *)p;
    pattn_softmax_rows_f32(c->x, c->y, ROWS, COLS);
}

int main(void)
{
    ctx_t c;
    pattn_rng r;
    size_t n = (size_t)ROWS * COLS;
    double bytes = 2.0 * (double)n * sizeof(float);
    int th, maxth = bench_max_threads();
    char name[64];
    bench_header("w4_softmax");
    c.x = (float *)bench_alloc(n * sizeof(float));
    c.y = (float *)bench_alloc(n * sizeof(float));
    pattn_rng_seed(&r, 4);
    pattn_rng_normal_f32(&r, c.x, (int)n);
    for (th = 1; th <= (maxth < 2 ? maxth : 2); ++th) {
        bench_stat s;
        bench_set_threads(th);
        s = bench_time(run, &c);
        snprintf(name, sizeof name, "w4_softmax_gbs_%dt", th);
        bench_print(name, bytes / s.median * 1e-9, "GB/s");
        if (th == (maxth < 2 ? maxth : 2)) {
            bench_print("w4_softmax_gbs", bytes / s.median * 1e-9, "GB/s");
            printf("# w4_softmax: median %.3f ms, min %.3f, max %.3f\n", s.median * 1e3, s.min * 1e3, s.max * 1e3);
        }
    }
    free(c.x);
    free(c.y);
    return 0;
}
