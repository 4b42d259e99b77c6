/* A task mixture decoded from bytes: d, K small or extreme, weights, means, covariances
   (SPD, semidefinite, indefinite or non-finite), noise variances, an optional cov_x. */
#ifndef PATTN_FUZZ_P2_H
#define PATTN_FUZZ_P2_H
#include "fuzz.h"

typedef struct fz_mix {
    pattn_icl_mix m;
    double pi[4], *mu, *cov, *noise, *cx;
    int ok; /* buffers match d and K */
} fz_mix;

static void fz_mix_make(fz *f, fz_mix *x)
{
    int d = fz_u8(f) < 240 ? fz_u8(f) % 6 + 1 : fz_size(f), K = fz_u8(f) < 240 ? fz_u8(f) % 4 + 1 : fz_size(f), k, i, j;
    double sum = 0.0, sc = fz_pos(f);
    memset(x, 0, sizeof *x);
    x->m.d = d; x->m.K = K;
    x->ok = d >= 1 && d <= 8 && K >= 1 && K <= 4;
    if (!x->ok) return;
    x->mu = (double *)fz_buf((size_t)K * d * 8); x->cov = (double *)fz_buf((size_t)K * d * d * 8);
    x->noise = (double *)fz_buf((size_t)K * 8); x->cx = (double *)fz_buf((size_t)d * d * 8);
    for (k = 0; k < K; ++k) { x->pi[k] = fz_pos(f); sum += x->pi[k]; }
    if (fz_u8(f) < 220) for (k = 0; k < K; ++k) x->pi[k] /= sum;
    fz_fill_d(f, x->mu, (size_t)K * d);
    for (k = 0; k < K; ++k) {
        double *C = x->cov + (size_t)k * d * d;
        fz_fill_d(f, C, (size_t)d * d);
        if (fz_u8(f) < 200) /* symmetric, mostly positive definite, at a scale */
            for (i = 0; i < d; ++i)
                for (j = 0; j <= i; ++j) C[i * d + j] = C[j * d + i] = (i == j ? fabs(C[i * d + j]) + 0.1 : 0.1 * C[i * d + j]) * sc;
        x->noise[k] = fz_u8(f) < 200 ? fz_pos(f) : fz_d(f);
    }
    fz_fill_d(f, x->cx, (size_t)d * d);
    for (i = 0; i < d; ++i)
        for (j = 0; j <= i; ++j) x->cx[i * d + j] = x->cx[j * d + i] = i == j ? fabs(x->cx[i * d + j]) + 1.0 : 0.05 * x->cx[i * d + j];
    x->m.pi = x->pi; x->m.mu = x->mu; x->m.cov_beta = x->cov;
    x->m.noise_var = fz_u8(f) < 240 ? x->noise : NULL;
    x->m.cov_x = fz_u8(f) & 1 ? x->cx : NULL;
}
static void fz_mix_free(fz_mix *x) { free(x->mu); free(x->cov); free(x->noise); free(x->cx); }
#endif
