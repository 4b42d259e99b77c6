/* Paper 2 generator, models, gradients, training regimes and the sec. 5 constructions. */
#include "prompt_attn.h"
#include "harness.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- mixtures used below ------------------------------------------------------------------ */

/* an anisotropic 3-d mixture with every kind of Sigma_k: dense SPD, diagonal singular,
   dense rank one (eigen path with zero eigenvalues), zero (a fixed task); per-task noise */
typedef struct tmix {
    double pi[4], mu[12], cb[36], nv[4], S[9];
    pattn_icl_mix m;
} tmix;

static void tmix_aniso(tmix *t)
{
    static const double pi[4] = {0.2, 0.4, 0.3, 0.1};
    static const double mu[12] = {1, -0.5, 0.25, -1, 0, 2, 0.5, 0.5, 0.5, 2, -2, 1};
    static const double S0[9] = {1, 0.3, -0.2, 0.3, 0.8, 0.1, -0.2, 0.1, 0.5};
    static const double v[3] = {1, 2, -1};
    static const double nv[4] = {0.25, 0, 0.09, 1.0};
    static const double S[9] = {2, 0.5, 0.3, 0.5, 1, -0.2, 0.3, -0.2, 0.7};
    int i, j;
    memset(t, 0, sizeof *t);
    memcpy(t->pi, pi, sizeof pi);
    memcpy(t->mu, mu, sizeof mu);
    memcpy(t->cb, S0, sizeof S0);
    t->cb[9] = 2.0;
    t->cb[9 + 4] = 0.5; /* diag(2, 0.5, 0) */
    for (i = 0; i < 3; ++i)
        for (j = 0; j < 3; ++j) t->cb[18 + i * 3 + j] = v[i] * v[j];
    memcpy(t->nv, nv, sizeof nv);
    memcpy(t->S, S, sizeof S);
    t->m.d = 3;
    t->m.K = 4;
    t->m.pi = t->pi;
    t->m.mu = t->mu;
    t->m.cov_beta = t->cb;
    t->m.noise_var = t->nv;
    t->m.cov_x = t->S;
}

/* the paper's isotropic two-task mixtures in dimension d (d <= 10): means m0, m1 times 1,
   Sigma_k = c_k I, weights 0.3 / 0.7, common noise variance s2 */
typedef struct tiso {
    double pi[2], mu[20], cb[200], nv[2];
    pattn_icl_mix m;
} tiso;

static void tiso_make(tiso *t, int d, double m0, double m1, double c0, double c1, double s2)
{
    int i;
    memset(t, 0, sizeof *t);
    t->pi[0] = 0.3;
    t->pi[1] = 0.7;
    for (i = 0; i < d; ++i) {
        t->mu[i] = m0;
        t->mu[d + i] = m1;
        t->cb[i * d + i] = c0;
        t->cb[d * d + i * d + i] = c1;
    }
    t->nv[0] = t->nv[1] = s2;
    t->m.d = d;
    t->m.K = 2;
    t->m.pi = t->pi;
    t->m.mu = t->mu;
    t->m.cov_beta = t->cb;
    t->m.noise_var = t->nv;
    t->m.cov_x = NULL;
}

static void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}
static int get_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* a batch in caller buffers */
typedef struct tbatch {
    int n, d, B;
    float *X, *y, *xq, *yq, *beta;
    int *task;
} tbatch;

static void tb_alloc(tbatch *b, int d, int n, int B)
{
    b->n = n;
    b->d = d;
    b->B = B;
    b->X = (float *)malloc(sizeof(float) * (size_t)B * n * d);
    b->y = (float *)malloc(sizeof(float) * (size_t)B * n);
    b->xq = (float *)malloc(sizeof(float) * (size_t)B * d);
    b->yq = (float *)malloc(sizeof(float) * (size_t)B);
    b->beta = (float *)malloc(sizeof(float) * (size_t)B * d);
    b->task = (int *)malloc(sizeof(int) * (size_t)B);
}
static void tb_free(tbatch *b)
{
    free(b->X);
    free(b->y);
    free(b->xq);
    free(b->yq);
    free(b->beta);
    free(b->task);
}
static pattn_status tb_sample(tbatch *b, const pattn_icl_gen *g, int task, uint64_t seed)
{
    return pattn_icl_sample(g, task, b->n, b->B, seed, b->X, b->y, b->xq, b->yq, b->task, b->beta);
}
static int tb_equal(const tbatch *a, const tbatch *b)
{
    size_t B = (size_t)a->B, n = (size_t)a->n, d = (size_t)a->d;
    return !memcmp(a->X, b->X, B * n * d * sizeof(float)) && !memcmp(a->y, b->y, B * n * sizeof(float)) &&
           !memcmp(a->xq, b->xq, B * d * sizeof(float)) && !memcmp(a->yq, b->yq, B * sizeof(float)) &&
           !memcmp(a->task, b->task, B * sizeof(int)) && !memcmp(a->beta, b->beta, B * d * sizeof(float));
}
static void tb_dump(const char *tag, const tbatch *b)
{
    char t[96];
    size_t B = (size_t)b->B, n = (size_t)b->n, d = (size_t)b->d;
    snprintf(t, sizeof t, "%s.X", tag);
    pt_dump(t, b->X, B * n * d * sizeof(float));
    snprintf(t, sizeof t, "%s.y", tag);
    pt_dump(t, b->y, B * n * sizeof(float));
    snprintf(t, sizeof t, "%s.xq", tag);
    pt_dump(t, b->xq, B * d * sizeof(float));
    snprintf(t, sizeof t, "%s.yq", tag);
    pt_dump(t, b->yq, B * sizeof(float));
    snprintf(t, sizeof t, "%s.task", tag);
    pt_dump(t, b->task, B * sizeof(int));
}

/* ---- generator statistics ----------------------------------------------------------------- */

static void test_generator_stats(void)
{
    tmix t;
    pattn_icl_gen *g = NULL;
    tbatch b;
    int N = pt_quick() ? 8000 : 60000, n = 5, d = 3, K = 4, i, k, a, c, tt;
    long cnt[4] = {0, 0, 0, 0};
    double mb[4][3], cbv[4][9], xm[3], xc[9], r2[4], rmax[4], M;
    long rn[4] = {0, 0, 0, 0};
    tmix_aniso(&t);
    PT_CHECK(pattn_icl_gen_create(&t.m, &g) == PATTN_OK, "gen_create (anisotropic mixture)");
    if (!g) return;
    PT_CHECK(!g->x_identity && !g->diag[0] && g->diag[1] && !g->diag[2] && g->diag[3], "factor paths chosen");
    tb_alloc(&b, d, n, N);
    PT_CHECK(tb_sample(&b, g, PATTN_ICL_MIXTURE, 2024) == PATTN_OK, "sample mixture");
    memset(mb, 0, sizeof mb);
    memset(cbv, 0, sizeof cbv);
    memset(xm, 0, sizeof xm);
    memset(xc, 0, sizeof xc);
    memset(r2, 0, sizeof r2);
    memset(rmax, 0, sizeof rmax);
    for (i = 0; i < N; ++i) {
        k = b.task[i];
        if (k < 0 || k >= K) { PT_CHECK(0, "task index in range"); break; }
        ++cnt[k];
        for (a = 0; a < d; ++a) mb[k][a] += b.beta[i * d + a];
        for (a = 0; a < d; ++a)
            for (c = 0; c < d; ++c)
                cbv[k][a * d + c] += (b.beta[i * d + a] - t.mu[k * d + a]) * (b.beta[i * d + c] - t.mu[k * d + c]);
        for (tt = 0; tt <= n; ++tt) { /* n context inputs and the query */
            const float *x = tt < n ? b.X + ((size_t)i * n + tt) * d : b.xq + (size_t)i * d;
            double yv = tt < n ? b.y[(size_t)i * n + tt] : b.yq[i], r = yv;
            for (a = 0; a < d; ++a) {
                xm[a] += x[a];
                for (c = 0; c < d; ++c) xc[a * d + c] += (double)x[a] * x[c];
                r -= (double)x[a] * b.beta[i * d + a];
            }
            r2[k] += r * r;
            rn[k]++;
            if (fabs(r) > rmax[k]) rmax[k] = fabs(r);
        }
    }
    for (k = 0; k < K; ++k) {
        double p = t.pi[k], se = sqrt(p * (1 - p) / N), Nk = (double)cnt[k];
        PT_CHECKF(fabs(Nk / N - p) <= 4 * se, "task %d frequency %.5f vs pi %.3f (4 SE = %.5f)", k, Nk / N, p, 4 * se);
        for (a = 0; a < d; ++a) {
            double s = t.cb[k * 9 + a * 4], m = mb[k][a] / Nk;
            PT_CHECKF(fabs(m - t.mu[k * d + a]) <= 4 * sqrt(s / Nk) + 1e-6 * (1 + fabs(t.mu[k * d + a])),
                      "task %d beta mean[%d] = %.5f vs %.5f", k, a, m, t.mu[k * d + a]);
        }
        for (a = 0; a < d; ++a)
            for (c = 0; c < d; ++c) {
                const double *S = t.cb + k * 9;
                double v = cbv[k][a * d + c] / Nk, w = S[a * d + c];
                double se2 = sqrt((S[a * 4] * S[c * 4] + w * w) / Nk);
                PT_CHECKF(fabs(v - w) <= 4 * se2 + 1e-6, "task %d beta cov[%d][%d] = %.5f vs %.5f (4 SE %.5f)", k, a, c, v, w, 4 * se2);
            }
        /* noise: mean square residual y - x'beta against sigma_k^2 (4 SE), or pure rounding */
        M = (double)rn[k];
        if (t.nv[k] > 0)
            PT_CHECKF(fabs(r2[k] / M - t.nv[k]) <= 4 * t.nv[k] * sqrt(2.0 / M) + 1e-6,
                      "task %d noise variance %.5f vs %.5f", k, r2[k] / M, t.nv[k]);
        else
            PT_CHECKF(rmax[k] < 1e-4, "task %d noiseless: max |y - x'beta| = %g", k, rmax[k]);
    }
    M = (double)N * (n + 1);
    for (a = 0; a < d; ++a) {
        PT_CHECKF(fabs(xm[a] / M) <= 4 * sqrt(t.S[a * 4] / M), "x mean[%d] = %.5f", a, xm[a] / M);
        for (c = 0; c < d; ++c) {
            double v = xc[a * d + c] / M, w = t.S[a * d + c];
            PT_CHECKF(fabs(v - w) <= 4 * sqrt((t.S[a * 4] * t.S[c * 4] + w * w) / M),
                      "x cov[%d][%d] = %.5f vs S %.5f", a, c, v, w);
        }
    }
    pt_info("generator: N = %d prompts, n = %d, anisotropic S, 4 tasks (dense, diagonal singular, rank 1, fixed)", N, n);
    /* a single task: every sample from it */
    {
        tbatch s;
        int all = 1;
        tb_alloc(&s, d, n, 300);
        PT_CHECK(tb_sample(&s, g, 2, 5) == PATTN_OK, "sample one task");
        for (i = 0; i < 300; ++i) all &= s.task[i] == 2;
        PT_CHECK(all, "task_out of a one-task batch");
        tb_free(&s);
    }
    tb_free(&b);
    pattn_icl_gen_free(g);
}

