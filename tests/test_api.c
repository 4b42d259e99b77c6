/* The drop-in contract: every failure names its function, argument and rule; the message is
   per thread; diverging training stops with PATTN_EDIVERGED and says where; zeroed options
   are defaults that reach the closed forms; every status has its own sentence. */
#include "prompt_attn.h"
#include "harness.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* the last error holds every fragment */
static int msg_has(const char *a, const char *b, const char *c)
{
    const char *e = pattn_last_error();
    return strstr(e, a) && (!b || strstr(e, b)) && (!c || strstr(e, c));
}
#define MSG(call, want, a, b, c)                                                                 \
    do {                                                                                         \
        pattn_status st_;                                                                        \
        pattn_clear_error();                                                                     \
        st_ = (call);                                                                            \
        PT_CHECKF(st_ == (want) && msg_has(a, b, c), "%s: status %d, message \"%s\"", #call,    \
                  (int)st_, pattn_last_error());                                               \
    } while (0)

/* the README's paper-2 recipe: d = 5, two tasks, n = 20 */
enum { RD = 5, RK = 2, RN = 20 };
typedef struct recipe {
    double pi[RK], mu[RK * RD], cov[RK * RD * RD], noise[RK];
    pattn_icl_mix m;
} recipe;
static void recipe_make(recipe *r)
{
    int k, i;
    memset(r, 0, sizeof *r);
    r->pi[0] = 0.3;
    r->pi[1] = 0.7;
    for (k = 0; k < RK; ++k) {
        r->noise[k] = 0.01;
        for (i = 0; i < RD; ++i) {
            r->mu[k * RD + i] = k == 0 ? 1.0 : -0.5;
            r->cov[(k * RD + i) * RD + i] = 1.0;
        }
    }
    r->m.d = RD; r->m.K = RK; r->m.pi = r->pi; r->m.mu = r->mu; r->m.cov_beta = r->cov; r->m.noise_var = r->noise;
}

