#define _POSIX_C_SOURCE 200809L /* clock_gettime, posix_memalign */
/* W1: prompt-attention forward + backward with the logistic loss over a batch already in
   memory (B = 8192, T = 32, d = 64): f, h, df/dp, and the batch gradients dL/dp, dL/dv.
   Figures: ns per sample and GFLOP/s with 8BTd + 13BT + 8B flops per batch. */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include "bench.h"
#include <math.h>
#include <string.h>

enum { B = 8192, T = 32, D = 64, BLK = 64 };
typedef struct {
    float *X, *y, p[D], v[D], gp[D], gv[D], loss;
    float part[B / BLK][2 * D + 1];
} ctx_t;

static void run(void *q)
{
    ctx_t *c = (ctx_t *)q;
    long b;
    int j;
    /* fixed blocks, partial sums combined in block order: thread-count independent */
#pragma omp parallel for schedule(static)
    for (b = 0; b < B / BLK; ++b) {
        float h[D], g[D], *acc = c->part[b];
        int i;
        memset(acc, 0, sizeof c->part[b]);
        for (i = (int)b * BLK; i < (int)(b + 1) * BLK; ++i) {
            float f = pattn_pa_forward_backward_f32(c->X + (size_t)i * T * D, T, D, c->p, c->v, h, g);
            float m = -c->y[i] * f;
            /* log(1 + e^m) and its derivative -y sigmoid(m), without overflow */
            float e = pattn_expf(-fabsf(m));
            float dl = -c->y[i] * (m > 0 ? 1.0f / (1.0f + e) : e / (1.0f + e));
            acc[2 * D] += (m > 0 ? m : 0.0f) + log1pf(e);
            pattn_axpy_f32(D, dl, g, acc);
            pattn_axpy_f32(D, dl, h, acc + D);
        }
    }
    memset(c->gp, 0, sizeof c->gp);
    memset(c->gv, 0, sizeof c->gv);
    c->loss = 0;
    for (b = 0; b < B / BLK; ++b) {
        pattn_axpy_f32(D, 1.0f / B, c->part[b], c->gp);
        pattn_axpy_f32(D, 1.0f / B, c->part[b] + D, c->gv);
        c->loss += c->part[b][2 * D] / B;
    }
    for (j = 0; j < D; ++j) (void)j;
}

int main(void)
{
    static ctx_t c;
    pattn_rng r;
    int i, th, maxth = bench_max_threads(), top = maxth < 2 ? maxth : 2;
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
                   s.max * 1e3, (double)c.loss);
        }
    }
    free(c.X);
    free(c.y);
    return 0;
}