/* ---- reproducibility, thread count and SIMD path ------------------------------------------ */

static void test_reproducible(void)
{
    tmix t;
    tiso iso;
    pattn_icl_gen *g = NULL, *gi = NULL;
    tbatch a, b, c;
    int thr = get_threads(), i;
    tmix_aniso(&t);
    tiso_make(&iso, 10, 1.4, -0.6, 1, 2, 0.09);
    PT_CHECK(pattn_icl_gen_create(&t.m, &g) == PATTN_OK, "gen anisotropic");
    PT_CHECK(pattn_icl_gen_create(&iso.m, &gi) == PATTN_OK, "gen isotropic");
    if (!g || !gi) return;
    tb_alloc(&a, 3, 7, 150);
    tb_alloc(&b, 3, 7, 150);
    tb_alloc(&c, 3, 7, 100);
    set_threads(1);
    tb_sample(&a, g, PATTN_ICL_MIXTURE, 99);
    set_threads(2);
    tb_sample(&b, g, PATTN_ICL_MIXTURE, 99);
    set_threads(thr);
    PT_CHECK(tb_equal(&a, &b), "batch identical with 1 and 2 threads");
    /* a batch of 100 is the first 100 of a batch of 150 (blocks of 64 have their own streams,
       and a short last block draws as much randomness as a full one would up to its end) */
    tb_sample(&c, g, PATTN_ICL_MIXTURE, 99);
    for (i = 0; i < 100 * 7 * 3; ++i)
        if (a.X[i] != c.X[i]) break;
    PT_CHECK(i == 100 * 7 * 3 && !memcmp(a.yq, c.yq, 100 * sizeof(float)) && !memcmp(a.task, c.task, 100 * sizeof(int)) &&
             !memcmp(a.beta, c.beta, 100 * 3 * sizeof(float)), "prefix-stable in the batch size");
    tb_sample(&b, g, PATTN_ICL_MIXTURE, 100);
    PT_CHECK(memcmp(a.yq, b.yq, 150 * sizeof(float)) != 0, "another seed, another batch");
    tb_dump("icl.gen.aniso", &a);
    tb_free(&a);
    tb_free(&b);
    tb_free(&c);
    tb_alloc(&a, 10, 20, 130);
    tb_sample(&a, gi, 1, 7);
    tb_dump("icl.gen.iso_task1", &a);
    tb_free(&a);
    /* long prompts (over 4096 normals a sample) draw one sample per call, short ones 16:
       a short last group and a full one must give the same samples either way */
    for (i = 0; i < 2; ++i) {
        int n = i ? 450 : 30, B = i ? 5 : 20;
        tb_alloc(&a, 10, n, B);
        tb_alloc(&c, 10, n, B - 3);
        tb_sample(&a, gi, PATTN_ICL_MIXTURE, 11);
        tb_sample(&c, gi, PATTN_ICL_MIXTURE, 11);
        PT_CHECKF(!memcmp(a.X, c.X, sizeof(float) * (size_t)(B - 3) * n * 10) && !memcmp(a.y, c.y, sizeof(float) * (size_t)(B - 3) * n) &&
                      !memcmp(a.yq, c.yq, sizeof(float) * (size_t)(B - 3)),
                  "n = %d: the first %d of a batch of %d equal a batch of %d", n, B - 3, B, B - 3);
        if (i) tb_dump("icl.gen.long_prompts", &a);
        tb_free(&a);
        tb_free(&c);
    }
    pattn_icl_gen_free(g);
    pattn_icl_gen_free(gi);
}

/* ---- the models: formulas, finite differences --------------------------------------------- */

/* the models written out directly, in the authors' order for the full model:
   Q = x~ Wq', K = Z Wk', scores = Q K'/sqrt(D), out = scores (Z Wv'), yhat = out h */
static double direct_predict(const pattn_icl_model *md, int n, const float *X, const float *y,
                             const float *x, int k)
{
    int d = md->d, D = d + 1, a, c, t, T;
    double yh = 0.0;
    if (md->type != PATTN_ICL_FULL) {
        const double *W = md->W + (md->type == PATTN_ICL_PGD_TASK ? k * d * d : 0), *mu = md->mu + k * d;
        double s[16];
        for (c = 0; c < d; ++c) {
            s[c] = md->type == PATTN_ICL_REDUCED ? md->b[k * d + c] : 0.0;
            for (t = 0; t < n; ++t) {
                double r = y[t];
                if (md->type != PATTN_ICL_REDUCED)
                    for (a = 0; a < d; ++a) r -= X[t * d + a] * mu[a];
                s[c] += X[t * d + c] * r;
            }
        }
        if (md->type != PATTN_ICL_REDUCED)
            for (c = 0; c < d; ++c) yh += x[c] * mu[c];
        for (a = 0; a < d; ++a)
            for (c = 0; c < d; ++c) yh += x[a] * W[a * d + c] * s[c];
        return yh;
    }
    T = n + md->m;
    {
        double q[16], z[64][16], kk[16], out[16], sc;
        for (a = 0; a < D; ++a) {
            q[a] = 0.0;
            for (c = 0; c < d; ++c) q[a] += x[c] * md->Wq[a * D + c];
            out[a] = 0.0;
        }
        for (t = 0; t < T; ++t)
            for (a = 0; a < D; ++a)
                z[t][a] = t < md->m ? md->P[(k * md->m + t) * D + a] : a < d ? X[(t - md->m) * d + a] : y[t - md->m];
        for (t = 0; t < T; ++t) {
            sc = 0.0;
            for (a = 0; a < D; ++a) {
                kk[a] = 0.0;
                for (c = 0; c < D; ++c) kk[a] += z[t][c] * md->Wk[a * D + c];
                sc += q[a] * kk[a];
            }
            sc /= sqrt((double)D);
            for (a = 0; a < D; ++a) {
                double v = 0.0;
                for (c = 0; c < D; ++c) v += z[t][c] * md->Wv[a * D + c];
                out[a] += sc * v;
            }
        }
        for (a = 0; a < D; ++a) yh += out[a] * md->h[k * D + a];
    }
    return yh;
}