static void test_messages(void)
{
    recipe r;
    pattn_icl_risks out;
    pattn_cmm m;
    pattn_head_risk hr;
    float X[64], y[4], p[4] = {0}, v[4] = {0};
    pattn_params P;
    pattn_batch_out bo;
    double A[4] = {1, 2, 2, 1}, w[2];
    recipe_make(&r);

    PT_CHECK(pattn_last_error() != NULL, "pattn_last_error is never NULL");
    pattn_clear_error();
    PT_CHECK(pattn_last_error()[0] == 0, "pattn_clear_error empties the message");

    r.pi[0] = 0.4; /* sums to 1.1 */
    MSG(pattn_icl_theory(&r.m, RN, &out), PATTN_EINVAL, "pattn_icl_theory: ", "m->pi sums to 1.1", "must sum to 1");
    MSG(pattn_icl_mix_check(&r.m), PATTN_EINVAL, "pattn_icl_mix_check: ", "m->pi sums to 1.1", NULL);
    r.pi[0] = 0.3;
    r.cov[0] = -1.0;
    MSG(pattn_icl_theory(&r.m, RN, &out), PATTN_ENUM, "pattn_icl_theory: ", "m->cov_beta[0]", "positive semidefinite");
    r.cov[0] = 1.0;
    MSG(pattn_icl_theory(&r.m, 0, &out), PATTN_EINVAL, "pattn_icl_theory: ", "n (the context length) is 0", ">= 1");
    MSG(pattn_icl_theory(&r.m, RN, NULL), PATTN_EINVAL, "pattn_icl_theory: ", "out is NULL", NULL);

    memset(&m, 0, sizeof m);
    m.d = 8; m.T = 4; m.sigma = 1.0; /* zeta forgotten */
    MSG(pattn_cmm_sample(&m, NULL, 1, 0, 1, X, y, NULL), PATTN_EINVAL, "pattn_cmm_sample: ", "m->zeta is 0", "(0, 1]");
    MSG(pattn_head_risk_theory(&m, 1.0, 2.0, 0.1, &hr), PATTN_EINVAL, "pattn_head_risk_theory: ", "m->zeta", NULL);
    m.zeta = 0.25;
    MSG(pattn_head_risk_theory(&m, 1.0, -2.0, 0.1, &hr), PATTN_EINVAL, "pattn_head_risk_theory: ", "kappa is -2", "> 0");
    m.eps = 1.5;
    MSG(pattn_cmm_sample(&m, NULL, 1, 0, 1, X, y, NULL), PATTN_EINVAL, "pattn_cmm_sample: ", "m->eps is 1.5", "[0, 1]");
    m.eps = 0.0;
    /* zero norms are the documented defaults |q| = |v*| = 1 */
    PT_CHECK(pattn_cmm_sample(&m, NULL, 1, 0, 1, X, y, NULL) == PATTN_OK, "cmm: zero q_norm, v_norm mean 1");
    {
        float q[8], vs[8];
        pattn_cmm_vectors(&m, NULL, q, vs);
        PT_CHECK(q[0] == 1.0f && vs[1] == 1.0f, "cmm: default q = e1, v* = e2");
    }

    P.d = 4; P.p = p; P.v = NULL; P.W = NULL;
    MSG(pattn_model_eval(PATTN_PA, &P, X, 4, NULL, NULL, NULL, NULL), PATTN_EINVAL, "pattn_model_eval: ", "P->v is NULL", NULL);
    P.v = v;
    v[2] = NAN;
    MSG(pattn_model_eval(PATTN_PA, &P, X, 4, NULL, NULL, NULL, NULL), PATTN_EINVAL, "pattn_model_eval: ", "P->v", "NaN");
    v[2] = 0.0f;
    memset(&bo, 0, sizeof bo);
    bo.gp = X;
    MSG(pattn_model_batch(PATTN_LIN, &P, PATTN_LOSS_SQUARED, X, y, 1, 4, &bo, NULL, 0), PATTN_EINVAL, "pattn_model_batch: ", "out->gp", "no prompt");
    MSG(pattn_sym_eig(A, 0, w, NULL), PATTN_EINVAL, "pattn_sym_eig: ", "n is 0", NULL);
    A[1] = 3.0;
    MSG(pattn_chol(A, 2), PATTN_ENUM, "pattn_chol: ", "not symmetric", NULL);
    A[1] = 2.0;
    MSG(pattn_chol(A, 2), PATTN_ENUM, "pattn_chol: ", "not positive definite", NULL);
    pattn_clear_error();
    PT_CHECK(isnan(pattn_pa_forward_backward_f32(X, 4, 4, p, NULL, NULL, NULL)) && msg_has("pattn_pa_forward_backward_f32: ", "v is NULL", NULL),
             "NaN-returning kernels record a message too");

    /* every status has its own sentence, and none talks about matrices unless it is ENUM */
    {
        static const pattn_status all[5] = {PATTN_OK, PATTN_EINVAL, PATTN_ENOMEM, PATTN_ENUM, PATTN_EDIVERGED};
        int i, j, distinct = 1;
        for (i = 0; i < 5; ++i)
            for (j = 0; j < i; ++j) distinct &= strcmp(pattn_status_str(all[i]), pattn_status_str(all[j])) != 0;
        PT_CHECK(distinct, "status strings are distinct");
        PT_CHECK(strstr(pattn_status_str(PATTN_EDIVERGED), "diverged") != NULL, "EDIVERGED says diverged");
        PT_CHECK(strstr(pattn_status_str(PATTN_EINVAL), "pattn_last_error") != NULL, "EINVAL points at pattn_last_error");
    }
}

/* Two threads fail differently at the same time; each reads its own message. */
static void test_thread_messages(void)
{
#ifdef _OPENMP
    int ok[2] = {0, 0};
#pragma omp parallel num_threads(2)
    {
        int t = omp_get_thread_num(), it, good = 1;
        if (t < 2) {
            for (it = 0; it < 2000; ++it) {
                double w[1];
                if (t == 0) {
                    pattn_chol(NULL, 3);
                    good &= strstr(pattn_last_error(), "pattn_chol: A is NULL") != NULL;
                } else {
                    pattn_sym_eig(w, -4, w, NULL);
                    good &= strstr(pattn_last_error(), "pattn_sym_eig: n is -4") != NULL;
                }
            }
            ok[t] = good;
        }
    }
    if (omp_get_max_threads() >= 2) PT_CHECK(ok[0] && ok[1], "each thread reads its own failure message");
#endif
}

