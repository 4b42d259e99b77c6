#define _POSIX_C_SOURCE 200809L /* clock_gettime, posix_memalign */
/* W1: prompt-attention forward + backward with the logistic loss over a batch already in
   memory (B = 8192, T = 32, d = 64) through the library's batch kernel pattn_model_batch:
   f, h and df/dp per sample, and the batch gradients dL/dp, dL/dv. Figures: ns per sample
   and GFLOP/s with 8BTd + 13BT + 8B flops per batch. */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include "bench.h"

enum { B = 8192, T = 32, D = 64 };
typedef struct {
    float *X, *y, p[D], v[D], gp[D], gv[D];
    pattn_params P;
    pattn_batch_out out;
    void *work;
    size_t work_bytes;
} ctx_t;

static void run(void *q)
{
    ctx_t *c = (ctx_t *)q;
    if (pattn_model_batch(PATTN_PA, &c->P, PATTN_LOSS_LOGISTIC, c->X, c->y, B, T, &c->out, c->work,
                          c->work_bytes) != PATTN_OK)
        abort();
}

int main(void)
{
    static ctx_t c;
    pattn_rng r;
    int i, th, top = bench_max_threads() < 2 ? bench_max_threads() : 2;
    double flops = 8.0 * B * T * D + 13.0 * B * T + 8.0 * B;
    char name[64];
    bench_header("w1_pa_grad");
    c.X = (float *)bench_alloc(sizeof(float) * (size_t)B * T * D);
    c.y = (float *)bench_alloc(sizeof(float) * B);
    pattn_rng_seed(&r, 1);
    pattn_rng_normal_f32(&r, c.X, B * T * D);
    for (i = 0; i < B; ++i) c.y[i] = (pattn_rng_u64(&r) >> 63) ? 1.0f : -1.0f;
    pattn_rng_normal_f32(&r, c.p, D);
    pattn_rng_normal_f32(&r, c.v, D);
    for (i = 0; i < D; ++i) c.p[i] *= 0.125f;
    c.P.d = D; c.P.p = c.p; c.P.v = c.v; c.P.W = NULL;
    c.out.gp = c.gp; c.out.gv = c.gv;
    c.work_bytes = pattn_model_work_size(PATTN_PA, T, D);
    c.work = bench_alloc(c.work_bytes);
    for (th = 1; th <= top; ++th) {
        bench_stat s;
        bench_set_threads(th);
        s = bench_time(run, &c);
        snprintf(name, sizeof name, "w1_pa_grad_ns_%dt", th);
        bench_print(name, s.median / B * 1e9, "ns/sample");
        if (th == top) {
            bench_print("w1_pa_grad_ns", s.median / B * 1e9, "ns/sample");
            bench_print("w1_pa_grad_gflops", flops / s.median * 1e-9, "GFLOP/s");
            printf("# w1_pa_grad: median %.3f ms, min %.3f, max %.3f; loss %.6f\n", s.median * 1e3, s.min * 1e3,
                   s.max * 1e3, c.out.loss);
        }
    }
    free(c.X);
    free(c.y);
    free(c.work);
    return 0;
}