static void fill_random(double *p, int n, double scale, pattn_rng *r)
{
    int i;
    for (i = 0; i < n; ++i) p[i] = scale * pattn_rng_normal_f64(r);
}

static void test_gradients(void)
{
    tmix t;
    pattn_icl_gen *g = NULL;
    tbatch b;
    int types[4] = {PATTN_ICL_REDUCED, PATTN_ICL_PGD, PATTN_ICL_PGD_TASK, PATTN_ICL_FULL};
    const char *names[4] = {"reduced", "PGD", "PGD per task", "LinearAttn"};
    int n = 4, B = 9, ti, i;
    double wk[4] = {0.1, 0.05, 0.2, 0.3};
    pattn_rng r;
    tmix_aniso(&t);
    if (pattn_icl_gen_create(&t.m, &g) != PATTN_OK) { PT_CHECK(0, "gen"); return; }
    tb_alloc(&b, 3, n, B);
    tb_sample(&b, g, PATTN_ICL_MIXTURE, 31);
    pattn_rng_seed(&r, 77);
    for (ti = 0; ti < 4; ++ti) {
        pattn_icl_model *md = NULL;
        double *gr, *yh, L, worst = 0.0, gmax = 0.0, pworst = 0.0;
        int np, pass;
        PT_CHECK(pattn_icl_model_create(&t.m, types[ti], types[ti] == PATTN_ICL_FULL ? 2 : 0, &md) == PATTN_OK, "model_create");
        if (!md) continue;
        np = md->np;
        fill_random(md->theta, np, types[ti] == PATTN_ICL_FULL ? 0.4 : 0.1, &r);
        gr = (double *)malloc(sizeof(double) * (size_t)np);
        yh = (double *)malloc(sizeof(double) * (size_t)B);
        for (pass = 0; pass < 2; ++pass) { /* mean loss, then per-task weights */
            const double *w = pass ? wk : NULL;
            double Ld = 0.0;
            PT_CHECK(pattn_icl_loss_grad(md, n, B, b.X, b.y, b.xq, b.yq, b.task, w, yh, &L, gr) == PATTN_OK, "loss_grad");
            for (i = 0; i < B; ++i) {
                double yd = direct_predict(md, n, b.X + (size_t)i * n * 3, b.y + (size_t)i * n, b.xq + i * 3, b.task[i]);
                double e = yd - b.yq[i];
                if (fabs(yd - yh[i]) > pworst) pworst = fabs(yd - yh[i]) / (1 + fabs(yd));
                Ld += (w ? w[b.task[i]] : 1.0 / B) * e * e;
            }
            PT_CHECKF(fabs(Ld - L) <= 1e-12 * (1 + L), "%s: loss %.15g vs direct %.15g", names[ti], L, Ld);
            for (i = 0; i < np; ++i) gmax = fabs(gr[i]) > gmax ? fabs(gr[i]) : gmax;
            for (i = 0; i < np; ++i) {
                double th = md->theta[i], h = 1e-5 * (1 + fabs(th)), Lp, Lm, fd;
                md->theta[i] = th + h;
                pattn_icl_loss_grad(md, n, B, b.X, b.y, b.xq, b.yq, b.task, w, NULL, &Lp, NULL);
                md->theta[i] = th - h;
                pattn_icl_loss_grad(md, n, B, b.X, b.y, b.xq, b.yq, b.task, w, NULL, &Lm, NULL);
                md->theta[i] = th;
                fd = (Lp - Lm) / (2 * h);
                if (fabs(fd - gr[i]) / (1e-3 * gmax + fabs(gr[i])) > worst) worst = fabs(fd - gr[i]) / (1e-3 * gmax + fabs(gr[i]));
            }
        }
        PT_CHECKF(pworst < 1e-12, "%s: predictions match the direct formula (worst rel %g)", names[ti], pworst);
        PT_CHECKF(worst < 1e-6, "%s: gradient vs central differences, worst relative error %g (np %d)", names[ti], worst, np);
        pt_info("%s gradient (%d parameters) vs central differences: worst relative error %.2e", names[ti], np, worst);
        free(gr);
        free(yh);
        pattn_icl_model_free(md);
    }
    tb_free(&b);
    pattn_icl_gen_free(g);
}

/* the fused float training pass against the double reference on the very batch it draws */
static void test_fused_gradient(void)
{
    tmix t;
    pattn_icl_gen *g = NULL;
    int types[4] = {PATTN_ICL_REDUCED, PATTN_ICL_PGD, PATTN_ICL_PGD_TASK, PATTN_ICL_FULL};
    int regs[4] = {PATTN_ICL_JT, PATTN_ICL_DEC, PATTN_ICL_LB, PATTN_ICL_DEC};
    int n = 6, B = 100, K = 4, d = 3, ti, k, i;
    pattn_rng r;
    tmix_aniso(&t);
    if (pattn_icl_gen_create(&t.m, &g) != PATTN_OK) { PT_CHECK(0, "gen"); return; }
    pattn_rng_seed(&r, 5);
    for (ti = 0; ti < 4; ++ti) {
        pattn_icl_model *md = NULL;
        pattn_icl_trainer *tr = NULL;
        pattn_icl_train_opts o;
        tbatch all;
        double *gf, *gd, Lf, Ld, wk[4], gmax = 0.0, err = 0.0;
        int np;
        pattn_icl_model_create(&t.m, types[ti], types[ti] == PATTN_ICL_FULL ? 2 : 0, &md);
        if (!md) { PT_CHECK(0, "model"); continue; }
        np = md->np;
        fill_random(md->theta, np, types[ti] == PATTN_ICL_FULL ? 0.4 : 0.1, &r);
        memset(&o, 0, sizeof o);
        o.regime = (pattn_icl_regime)regs[ti];
        o.batch = B;
        o.opt.seed = 1234 + ti;
        PT_CHECK(pattn_icl_trainer_create(g, md, n, &o, &tr) == PATTN_OK, "trainer_create");
        if (!tr) { pattn_icl_model_free(md); continue; }
        gf = (double *)malloc(sizeof(double) * (size_t)np);
        gd = (double *)malloc(sizeof(double) * (size_t)np);
        PT_CHECK(pattn_icl_trainer_grad(tr, &Lf, gf) == PATTN_OK, "trainer_grad");
        /* the batch of step 0: task k's B samples are pattn_icl_sample(k, step seed) */
        tb_alloc(&all, d, n, K * B);
        for (k = 0; k < K; ++k) {
            tbatch part;
            part.n = n;
            part.d = d;
            part.B = B;
            part.X = all.X + (size_t)k * B * n * d;
            part.y = all.y + (size_t)k * B * n;
            part.xq = all.xq + (size_t)k * B * d;
            part.yq = all.yq + (size_t)k * B;
            part.beta = all.beta + (size_t)k * B * d;
            part.task = all.task + (size_t)k * B;
            tb_sample(&part, g, k, pattn_icl_step_seed(o.opt.seed, 0, k));
            wk[k] = t.pi[k] / B;
        }
        pattn_icl_loss_grad(md, n, K * B, all.X, all.y, all.xq, all.yq, all.task, wk, NULL, &Ld, gd);
        for (i = 0; i < np; ++i) gmax = fabs(gd[i]) > gmax ? fabs(gd[i]) : gmax;
        for (i = 0; i < np; ++i) err = fabs(gf[i] - gd[i]) > err ? fabs(gf[i] - gd[i]) : err;
        PT_CHECKF(fabs(Lf - Ld) <= 2e-5 * Ld, "fused loss %.8g vs double %.8g (type %d)", Lf, Ld, types[ti]);
        PT_CHECKF(err <= 1e-4 * gmax, "fused float gradient vs double: max error %g of max |g| %g (type %d)", err, gmax, types[ti]);
        tb_free(&all);
        free(gf);
        free(gd);
        pattn_icl_trainer_free(tr);
        pattn_icl_model_free(md);
    }
    pattn_icl_gen_free(g);
}