static void test_icl_divergence(void)
{
    recipe r;
    pattn_icl_gen *g = NULL;
    pattn_icl_model *md = NULL;
    pattn_icl_trainer *t = NULL;
    pattn_icl_train_opts o = {0};
    pattn_history h = {0};
    double L = 0;
    int fin;
    recipe_make(&r);
    if (pattn_icl_gen_create(&r.m, &g) != PATTN_OK || pattn_icl_model_create(&r.m, PATTN_ICL_REDUCED, 0, &md) != PATTN_OK) {
        PT_CHECK(0, "setup");
        return;
    }
    o.regime = PATTN_ICL_JT;
    o.opt.optimizer = PATTN_OPT_GD;
    o.opt.lr = 10.0;
    o.opt.steps = 200;
    o.scaling = PATTN_LR_UNIFORM;
    o.opt.schedule = PATTN_SCHED_CONSTANT;
    MSG(pattn_icl_train(g, md, RN, &o, &h), PATTN_EDIVERGED, "pattn_icl_train: diverged at step", "lower opt.lr", NULL);
    PT_CHECKF(h.diverged_at >= 0 && h.diverged_at < 200 && h.len == h.diverged_at + 1, "ICL divergence: step %ld recorded, %ld records", h.diverged_at, h.len);
    fin = pattn_icl_test_loss(g, md, RN, 100, 1, NULL, &L, NULL) == PATTN_OK;
    PT_CHECK(fin, "ICL divergence: the model keeps the last finite iterate (test loss still computes)");
    pt_info("GD at lr 10 diverges at step %ld: %s", h.diverged_at, pattn_last_error());
    pattn_history_free(&h);
    /* step by step: the failing step and every later one return EDIVERGED */
    memset(md->theta, 0, sizeof(double) * (size_t)md->np);
    if (pattn_icl_trainer_create(g, md, RN, &o, &t) == PATTN_OK) {
        pattn_status st = PATTN_OK;
        int s;
        for (s = 0; s < 200 && st == PATTN_OK; ++s) st = pattn_icl_trainer_step(t, &L);
        PT_CHECK(st == PATTN_EDIVERGED, "trainer_step: EDIVERGED");
        PT_CHECK(pattn_icl_trainer_step(t, &L) == PATTN_EDIVERGED, "trainer_step: stays diverged");
        pattn_icl_trainer_free(t);
    } else {
        PT_CHECK(0, "trainer_create");
    }
    pattn_icl_model_free(md);
    pattn_icl_gen_free(g);
}

/* All-zero options (o = NULL too) reach the PT, FT and JT closed forms within 1% on the
   README's recipe; the exact population risk of the learned W and b is what is compared. */
static void test_icl_defaults(void)
{
    recipe r;
    pattn_icl_gen *g = NULL;
    pattn_icl_model *md = NULL;
    pattn_icl_train_opts o = {0};
    pattn_icl_risks th;
    double risk[3];
    int i;
    recipe_make(&r);
    if (pattn_icl_gen_create(&r.m, &g) != PATTN_OK || pattn_icl_model_create(&r.m, PATTN_ICL_REDUCED, 0, &md) != PATTN_OK ||
        pattn_icl_theory(&r.m, RN, &th) != PATTN_OK) {
        PT_CHECK(0, "setup");
        return;
    }
    for (i = 0; i < 3; ++i) {
        o.regime = i == 0 ? PATTN_ICL_PT : i == 1 ? PATTN_ICL_FT : PATTN_ICL_JT;
        PT_CHECK(pattn_icl_train(g, md, RN, i == 0 ? NULL : &o, NULL) == PATTN_OK, "train with defaults");
        pattn_icl_risk(&r.m, RN, md->W, md->b, NULL, &risk[i]);
    }
    pt_info("defaults on the README recipe: PT %.5f (L_PT %.5f, %+.2f%%), FT %.5f (L_FT %.5f, %+.2f%%), JT %.5f (L_JT %.5f, %+.2f%%)",
            risk[0], th.pt, 100 * (risk[0] / th.pt - 1), risk[1], th.ft, 100 * (risk[1] / th.ft - 1), risk[2], th.jt, 100 * (risk[2] / th.jt - 1));
    PT_CHECKF(risk[0] >= th.pt * (1 - 1e-12) && risk[0] <= 1.01 * th.pt, "PT within 1%% of L_PT: %.5f vs %.5f", risk[0], th.pt);
    /* FT's optimum assumes W = W_PT exactly; the trained W is close to it, so FT may land a hair
       on either side of L_FT, but never below L_JT */
    PT_CHECKF(fabs(risk[1] / th.ft - 1) <= 0.01 && risk[1] >= th.jt * (1 - 1e-12), "FT within 1%% of L_FT: %.5f vs %.5f", risk[1], th.ft);
    PT_CHECKF(risk[2] >= th.jt * (1 - 1e-12) && risk[2] <= 1.01 * th.jt, "JT within 1%% of L_JT: %.5f vs %.5f", risk[2], th.jt);
    pt_dump("api.icl_defaults.theta", md->theta, sizeof(double) * (size_t)md->np);
    pattn_icl_model_free(md);
    pattn_icl_gen_free(g);
}