/* the test set of pattn_icl_test_loss is the documented one: sampled batches, double loss */
static void test_test_set(void)
{
    tmix t;
    pattn_icl_gen *g = NULL;
    pattn_icl_model *md = NULL;
    int n = 4, B = 150, K = 4, d = 3, k;
    double Lf, Ld = 0.0, Lk[4], se;
    pattn_rng r;
    tmix_aniso(&t);
    if (pattn_icl_gen_create(&t.m, &g) != PATTN_OK) { PT_CHECK(0, "gen"); return; }
    pattn_icl_model_create(&t.m, PATTN_ICL_PGD_TASK, 0, &md);
    pattn_rng_seed(&r, 8);
    fill_random(md->theta, md->np, 0.1, &r);
    PT_CHECK(pattn_icl_test_loss(g, md, n, B, 55, Lk, &Lf, &se) == PATTN_OK, "test_loss");
    for (k = 0; k < K; ++k) {
        tbatch b;
        double wk[4] = {0, 0, 0, 0}, Lb;
        tb_alloc(&b, d, n, B);
        tb_sample(&b, g, k, pattn_icl_step_seed(55, -1, k));
        wk[k] = 1.0 / B;
        pattn_icl_loss_grad(md, n, B, b.X, b.y, b.xq, b.yq, b.task, wk, NULL, &Lb, NULL);
        PT_CHECKF(fabs(Lb - Lk[k]) <= 1e-5 * Lb, "test set of task %d: %.8g vs %.8g", k, Lk[k], Lb);
        Ld += t.pi[k] * Lb;
        tb_free(&b);
    }
    PT_CHECKF(fabs(Lf - Ld) <= 1e-5 * Ld && se > 0, "test loss %.8g = sum pi_k loss_k %.8g", Lf, Ld);
    pattn_icl_model_free(md);
    pattn_icl_gen_free(g);
}

/* ---- sec. 5: the full model reproduces the reduced and the decoupled predictors ----------- */

static void test_constructions(void)
{
    tmix t;
    pattn_icl_gen *g = NULL;
    tbatch b;
    pattn_rng r;
    int n = 7, B = 60, d = 3, K = 4, i, m, trial;
    tmix_aniso(&t);
    if (pattn_icl_gen_create(&t.m, &g) != PATTN_OK) { PT_CHECK(0, "gen"); return; }
    tb_alloc(&b, d, n, B);
    tb_sample(&b, g, PATTN_ICL_MIXTURE, 8);
    pattn_rng_seed(&r, 3);
    for (m = 1; m <= 2; ++m)
        for (trial = 0; trial < 3; ++trial) {
            pattn_icl_model *red = NULL, *pgd = NULL, *full = NULL;
            double W[9], bb[12], y1[60], y2[60], worst = 0.0, scale = 0.0, L1, L2, se;
            pattn_icl_model_create(&t.m, PATTN_ICL_REDUCED, 0, &red);
            pattn_icl_model_create(&t.m, PATTN_ICL_PGD, 0, &pgd);
            pattn_icl_model_create(&t.m, PATTN_ICL_FULL, m, &full);
            if (!red || !pgd || !full) { PT_CHECK(0, "models"); break; }
            /* trial 0: the JT optimum and W_dec; then random W and prompts */
            if (trial == 0) {
                PT_CHECK(pattn_icl_optimum(&t.m, n, PATTN_ICL_JT, W, bb) == PATTN_OK, "JT optimum");
            } else {
                fill_random(W, 9, 0.3, &r);
                fill_random(bb, 12, 2.0, &r);
            }
            memcpy(red->W, W, sizeof W);
            memcpy(red->b, bb, sizeof bb);
            PT_CHECK(pattn_icl_full_from_reduced(full, W, bb) == PATTN_OK, "full_from_reduced");
            pattn_icl_loss_grad(red, n, B, b.X, b.y, b.xq, b.yq, b.task, NULL, y1, NULL, NULL);
            pattn_icl_loss_grad(full, n, B, b.X, b.y, b.xq, b.yq, b.task, NULL, y2, NULL, NULL);
            for (i = 0; i < B; ++i) {
                worst = fabs(y1[i] - y2[i]) > worst ? fabs(y1[i] - y2[i]) : worst;
                scale = fabs(y1[i]) > scale ? fabs(y1[i]) : scale;
            }
            PT_CHECKF(worst <= 1e-12 * scale, "full model = reduced predictor (m %d, trial %d): max diff %g of %g", m, trial, worst, scale);
            /* and through the float path on a common test set */
            pattn_icl_test_loss(g, red, n, 500, 77, NULL, &L1, &se);
            pattn_icl_test_loss(g, full, n, 500, 77, NULL, &L2, &se);
            PT_CHECKF(fabs(L1 - L2) <= 1e-4 * L1, "float path: reduced %.8g vs full %.8g", L1, L2);
            /* the decoupled predictor: x'mu_k + x'W X'(y - X mu_k) */
            if (trial == 0) PT_CHECK(pattn_icl_optimum(&t.m, n, PATTN_ICL_DEC, W, NULL) == PATTN_OK, "dec optimum");
            else
                for (i = 0; i < d; ++i) W[i * d + i] += 1.0; /* keep it well conditioned */
            memcpy(pgd->W, W, sizeof W);
            PT_CHECK(pattn_icl_full_from_pgd(full, W) == PATTN_OK, "full_from_pgd");
            pattn_icl_loss_grad(pgd, n, B, b.X, b.y, b.xq, b.yq, b.task, NULL, y1, NULL, NULL);
            pattn_icl_loss_grad(full, n, B, b.X, b.y, b.xq, b.yq, b.task, NULL, y2, NULL, NULL);
            worst = scale = 0.0;
            for (i = 0; i < B; ++i) {
                worst = fabs(y1[i] - y2[i]) > worst ? fabs(y1[i] - y2[i]) : worst;
                scale = fabs(y1[i]) > scale ? fabs(y1[i]) : scale;
            }
            PT_CHECKF(worst <= 1e-11 * scale, "full model with task heads = known-mean PGD (m %d, trial %d): max diff %g of %g", m, trial, worst, scale);
            pattn_icl_model_free(red);
            pattn_icl_model_free(pgd);
            pattn_icl_model_free(full);
        }
    (void)K;
    tb_free(&b);
    pattn_icl_gen_free(g);
}

/* ---- closed-form optima plugged into simulated batches ------------------------------------- */

static void check_optimum_sim(const pattn_icl_mix *m, int n, int batch, const char *name, const double *table)
{
    pattn_icl_gen *g = NULL;
    pattn_icl_risks R;
    int regs[5] = {PATTN_ICL_PT, PATTN_ICL_FT, PATTN_ICL_JT, PATTN_ICL_DEC, PATTN_ICL_LB};
    const char *rn[5] = {"PT", "FT", "JT", "dec", "LB"};
    int d = m->d, K = m->K, i;
    double *W = (double *)malloc(sizeof(double) * (size_t)K * d * d), *b = (double *)malloc(sizeof(double) * (size_t)K * d);
    if (pattn_icl_gen_create(m, &g) != PATTN_OK || pattn_icl_theory(m, n, &R) != PATTN_OK) {
        PT_CHECK(0, "gen / theory");
        free(W);
        free(b);
        pattn_icl_gen_free(g);
        return;
    }
    for (i = 0; i < 5; ++i) {
        pattn_icl_model *md = NULL;
        double want = i == 0 ? R.pt : i == 1 ? R.ft : i == 2 ? R.jt : i == 3 ? R.dec : R.lb, L, se, ex = 0.0;
        int type = i < 3 ? PATTN_ICL_REDUCED : i == 3 ? PATTN_ICL_PGD : PATTN_ICL_PGD_TASK;
        pattn_icl_optimum(m, n, regs[i], W, b);
        pattn_icl_model_create(m, type, 0, &md);
        if (!md) continue;
        memcpy(md->W, W, sizeof(double) * (size_t)(type == PATTN_ICL_PGD_TASK ? K : 1) * d * d);
        if (type == PATTN_ICL_REDUCED) {
            memcpy(md->b, b, sizeof(double) * (size_t)K * d);
            pattn_icl_risk(m, n, W, b, NULL, &ex);
        } else {
            pattn_icl_risk_pgd(m, n, W, type == PATTN_ICL_PGD_TASK, NULL, &ex);
        }
        PT_NEAR(ex, want, 1e-9, 0);
        if (table && i < 4) PT_NEAR(want, table[i], 1e-5, 0);
        PT_CHECK(pattn_icl_test_loss(g, md, n, batch, 4242 + i, NULL, &L, &se) == PATTN_OK, "test_loss");
        pt_dump("icl.optimum_sim.loss", &L, sizeof L);
        PT_CHECKF(fabs(L - want) <= 4 * se, "%s %s optimum in simulation: %.5f +- %.5f vs formula %.5f", name, rn[i], L, se, want);
        pt_info("%s n=%d %s: simulated %.5f +- %.5f, formula %.5f (%+.2f SE)", name, n, rn[i], L, se, want, (L - want) / se);
        pattn_icl_model_free(md);
    }
    free(W);
    free(b);
    pattn_icl_gen_free(g);
}

static void test_optimum_simulation(void)
{
    tiso a;
    tmix t;
    static const double caseA20[4] = {8.29577, 8.1081, 7.65443, 6.03226};
    tiso_make(&a, 10, 1.4, -0.6, 1, 2, 0);
    check_optimum_sim(&a.m, 20, pt_quick() ? 10000 : 100000, "case A", caseA20);
    tmix_aniso(&t);
    t.cb[18] += 0.3; /* Sigma-bar invertible: the JT optimum is attained */
    t.cb[22] += 0.3;
    t.cb[26] += 0.3;
    check_optimum_sim(&t.m, 6, pt_quick() ? 10000 : 100000, "anisotropic", NULL);
}

/* ---- training ----------------------------------------------------------------------------- */

typedef struct prog_rec { long calls, last, total; int bad; } prog_rec;
static int prog_cb(void *user, const pattn_train_rec *rec, long steps)
{
    prog_rec *p = (prog_rec *)user;
    long step = rec->step + 1;
    if (step <= p->last || !(rec->loss >= 0.0) || !isnan(rec->acc)) p->bad = 1;
    p->last = step;
    p->total = steps;
    p->calls++;
    return 0;
}

/* x = A^-1 b by Gaussian elimination with partial pivoting (d <= 16) */
static void solve_small(const double *A0, int d, const double *b, double *x)
{
    double A[256], v[16];
    int i, j, c, p;
    memcpy(A, A0, sizeof(double) * (size_t)d * d);
    memcpy(v, b, sizeof(double) * (size_t)d);
    for (c = 0; c < d; ++c) {
        p = c;
        for (i = c + 1; i < d; ++i)
            if (fabs(A[i * d + c]) > fabs(A[p * d + c])) p = i;
        for (j = 0; j < d; ++j) { double t = A[p * d + j]; A[p * d + j] = A[c * d + j]; A[c * d + j] = t; }
        { double t = v[p]; v[p] = v[c]; v[c] = t; }
        for (i = c + 1; i < d; ++i) {
            double f = A[i * d + c] / A[c * d + c];
            for (j = c; j < d; ++j) A[i * d + j] -= f * A[c * d + j];
            v[i] -= f * v[c];
        }
    }
    for (i = d - 1; i >= 0; --i) {
        double s = v[i];
        for (j = i + 1; j < d; ++j) s -= A[i * d + j] * x[j];
        x[i] = s / A[i * d + i];
    }
}

/* Adam on the reduced model (d = 4, n = 10) reaches the closed-form optimum: the exact risk
   of the trained parameters lies in [L, 1.02 L] */
static void test_train_converges(void)
{
    tiso a;
    pattn_icl_gen *g = NULL;
    pattn_icl_risks R;
    pattn_icl_model *md = NULL, *ft = NULL, *pgd = NULL;
    pattn_icl_train_opts o;
    int n = 10;
    double risk, L, se;
    pattn_history hist;
    prog_rec pr;
    tiso_make(&a, 4, 1.4, -0.6, 1, 2, 0);
    if (pattn_icl_gen_create(&a.m, &g) != PATTN_OK || pattn_icl_theory(&a.m, n, &R) != PATTN_OK) {
        PT_CHECK(0, "gen / theory");
        return;
    }
    pattn_icl_model_create(&a.m, PATTN_ICL_REDUCED, 0, &md);
    memset(&o, 0, sizeof o);
    memset(&hist, 0, sizeof hist);
    o.batch = pt_quick() ? 128 : 512;
    o.opt.steps = pt_quick() ? 400 : 1500;
    o.opt.lr = 0.1;
    o.opt.lr_final = 1e-4;
    o.opt.schedule = PATTN_SCHED_COSINE;
    o.scaling = PATTN_LR_SCALED;
    o.opt.seed = 11;
    o.opt.progress = prog_cb;
    o.opt.user = &pr;
    o.opt.progress_every = 100;
    /* PT */
    memset(&pr, 0, sizeof pr);
    o.regime = PATTN_ICL_PT;
    PT_CHECK(pattn_icl_train(g, md, n, &o, &hist) == PATTN_OK, "train PT");
    PT_CHECKF(hist.len == o.opt.steps && hist.diverged_at == -1, "history holds every step (%ld)", hist.len);
    PT_CHECKF(pr.calls == o.opt.steps / 100 + (o.opt.steps % 100 != 0) && pr.last == o.opt.steps && pr.total == o.opt.steps && !pr.bad,
              "progress callback (%ld calls)", pr.calls);
    pattn_icl_risk(&a.m, n, md->W, md->b, NULL, &risk);
    PT_CHECKF(risk >= R.pt * (1 - 1e-12) && risk <= 1.02 * R.pt, "PT trained: exact risk %.5f vs L_PT %.5f", risk, R.pt);
    pattn_icl_test_loss(g, md, n, pt_quick() ? 10000 : 50000, 5, NULL, &L, &se);
    PT_CHECKF(fabs(L - risk) <= 4 * se, "PT trained: test loss %.5f +- %.5f vs its exact risk %.5f", L, se, risk);
    pt_info("Adam PT  (d=4, n=10, %ld steps, batch %d): exact risk %.5f, L_PT %.5f (+%.2f%%), test %.4f +- %.4f", o.opt.steps, o.batch, risk, R.pt, 100 * (risk / R.pt - 1), L, se);
    /* FT: prompts on the frozen PT weights */
    pattn_icl_model_create(&a.m, PATTN_ICL_REDUCED, 0, &ft);
    memcpy(ft->theta, md->theta, sizeof(double) * (size_t)md->np);
    o.regime = PATTN_ICL_FT;
    o.opt.progress = NULL;
    PT_CHECK(pattn_icl_train(g, ft, n, &o, NULL) == PATTN_OK, "train FT");
    PT_CHECK(!memcmp(ft->W, md->W, sizeof(double) * 16), "FT leaves W frozen");
    pattn_icl_risk(&a.m, n, ft->W, ft->b, NULL, &risk);
    {
        /* the best prompts for the trained W (which is W_PT only approximately, so this floor
           may lie a little below L_FT): the risk is quadratic in b_k with minimiser
           b_k = W^-1 mu_k - n S mu_k (at W = W_PT this is the printed S mu_k + tau M^-1 mu_k) */
        double bst[8], floor_ft;
        int k, c;
        for (k = 0; k < 2; ++k) {
            solve_small(ft->W, 4, a.mu + 4 * k, bst + 4 * k);
            for (c = 0; c < 4; ++c) bst[4 * k + c] -= n * a.mu[4 * k + c];
        }
        pattn_icl_risk(&a.m, n, ft->W, bst, NULL, &floor_ft);
        PT_CHECKF(floor_ft >= R.jt * (1 - 1e-12) && fabs(floor_ft / R.ft - 1) < 0.01, "FT floor for the trained W %.5f near L_FT %.5f", floor_ft, R.ft);
        PT_CHECKF(risk >= floor_ft * (1 - 1e-12) && risk <= 1.02 * floor_ft, "FT trained: exact risk %.5f vs its floor %.5f", risk, floor_ft);
        pt_info("Adam FT: exact risk %.5f, floor for this W %.5f (+%.2f%%), L_FT %.5f", risk, floor_ft, 100 * (risk / floor_ft - 1), R.ft);
    }
    /* JT from zero */
    pattn_icl_model_init(md, n, 0);
    o.regime = PATTN_ICL_JT;
    PT_CHECK(pattn_icl_train(g, md, n, &o, NULL) == PATTN_OK, "train JT");
    pattn_icl_risk(&a.m, n, md->W, md->b, NULL, &risk);
    PT_CHECKF(risk >= R.jt * (1 - 1e-12) && risk <= 1.02 * R.jt, "JT trained: exact risk %.5f vs L_JT %.5f", risk, R.jt);
    pattn_icl_test_loss(g, md, n, pt_quick() ? 10000 : 50000, 6, NULL, &L, &se);
    PT_CHECKF(fabs(L - risk) <= 4 * se, "JT trained: test loss %.5f +- %.5f vs its exact risk %.5f", L, se, risk);
    pt_info("Adam JT: exact risk %.5f, L_JT %.5f (+%.2f%%), test %.4f +- %.4f", risk, R.jt, 100 * (risk / R.jt - 1), L, se);
    /* known-mean PGD, shared W */
    pattn_icl_model_create(&a.m, PATTN_ICL_PGD, 0, &pgd);
    o.regime = PATTN_ICL_DEC;
    PT_CHECK(pattn_icl_train(g, pgd, n, &o, NULL) == PATTN_OK, "train PGD");
    pattn_icl_risk_pgd(&a.m, n, pgd->W, 0, NULL, &risk);
    PT_CHECKF(risk >= R.dec * (1 - 1e-12) && risk <= 1.02 * R.dec, "PGD trained: exact risk %.5f vs L_dec %.5f", risk, R.dec);
    pt_info("Adam PGD: exact risk %.5f, L_dec %.5f (+%.2f%%)", risk, R.dec, 100 * (risk / R.dec - 1));
    pt_dump("icl.train.reduced_jt.theta", md->theta, sizeof(double) * (size_t)md->np);
    pt_dump("icl.train.reduced_ft.theta", ft->theta, sizeof(double) * (size_t)ft->np);
    pt_dump("icl.train.pgd.theta", pgd->theta, sizeof(double) * (size_t)pgd->np);
    pt_dump_history("icl.train.history", &hist);
    pattn_history_free(&hist);
    pattn_icl_model_free(md);
    pattn_icl_model_free(ft);
    pattn_icl_model_free(pgd);
    pattn_icl_gen_free(g);
}