/* Training uses its own exp, log1p and cos (the same bits on every C library); they must
   stay within a few ulp of the C library's. */
static void test_portable_math(void)
{
    int i, bad = 0;
    double worst = 0.0;
    pattn_rng r;
    pattn_train_opts o = {0};
    pattn_history h = {0};
    float X[8 * 4 * 3], y[8], p[3] = {0}, v[3] = {0};
    pattn_params P = {0};
    pattn_cmm m = {0};
    pattn_rng_seed(&r, 3);
    for (i = 0; i < 200000; ++i) {
        double f = (pattn_rng_uniform_f64(&r) - 0.5) * (i < 100000 ? 80.0 : 1e-3), yy = i % 2 ? 1.0 : -1.0, dl;
        double got = pattn_loss_value(PATTN_LOSS_LOGISTIC, f, yy, &dl);
        double mm = -yy * f, want = (mm > 0 ? mm : 0.0) + log1p(exp(-fabs(mm)));
        double rel = fabs(got - want) / want;
        if (rel > worst) worst = rel;
        if (rel > 4e-16 * (1.0 + fabs(mm))) ++bad;
    }
    pt_info("logistic loss with the library's own exp/log1p: largest relative difference from the C library %.2g", worst);
    PT_CHECKF(bad == 0, "logistic loss within a few ulp of log1p(exp(.)) (%d outliers, worst %.2g)", bad, worst);
    /* the cosine schedule's rates against the C library's cos */
    m.d = 3; m.T = 4; m.zeta = 0.5; m.sigma = 1.0;
    pattn_cmm_sample(&m, NULL, 1, 0, 8, X, y, NULL);
    P.d = 3; P.p = p; P.v = v;
    o.opt.steps = 40; o.opt.lr = 0.01; o.opt.lr_final = 0.001;
    pattn_train(&o, &P, X, y, 8, 4, &h);
    worst = 0.0;
    for (i = 0; i < h.len; ++i) {
        double want = 0.001 + (0.01 - 0.001) * 0.5 * (1.0 + cos(3.14159265358979323846 * (double)i / 39.0));
        double rel = fabs(h.rec[i].lr - want) / want;
        if (rel > worst) worst = rel;
    }
    PT_CHECKF(h.len == 40 && worst < 1e-15, "cosine schedule within 1e-15 of the C library's cos (worst %.2g)", worst);
    pattn_history_free(&h);
}

/* Inputs at extreme magnitudes and NULL generators (hardening found these) */
static void test_extremes(void)
{
    static const double scales[4] = {1e200, 1e-170, 1e-300, 1e300};
    double A[4], w[2], V[4], L[1] = {2.0}, B[1] = {NAN};
    int i, ok = 1;
    for (i = 0; i < 4; ++i) { /* [[0, s], [s, 0]] is indefinite at every scale: eigenvalues -s, s */
        double sc = scales[i];
        A[0] = 0.0; A[1] = sc; A[2] = sc; A[3] = 0.0;
        ok &= pattn_sym_eig(A, 2, w, V) == PATTN_OK && fabs(w[0] + sc) <= 1e-15 * sc && fabs(w[1] - sc) <= 1e-15 * sc;
    }
    PT_CHECK(ok, "sym_eig converges at 1e200, 1e-170, 1e-300, 1e300 (an indefinite matrix stays indefinite)");
    PT_CHECK(pattn_chol_solve(L, 1, B, 1) == PATTN_EINVAL && isnan(B[0]), "chol_solve rejects NaN in B, writes nothing");
    L[0] = INFINITY;
    B[0] = 1.0;
    PT_CHECK(pattn_chol_solve(L, 1, B, 1) == PATTN_EINVAL && B[0] == 1.0, "chol_solve rejects inf in L");
    PT_CHECK(pattn_rng_u64(NULL) == 0 && pattn_rng_uniform_f64(NULL) == 0.0 && pattn_rng_normal_f64(NULL) == 0.0 &&
             pattn_rng_below(NULL, 5) == 0, "RNG functions accept NULL");
    PT_CHECK(isnan(pattn_expf(NAN)) && pattn_expf(-INFINITY) == 0.0f && pattn_expf(1000.0f) == pattn_expf(88.3762626647949f),
             "expf of NaN, -inf and a clamped large input (the lane conversion is defined for them)");
}

void suite_api(void)
{
    test_extremes();
    test_portable_math();
    test_messages();
    test_thread_messages();
    test_icl_divergence();
    test_icl_defaults();
}