/* the full model, prompts + heads, reaches the decoupled loss (and never L_LB from below) */
static void test_train_full(void)
{
    tiso a;
    pattn_icl_gen *g = NULL;
    pattn_icl_risks R;
    pattn_icl_model *md = NULL;
    pattn_icl_train_opts o;
    int n = 10;
    double L, se;
    tiso_make(&a, 4, 1.4, -0.6, 1, 2, 0);
    if (pattn_icl_gen_create(&a.m, &g) != PATTN_OK || pattn_icl_theory(&a.m, n, &R) != PATTN_OK) {
        PT_CHECK(0, "gen / theory");
        return;
    }
    pattn_icl_model_create(&a.m, PATTN_ICL_FULL, 1, &md);
    pattn_icl_model_init(md, n, 1);
    memset(&o, 0, sizeof o);
    o.regime = PATTN_ICL_DEC;
    o.batch = pt_quick() ? 128 : 512;
    o.opt.steps = pt_quick() ? 1000 : 3000;
    o.opt.lr = 0.1;
    o.opt.lr_final = 1e-4;
    o.opt.schedule = PATTN_SCHED_COSINE;
    o.scaling = PATTN_LR_SCALED;
    o.opt.seed = 12;
    PT_CHECK(pattn_icl_train(g, md, n, &o, NULL) == PATTN_OK, "train full prompt+heads");
    pattn_icl_test_loss(g, md, n, pt_quick() ? 10000 : 50000, 9, NULL, &L, &se);
    PT_CHECKF(L >= R.lb - 4 * se && L <= 1.03 * R.dec + 4 * se, "full prompt+heads: test %.5f +- %.5f vs L_dec %.5f (L_LB %.5f)", L, se, R.dec, R.lb);
    pt_info("Adam full model, prompt+heads (%ld steps): test %.4f +- %.4f, L_dec %.4f, L_LB %.4f", o.opt.steps, L, se, R.dec, R.lb);
    pattn_icl_model_free(md);
    pattn_icl_gen_free(g);
}

/* the optimiser arithmetic, the regime masks and determinism across threads */
static void test_optimizer(void)
{
    tmix t;
    pattn_icl_gen *g = NULL;
    pattn_icl_model *md = NULL, *m2 = NULL;
    pattn_icl_trainer *tr = NULL;
    pattn_icl_train_opts o;
    double g0[64], th0[64], L;
    int np, i, pass, ok;
    pattn_rng r;
    tmix_aniso(&t);
    if (pattn_icl_gen_create(&t.m, &g) != PATTN_OK) { PT_CHECK(0, "gen"); return; }
    pattn_icl_model_create(&t.m, PATTN_ICL_REDUCED, 0, &md);
    np = md->np; /* 9 + 12 */
    pattn_rng_seed(&r, 9);
    for (pass = 0; pass < 4; ++pass) { /* Adam + L2, AdamW, GD, GD with cosine (2nd step) */
        fill_random(md->theta, np, 0.2, &r);
        memset(&o, 0, sizeof o);
        o.regime = PATTN_ICL_JT;
        o.batch = 70;
        o.opt.steps = 2;
        o.opt.lr = 0.01;
        o.opt.weight_decay = 0.1;
        o.opt.decoupled = pass == 1;
        o.opt.optimizer = pass >= 2 ? PATTN_OPT_GD : PATTN_OPT_ADAM;
        o.opt.schedule = pass == 3 ? PATTN_SCHED_COSINE : PATTN_SCHED_CONSTANT;
        o.scaling = PATTN_LR_UNIFORM;
        o.opt.lr_final = 0.002;
        o.opt.seed = 40 + pass;
        pattn_icl_trainer_create(g, md, 5, &o, &tr);
        if (!tr) { PT_CHECK(0, "trainer"); break; }
        if (pass == 3) pattn_icl_trainer_step(tr, NULL);
        memcpy(th0, md->theta, sizeof(double) * (size_t)np);
        pattn_icl_trainer_grad(tr, &L, g0);
        pattn_icl_trainer_step(tr, NULL);
        ok = 1;
        for (i = 0; i < np; ++i) {
            double want, gi = g0[i];
            if (pass == 0) { gi += 0.1 * th0[i]; want = th0[i] - 0.01 * gi / (fabs(gi) + 1e-8); }
            else if (pass == 1) want = th0[i] - 0.01 * 0.1 * th0[i] - 0.01 * gi / (fabs(gi) + 1e-8);
            else want = th0[i] - (pass == 3 ? 0.002 : 0.01) * (gi + 0.1 * th0[i]);
            if (fabs(md->theta[i] - want) > 1e-13 * (1 + fabs(want))) ok = 0;
        }
        PT_CHECKF(ok, "optimiser step arithmetic (pass %d: Adam+L2, AdamW, GD, GD cosine)", pass);
        pattn_icl_trainer_free(tr);
        tr = NULL;
    }
    /* masks: PT zeroes and freezes the prompts; FT freezes W */
    fill_random(md->theta, np, 0.2, &r);
    memset(&o, 0, sizeof o);
    o.batch = 70;
    o.opt.steps = 3;
    o.regime = PATTN_ICL_PT;
    pattn_icl_train(g, md, 5, &o, NULL);
    ok = 1;
    for (i = 0; i < 12; ++i) ok &= md->b[i] == 0.0;
    PT_CHECK(ok, "PT: prompts zero");
    memcpy(th0, md->theta, sizeof(double) * (size_t)np);
    o.regime = PATTN_ICL_FT;
    pattn_icl_train(g, md, 5, &o, NULL);
    PT_CHECK(!memcmp(th0, md->theta, 9 * sizeof(double)) && memcmp(th0 + 9, md->b, 12 * sizeof(double)), "FT: W frozen, prompts move");
    pattn_icl_model_free(md);
    /* the full model: PT fixes heads e_D and zero prompts; FT only moves prompts */
    pattn_icl_model_create(&t.m, PATTN_ICL_FULL, 2, &md);
    pattn_icl_model_init(md, 5, 3);
    o.regime = PATTN_ICL_PT;
    pattn_icl_train(g, md, 5, &o, NULL);
    ok = 1;
    for (i = 0; i < 4 * 2 * 4; ++i) ok &= md->P[i] == 0.0;
    for (i = 0; i < 4 * 4; ++i) ok &= md->h[i] == (i % 4 == 3);
    PT_CHECK(ok, "full PT: zero prompts, heads e_D");
    memcpy(g0, md->theta, sizeof(double) * 48);
    o.regime = PATTN_ICL_FT;
    pattn_icl_train(g, md, 5, &o, NULL);
    PT_CHECK(!memcmp(g0, md->theta, 48 * sizeof(double)), "full FT: Wq, Wk, Wv frozen");
    ok = 0;
    for (i = 0; i < 32; ++i) ok |= md->P[i] != 0.0;
    PT_CHECK(ok, "full FT: prompts start away from the stationary zero and move");
    pattn_icl_model_free(md);
    /* thread count: the same run with 1 and 2 threads, bit for bit */
    {
        int thr = get_threads();
        double loss1 = 0, loss2 = 0;
        pattn_icl_model_create(&t.m, PATTN_ICL_FULL, 2, &md);
        pattn_icl_model_create(&t.m, PATTN_ICL_FULL, 2, &m2);
        pattn_icl_model_init(md, 6, 4);
        pattn_icl_model_init(m2, 6, 4);
        memset(&o, 0, sizeof o);
        o.batch = 200;
        o.opt.steps = 15;
        o.opt.lr = 0.01;
        o.regime = PATTN_ICL_DEC;
        o.opt.seed = 77;
        set_threads(1);
        pattn_icl_train(g, md, 6, &o, NULL);
        pattn_icl_test_loss(g, md, 6, 300, 1, NULL, &loss1, NULL);
        set_threads(2);
        pattn_icl_train(g, m2, 6, &o, NULL);
        pattn_icl_test_loss(g, m2, 6, 300, 1, NULL, &loss2, NULL);
        set_threads(thr);
        PT_CHECK(!memcmp(md->theta, m2->theta, sizeof(double) * (size_t)md->np) && loss1 == loss2,
                 "training and test loss identical with 1 and 2 threads");
        pt_dump("icl.train.full_dec.theta", md->theta, sizeof(double) * (size_t)md->np);
        pt_dump("icl.train.full_dec.test_loss", &loss1, sizeof loss1);
        pattn_icl_model_free(md);
        pattn_icl_model_free(m2);
    }
    pattn_icl_gen_free(g);
}

/* ---- bad input ---------------------------------------------------------------------------- */

static void test_bad_input(void)
{
    tmix t, u;
    tiso iso;
    pattn_icl_gen *g = NULL, *sent = (pattn_icl_gen *)&t;
    pattn_icl_model *md = NULL, *msent = (pattn_icl_model *)&u, *full = NULL, *other = NULL;
    pattn_icl_trainer *tsent = (pattn_icl_trainer *)&u, *tr;
    pattn_icl_train_opts o, ob;
    float X[64], y[64], xq[64], yq[8], beta[64];
    int task[8], i, ok;
    double th[256], yh[8], L = -7, gr[256], Lk[4], se = -7;
    tmix_aniso(&t);
    /* the mixture */
    {
        pattn_icl_mix m;
        double pi_bad[4] = {0.2, 0.4, 0.3, 0.2}, pi_neg[4] = {0.5, 0.5, 0.3, -0.3}, nv_neg[4] = {0, -1, 0, 0};
        double mu_nan[12], S_asym[9], S_indef[9] = {1, 0, 0, 0, -1, 0, 0, 0, 1}, cb_neg[36], cb_asym[36];
        memcpy(mu_nan, t.mu, sizeof mu_nan);
        mu_nan[4] = NAN;
        memcpy(S_asym, t.S, sizeof S_asym);
        S_asym[1] += 0.1;
        memcpy(cb_neg, t.cb, sizeof cb_neg);
        cb_neg[9 + 8] = -0.5;
        memcpy(cb_asym, t.cb, sizeof cb_asym);
        cb_asym[1] += 0.05;
        PT_CHECK(pattn_icl_gen_create(NULL, &g) == PATTN_EINVAL && !g, "gen: NULL mixture");
        PT_CHECK(pattn_icl_gen_create(&t.m, NULL) == PATTN_EINVAL, "gen: NULL out");
#define BAD(field, val, want, what)                                                     \
    do {                                                                                \
        m = t.m;                                                                        \
        m.field = val;                                                                  \
        g = sent;                                                                       \
        PT_CHECK(pattn_icl_gen_create(&m, &g) == (want) && g == sent, "gen: " what);    \
        md = msent;                                                                     \
        PT_CHECK(pattn_icl_model_create(&m, PATTN_ICL_REDUCED, 0, &md) == (want) && md == msent, "model: " what); \
    } while (0)
        BAD(d, 0, PATTN_EINVAL, "d = 0");
        BAD(K, 0, PATTN_EINVAL, "K = 0");
        BAD(pi, NULL, PATTN_EINVAL, "pi NULL");
        BAD(cov_beta, NULL, PATTN_EINVAL, "cov_beta NULL");
        BAD(pi, pi_bad, PATTN_EINVAL, "weights sum to 1.1");
        BAD(pi, pi_neg, PATTN_EINVAL, "negative weight");
        BAD(noise_var, nv_neg, PATTN_EINVAL, "negative noise");
        BAD(mu, mu_nan, PATTN_EINVAL, "NaN mean");
        BAD(cov_x, S_asym, PATTN_ENUM, "cov_x not symmetric");
        BAD(cov_x, S_indef, PATTN_ENUM, "cov_x not positive definite");
        BAD(cov_beta, cb_neg, PATTN_ENUM, "cov_beta not PSD");
        BAD(cov_beta, cb_asym, PATTN_ENUM, "cov_beta not symmetric");
#undef BAD
    }
    g = NULL;
    pattn_icl_gen_create(&t.m, &g);
    if (!g) { PT_CHECK(0, "gen"); return; }
    /* the sampler: outputs untouched */
    for (i = 0; i < 64; ++i) X[i] = y[i] = xq[i] = beta[i] = -3.0f;
    for (i = 0; i < 8; ++i) { yq[i] = -3.0f; task[i] = -3; }
    PT_CHECK(pattn_icl_sample(NULL, 0, 2, 2, 1, X, y, xq, yq, task, beta) == PATTN_EINVAL, "sample: NULL gen");
    PT_CHECK(pattn_icl_sample(g, 4, 2, 2, 1, X, y, xq, yq, task, beta) == PATTN_EINVAL, "sample: task = K");
    PT_CHECK(pattn_icl_sample(g, -2, 2, 2, 1, X, y, xq, yq, task, beta) == PATTN_EINVAL, "sample: task = -2");
    PT_CHECK(pattn_icl_sample(g, 0, 0, 2, 1, X, y, xq, yq, task, beta) == PATTN_EINVAL, "sample: n = 0");
    PT_CHECK(pattn_icl_sample(g, 0, 2, 0, 1, X, y, xq, yq, task, beta) == PATTN_EINVAL, "sample: batch = 0");
    PT_CHECK(pattn_icl_sample(g, 0, 2, 2, 1, NULL, y, xq, yq, task, beta) == PATTN_EINVAL, "sample: NULL X");
    PT_CHECK(pattn_icl_sample(g, 0, 2, 2, 1, X, NULL, xq, yq, task, beta) == PATTN_EINVAL, "sample: NULL y");
    PT_CHECK(pattn_icl_sample(g, 0, 2, 2, 1, X, y, NULL, yq, task, beta) == PATTN_EINVAL, "sample: NULL xq");
    PT_CHECK(pattn_icl_sample(g, 0, 2, 2, 1, X, y, xq, NULL, task, beta) == PATTN_EINVAL, "sample: NULL yq");
    ok = 1;
    for (i = 0; i < 64; ++i) ok &= X[i] == -3.0f && y[i] == -3.0f && xq[i] == -3.0f && beta[i] == -3.0f;
    for (i = 0; i < 8; ++i) ok &= yq[i] == -3.0f && task[i] == -3;
    PT_CHECK(ok, "sample: outputs untouched on error");
    /* models */
    md = msent;
    PT_CHECK(pattn_icl_model_create(&t.m, 9, 0, &md) == PATTN_EINVAL && md == msent, "model: unknown type");
    PT_CHECK(pattn_icl_model_create(&t.m, PATTN_ICL_REDUCED, 1, &md) == PATTN_EINVAL && md == msent, "model: prompt tokens on REDUCED");
    PT_CHECK(pattn_icl_model_create(&t.m, PATTN_ICL_FULL, -1, &md) == PATTN_EINVAL && md == msent, "model: m < 0");
    PT_CHECK(pattn_icl_model_create(&t.m, PATTN_ICL_FULL, 1, NULL) == PATTN_EINVAL, "model: NULL out");
    pattn_icl_model_create(&t.m, PATTN_ICL_FULL, 1, &full);
    PT_CHECK(pattn_icl_model_init(full, 0, 1) == PATTN_EINVAL, "model_init: n = 0");
    PT_CHECK(pattn_icl_model_init(NULL, 3, 1) == PATTN_EINVAL, "model_init: NULL");
    pattn_icl_sample(g, PATTN_ICL_MIXTURE, 2, 8, 3, X, y, xq, yq, task, NULL);
    memcpy(th, full->theta, sizeof(double) * (size_t)full->np);
    for (i = 0; i < 8; ++i) yh[i] = -7;
    for (i = 0; i < 256; ++i) gr[i] = -7;
    {
        double wbad[4] = {0.1, NAN, 0.1, 0.1};
        int tbad[8];
        memcpy(tbad, task, sizeof tbad);
        tbad[5] = 4;
        PT_CHECK(pattn_icl_loss_grad(NULL, 2, 8, X, y, xq, yq, task, NULL, yh, &L, gr) == PATTN_EINVAL, "loss_grad: NULL model");
        PT_CHECK(pattn_icl_loss_grad(full, 0, 8, X, y, xq, yq, task, NULL, yh, &L, gr) == PATTN_EINVAL, "loss_grad: n = 0");
        PT_CHECK(pattn_icl_loss_grad(full, 2, 0, X, y, xq, yq, task, NULL, yh, &L, gr) == PATTN_EINVAL, "loss_grad: batch = 0");
        PT_CHECK(pattn_icl_loss_grad(full, 2, 8, NULL, y, xq, yq, task, NULL, yh, &L, gr) == PATTN_EINVAL, "loss_grad: NULL X");
        PT_CHECK(pattn_icl_loss_grad(full, 2, 8, X, y, xq, yq, tbad, NULL, yh, &L, gr) == PATTN_EINVAL, "loss_grad: task out of range");
        PT_CHECK(pattn_icl_loss_grad(full, 2, 8, X, y, xq, yq, task, wbad, yh, &L, gr) == PATTN_EINVAL, "loss_grad: NaN weight");
        full->Wv[3] = NAN;
        PT_CHECK(pattn_icl_loss_grad(full, 2, 8, X, y, xq, yq, task, NULL, yh, &L, gr) == PATTN_EINVAL, "loss_grad: NaN parameter");
        full->Wv[3] = th[2 * 16 + 3];
    }
    ok = L == -7;
    for (i = 0; i < 8; ++i) ok &= yh[i] == -7;
    for (i = 0; i < 256; ++i) ok &= gr[i] == -7;
    PT_CHECK(ok, "loss_grad: outputs untouched on error");
    {
        double W[9] = {1, 2, 3, 2, 4, 6, 0, 1, 1}, Wn[9] = {1, 0, 0, 0, NAN, 0, 0, 0, 1};
        pattn_icl_model *red = NULL;
        PT_CHECK(pattn_icl_full_from_pgd(full, W) == PATTN_ENUM, "full_from_pgd: singular W");
        PT_CHECK(pattn_icl_full_from_pgd(full, Wn) == PATTN_EINVAL, "full_from_pgd: NaN W");
        PT_CHECK(pattn_icl_full_from_reduced(full, Wn, NULL) == PATTN_EINVAL, "full_from_reduced: NaN W");
        PT_CHECK(pattn_icl_full_from_reduced(full, NULL, NULL) == PATTN_EINVAL, "full_from_reduced: NULL W");
        pattn_icl_model_create(&t.m, PATTN_ICL_REDUCED, 0, &red);
        PT_CHECK(pattn_icl_full_from_reduced(red, W, NULL) == PATTN_EINVAL, "full_from_reduced: not a FULL model");
        PT_CHECK(!memcmp(th, full->theta, sizeof(double) * (size_t)full->np), "constructions: model untouched on error");
        pattn_icl_model_free(red);
    }
    /* training options */
    memset(&o, 0, sizeof o);
    o.regime = PATTN_ICL_JT;
    o.opt.steps = 2;
    o.batch = 10;
#define BADT(n_, stmt, what)                                                                      \
    do {                                                                                          \
        pattn_history h_;                                                                         \
        memset(&h_, 0, sizeof h_);                                                                \
        ob = o;                                                                                   \
        stmt;                                                                                     \
        tr = tsent;                                                                               \
        PT_CHECK(pattn_icl_trainer_create(g, full, n_, &ob, &tr) == PATTN_EINVAL && tr == tsent, "trainer: " what); \
        PT_CHECK(pattn_icl_train(g, full, n_, &ob, &h_) == PATTN_EINVAL && !h_.rec, "train: " what); \
    } while (0)
    BADT(0, (void)0, "n = 0");
    BADT(3, ob.batch = -1, "batch < 0");
    BADT(3, ob.opt.steps = -1, "steps < 0");
    BADT(3, ob.opt.lr = -1e-3, "lr < 0");
    BADT(3, ob.opt.lr = NAN, "lr NaN");
    BADT(3, ob.opt.lr_final = -1, "lr_final < 0");
    BADT(3, ob.opt.beta1 = 1.0, "beta1 = 1");
    BADT(3, ob.opt.beta2 = -0.5, "beta2 < 0");
    BADT(3, ob.opt.eps = -1, "eps < 0");
    BADT(3, ob.opt.weight_decay = -0.1, "weight decay < 0");
    BADT(3, ob.opt.optimizer = (pattn_optimizer)5, "unknown optimiser");
    BADT(3, ob.opt.schedule = (pattn_schedule)5, "unknown schedule");
    BADT(3, ob.scaling = (pattn_lr_scaling)5, "unknown scaling");
    BADT(3, ob.regime = PATTN_ICL_LB, "LB on the full model");
    BADT(3, ob.regime = (pattn_icl_regime)9, "unknown regime");
    BADT(3, ob.opt.progress_every = -1, "progress_every < 0");
#undef BADT
    PT_CHECK(!memcmp(th, full->theta, sizeof(double) * (size_t)full->np), "trainer: model untouched on error");
    tr = tsent;
    PT_CHECK(pattn_icl_trainer_create(NULL, full, 3, &o, &tr) == PATTN_EINVAL && tr == tsent, "trainer: NULL gen");
    PT_CHECK(pattn_icl_trainer_create(g, NULL, 3, &o, &tr) == PATTN_EINVAL && tr == tsent, "trainer: NULL model");
    PT_CHECK(pattn_icl_trainer_create(g, full, 3, &o, NULL) == PATTN_EINVAL, "trainer: NULL out");
    PT_CHECK(pattn_icl_trainer_step(NULL, &L) == PATTN_EINVAL && L == -7, "trainer_step: NULL");
    PT_CHECK(pattn_icl_trainer_grad(NULL, &L, gr) == PATTN_EINVAL && L == -7, "trainer_grad: NULL");
    {
        pattn_icl_model *red = NULL, *pgd = NULL, *pgdt = NULL;
        pattn_icl_model_create(&t.m, PATTN_ICL_REDUCED, 0, &red);
        pattn_icl_model_create(&t.m, PATTN_ICL_PGD, 0, &pgd);
        pattn_icl_model_create(&t.m, PATTN_ICL_PGD_TASK, 0, &pgdt);
        ob = o;
        ob.regime = PATTN_ICL_DEC;
        PT_CHECK(pattn_icl_trainer_create(g, red, 3, &ob, &tr) == PATTN_EINVAL && tr == tsent, "trainer: DEC on the reduced model");
        ob.regime = PATTN_ICL_LB;
        PT_CHECK(pattn_icl_trainer_create(g, pgd, 3, &ob, &tr) == PATTN_EINVAL && tr == tsent, "trainer: LB with a shared W");
        ob.regime = PATTN_ICL_JT;
        PT_CHECK(pattn_icl_trainer_create(g, pgdt, 3, &ob, &tr) == PATTN_EINVAL && tr == tsent, "trainer: JT on PGD");
        /* a PGD model of a mixture with other task means */
        tmix_aniso(&u);
        u.mu[5] += 1.0;
        pattn_icl_model_free(pgd);
        pgd = NULL;
        pattn_icl_model_create(&u.m, PATTN_ICL_PGD, 0, &pgd);
        ob = o;
        ob.regime = PATTN_ICL_DEC;
        PT_CHECK(pattn_icl_trainer_create(g, pgd, 3, &ob, &tr) == PATTN_EINVAL && tr == tsent, "trainer: PGD model with other means");
        L = se = -7;
        PT_CHECK(pattn_icl_test_loss(g, pgd, 3, 10, 1, NULL, &L, &se) == PATTN_EINVAL && L == -7 && se == -7, "test_loss: PGD model with other means");
        pattn_icl_model_free(red);
        pattn_icl_model_free(pgd);
        pattn_icl_model_free(pgdt);
        /* a model of another mixture */
        tiso_make(&iso, 10, 1, -1, 1, 1, 0);
        pattn_icl_model_create(&iso.m, PATTN_ICL_FULL, 1, &other);
        PT_CHECK(pattn_icl_trainer_create(g, other, 3, &o, &tr) == PATTN_EINVAL && tr == tsent, "trainer: model of another dimension");
        PT_CHECK(pattn_icl_test_loss(g, other, 3, 10, 1, Lk, &L, &se) == PATTN_EINVAL, "test_loss: model of another dimension");
    }
    Lk[0] = Lk[1] = Lk[2] = Lk[3] = -7;
    PT_CHECK(pattn_icl_test_loss(g, full, 0, 10, 1, Lk, &L, &se) == PATTN_EINVAL, "test_loss: n = 0");
    PT_CHECK(pattn_icl_test_loss(g, full, 3, 1, 1, Lk, &L, &se) == PATTN_EINVAL, "test_loss: batch < 2");
    PT_CHECK(pattn_icl_test_loss(NULL, full, 3, 10, 1, Lk, &L, &se) == PATTN_EINVAL, "test_loss: NULL gen");
    PT_CHECK(Lk[0] == -7 && Lk[3] == -7 && L == -7 && se == -7, "test_loss: outputs untouched on error");
    pattn_icl_model_free(other);
    pattn_icl_model_free(full);
    pattn_icl_gen_free(g);
}

void suite_icl_train(void)
{
    test_bad_input();
    test_generator_stats();
    test_reproducible();
    test_gradients();
    test_fused_gradient();
    test_test_set();
    test_constructions();
    test_optimum_simulation();
    test_optimizer();
    test_train_converges();
    test_train_full();
}
