/* Every public function that can fail, called once with one defect and sentinel-filled
   outputs: it must report the failure (status, NaN or 0), leave a message that names it, and
   write nothing. The fuzz targets do the same on decoded inputs; this is the fixed list. */
#include "prompt_attn.h"
#include "harness.h"
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENT 0xA5
static unsigned char pool[8][4096];
static void fill(void) { memset(pool, SENT, sizeof pool); }
static int clean(void)
{
    const unsigned char *p = &pool[0][0];
    size_t i;
    for (i = 0; i < sizeof pool; ++i)
        if (p[i] != SENT) return 0;
    return 1;
}
#define F(i) ((float *)(void *)pool[i])
#define D(i) ((double *)(void *)pool[i])
#define U8(i) ((uint8_t *)(void *)pool[i])

static int named(const char *fn) { return strstr(pattn_last_error(), fn) != NULL; }

/* a call's failure: the condition that shows it, and its name in the message */
#define NOWRITE(fn, failed)                                                                      \
    do {                                                                                         \
        int f_;                                                                                  \
        pattn_clear_error();                                                                     \
        fill();                                                                                  \
        f_ = (failed);                                                                           \
        PT_CHECKF(f_ && clean() && named(fn), "%s fails, writes nothing, names itself: %s%s (\"%s\")", fn, \
                  f_ ? "" : "did not fail; ", clean() ? "" : "wrote", pattn_last_error());        \
    } while (0)

void suite_nowrite(void)
{
    static float X[4 * 4 * 4], y[4] = {1, -1, 1, -1}, p[4] = {0.1f, 0.2f, 0.3f, 0.4f}, v[4] = {1, 0, 0, 1};
    static const double pi1[2] = {0.5, 0.5}, b1[2] = {1.0, -1.0};
    pattn_params P;
    pattn_cmm m;
    pattn_batch_out bo;
    pattn_rng r;
    pattn_rng8 r8;
    int i;
    double nan_ = NAN;
    for (i = 0; i < 64; ++i) X[i] = (float)sin(0.37 * i);
    memset(&P, 0, sizeof P);
    P.d = 4; P.p = p; P.v = v;
    memset(&m, 0, sizeof m);
    m.d = 4; m.T = 4; m.zeta = 0.5; m.sigma = 1.0;
    pattn_rng_seed(&r, 1);
    pattn_rng8_seed(&r8, 1, 0);

    /* kernels */
    NOWRITE("pattn_rng_normal_f32", (pattn_rng_normal_f32(&r, F(0), -1), pattn_last_error()[0]));
    NOWRITE("pattn_rng8_normal_f32", (pattn_rng8_normal_f32(&r8, F(0), -3), pattn_last_error()[0]));
    NOWRITE("pattn_rng8_uniform_f32", (pattn_rng8_uniform_f32(&r8, F(0), -3), pattn_last_error()[0]));
    NOWRITE("pattn_axpy_f32", (pattn_axpy_f32(-1, 1.0f, X, F(0)), pattn_last_error()[0]));
    NOWRITE("pattn_scale_f32", (pattn_scale_f32(-1, 2.0f, F(0)), pattn_last_error()[0]));
    NOWRITE("pattn_exp_f32", (pattn_exp_f32(X, F(0), -1), pattn_last_error()[0]));
    NOWRITE("pattn_softmax_f32", (pattn_softmax_f32(NULL, F(0), 4), pattn_last_error()[0]));
    NOWRITE("pattn_softmax_rows_f32", (pattn_softmax_rows_f32(X, F(0), -1, 4), pattn_last_error()[0]));
    NOWRITE("pattn_matvec_f32", (pattn_matvec_f32(X, 4, 4, NULL, F(0)), pattn_last_error()[0]));
    NOWRITE("pattn_matvec_t_f32", (pattn_matvec_t_f32(X, 4, -4, p, F(0)), pattn_last_error()[0]));
    {
        float pn[4] = {0.1f, NAN, 0.0f, 0.0f};
        NOWRITE("pattn_pa_forward_backward_f32", isnan(pattn_pa_forward_backward_f32(X, 4, 4, pn, v, F(0), F(1))));
    }
    /* linear algebra */
    {
        double A[4] = {1, 2, 2, 1}, A0[4];
        memcpy(A0, A, sizeof A);
        NOWRITE("pattn_chol", pattn_chol(A, 2) == PATTN_ENUM && !memcmp(A, A0, sizeof A)); /* indefinite */
        NOWRITE("pattn_chol_solve", pattn_chol_solve(A, 2, D(0), 0) == PATTN_EINVAL);
        A[1] = 3.0; /* not symmetric */
        NOWRITE("pattn_sym_eig", pattn_sym_eig(A, 2, D(0), D(1)) == PATTN_ENUM);
    }
    /* paper 1 models and generator */
    NOWRITE("pattn_loss_value", isnan(pattn_loss_value((pattn_loss)7, 0.5, 1.0, NULL)));
    NOWRITE("pattn_model_eval", pattn_model_eval((pattn_model)9, &P, X, 4, F(0), F(1), F(2), F(3)) == PATTN_EINVAL);
    memset(&bo, 0, sizeof bo);
    bo.f = F(0); bo.h = F(1); bo.gp = F(2); bo.gv = F(3); bo.gW = F(4);
    NOWRITE("pattn_model_batch", pattn_model_batch(PATTN_PA, &P, PATTN_LOSS_SQUARED, X, y, 0, 4, &bo, NULL, 0) == PATTN_EINVAL);
    NOWRITE("pattn_model_work_size", pattn_model_work_size(PATTN_PA, 0, 4) == 0);
    m.zeta = 0.01;
    NOWRITE("pattn_cmm_sample", pattn_cmm_sample(&m, NULL, 1, 0, 4, F(0), F(1), U8(2)) == PATTN_EINVAL);
    NOWRITE("pattn_cmm_vectors", pattn_cmm_vectors(&m, NULL, F(0), F(1)) == PATTN_EINVAL);
    m.zeta = 0.5;
    NOWRITE("pattn_pa_features", pattn_pa_features(X, 4, 4, 4, NULL, NULL, F(0)) == PATTN_EINVAL);
    NOWRITE("pattn_pa_relevant_mass", pattn_pa_relevant_mass(X, NULL, 4, 4, 4, p, NULL, D(0)) == PATTN_EINVAL);
    NOWRITE("pattn_ridge_fit", pattn_ridge_fit(X, y, 4, 4, -1.0, D(0)) == PATTN_EINVAL);
    {
        pattn_train_opts o;
        pattn_history *h = (pattn_history *)(void *)pool[5];
        float p0[4], v0[4];
        memcpy(p0, p, sizeof p); memcpy(v0, v, sizeof v);
        memset(&o, 0, sizeof o);
        o.opt.lr = nan_;
        NOWRITE("pattn_train", pattn_train(&o, &P, X, y, 4, 4, h) == PATTN_EINVAL && !memcmp(p, p0, sizeof p) && !memcmp(v, v0, sizeof v));
    }
    {
        pattn_traj_opts o;
        pattn_traj_result *res = (pattn_traj_result *)(void *)pool[4];
        memset(&o, 0, sizeof o);
        o.lambda = -1.0;
        o.no_split = 1;
        NOWRITE("pattn_traj3", pattn_traj3(&o, X, y, 4, 4, 4, NULL, X, y, U8(5), 4, F(0), F(1), F(2), res) == PATTN_EINVAL);
    }
    /* paper 1 theory */
    {   /* a void function whose documented failure value is NaN in its outputs */
        double wr = 0.0, wi = 0.0;
        pattn_clear_error();
        pattn_cmm_attention_weights(4, 0, 1.0, &wr, &wi);
        PT_CHECKF(isnan(wr) && isnan(wi) && named("pattn_cmm_attention_weights"), "cmm_attention_weights at k = 0: NaN and a message (\"%s\")", pattn_last_error());
    }
    {
        pattn_feature_law *law = (pattn_feature_law *)(void *)pool[3];
        NOWRITE("pattn_feature_law_eval", pattn_feature_law_eval(&m, nan_, law) == PATTN_EINVAL);
        NOWRITE("pattn_feature_law_atoms", pattn_feature_law_atoms(law, D(0), D(1)) == 0);
    }
    NOWRITE("pattn_ridge_limits_eval", pattn_ridge_limits_eval(2, pi1, b1, 1.0, 1.0, 0.0, 0, -2.0, 0.1, (pattn_ridge_limits *)(void *)pool[0]) == PATTN_EINVAL);
    NOWRITE("pattn_ridge_err_lambda_inf", isnan(pattn_ridge_err_lambda_inf(2, pi1, b1, -1.0)));
    NOWRITE("pattn_bayes_error", isnan(pattn_bayes_error(0, pi1, b1)));
    NOWRITE("pattn_ls_pop_error", isnan(pattn_ls_pop_error(2, pi1, b1, nan_)));
    NOWRITE("pattn_best_linear_error", isnan(pattn_best_linear_error(2, NULL, b1, (int *)(void *)pool[0], D(1))));
    NOWRITE("pattn_attention_law_size", pattn_attention_law_size(&m, nan_) == 0);
    NOWRITE("pattn_attention_law", pattn_attention_law(&m, nan_, D(0), D(1), D(2), D(3), (int *)(void *)pool[4]) == PATTN_EINVAL);
    NOWRITE("pattn_ridge_fixed_point", pattn_ridge_fixed_point(2, pi1, b1, b1, 2.0, 0.1, (pattn_ridge_fp *)(void *)pool[0]) == PATTN_EINVAL);
    NOWRITE("pattn_head_risk_theory", pattn_head_risk_theory(&m, 1.0, 0.0, 0.1, (pattn_head_risk *)(void *)pool[0]) == PATTN_EINVAL);
    {   /* functions whose failure value is NaN (returned, or in every output) */
        double a = 0.0, c = 0.0, e = 0.0, f = 0.0;
        pattn_clear_error();
        PT_CHECKF(isnan(pattn_dot_f32(NULL, p, 4)) && named("pattn_dot_f32"), "dot_f32 with NULL x: NaN and a message (\"%s\")", pattn_last_error());
        pattn_clear_error();
        PT_CHECKF(isnan(pattn_binom_log_pmf(-1, 0, 0.5)) && named("pattn_binom_log_pmf"), "binom_log_pmf with n < 0: NaN and a message (\"%s\")", pattn_last_error());
        pattn_clear_error();
        pattn_ridge_resolvent(-1.0, 0.0, &a, &c, &e, &f);
        PT_CHECKF(isnan(a) && isnan(c) && isnan(e) && isnan(f) && named("pattn_ridge_resolvent"), "ridge_resolvent at kappa < 0 (\"%s\")", pattn_last_error());
        pattn_clear_error();
        pattn_ridge_nodist_risk(1.0, 2.0, -1.0, &a, &c);
        PT_CHECKF(isnan(a) && isnan(c) && named("pattn_ridge_nodist_risk"), "ridge_nodist_risk at ell < 0 (\"%s\")", pattn_last_error());
        pattn_clear_error();
        pattn_ridgeless_nodist_risk(-1.0, 2.0, &a, &c);
        PT_CHECKF(isnan(a) && isnan(c) && named("pattn_ridgeless_nodist_risk"), "ridgeless_nodist_risk at beta < 0 (\"%s\")", pattn_last_error());
        pattn_clear_error();
        PT_CHECKF(isnan(pattn_ridgeless_kappa_star(0.0, 1.0)) && named("pattn_ridgeless_kappa_star"), "kappa_star at beta = 0 (\"%s\")", pattn_last_error());
    }
    /* paper 2 */
    {
        double pi[1] = {1}, mu[2] = {0, 1}, cov[4] = {1, 0, 0, 1}, bad[4] = {1, 0, 0, -1}, W[4] = {0.1, 0, 0, 0.1};
        pattn_icl_mix mx;
        pattn_icl_gen *g = NULL;
        pattn_icl_model *md = NULL, *full = NULL;
        pattn_icl_train_opts o;
        memset(&mx, 0, sizeof mx);
        mx.d = 2; mx.K = 1; mx.pi = pi; mx.mu = mu; mx.cov_beta = bad;
        NOWRITE("pattn_icl_mix_check", pattn_icl_mix_check(&mx) == PATTN_ENUM);
        NOWRITE("pattn_icl_gen_create", pattn_icl_gen_create(&mx, (pattn_icl_gen **)(void *)pool[0]) == PATTN_ENUM);
        NOWRITE("pattn_icl_model_create", pattn_icl_model_create(&mx, PATTN_ICL_REDUCED, 0, (pattn_icl_model **)(void *)pool[0]) == PATTN_ENUM);
        NOWRITE("pattn_icl_theory", pattn_icl_theory(&mx, 5, (pattn_icl_risks *)(void *)pool[0]) == PATTN_ENUM);
        NOWRITE("pattn_icl_theory_iso", pattn_icl_theory_iso(2, 5, 1, pi, NULL, b1 + 1, 0.1, (pattn_icl_risks *)(void *)pool[0]) == PATTN_EINVAL);
        NOWRITE("pattn_icl_optimum", pattn_icl_optimum(&mx, 5, PATTN_ICL_PT, D(0), D(1)) == PATTN_ENUM);
        NOWRITE("pattn_icl_risk", pattn_icl_risk(&mx, 5, W, NULL, D(0), D(1)) == PATTN_ENUM);
        NOWRITE("pattn_icl_risk_pgd", pattn_icl_risk_pgd(&mx, 5, W, 0, D(0), D(1)) == PATTN_ENUM);
        mx.cov_beta = cov;
        PT_CHECK(pattn_icl_gen_create(&mx, &g) == PATTN_OK && pattn_icl_model_create(&mx, PATTN_ICL_REDUCED, 0, &md) == PATTN_OK &&
                     pattn_icl_model_create(&mx, PATTN_ICL_FULL, 1, &full) == PATTN_OK, "a valid mixture and models");
        if (g && md && full) {
            double *th0 = (double *)malloc((size_t)full->np * sizeof(double)), Ws[4] = {1, 1, 1, 1}, Wn[4] = {1, NAN, 0, 1};
            memcpy(th0, full->theta, (size_t)full->np * sizeof(double));
            NOWRITE("pattn_icl_model_init", pattn_icl_model_init(full, 0, 1) == PATTN_EINVAL && !memcmp(th0, full->theta, (size_t)full->np * sizeof(double)));
            NOWRITE("pattn_icl_full_from_reduced", pattn_icl_full_from_reduced(full, Wn, NULL) == PATTN_EINVAL && !memcmp(th0, full->theta, (size_t)full->np * sizeof(double)));
            NOWRITE("pattn_icl_full_from_pgd", pattn_icl_full_from_pgd(full, Ws) == PATTN_ENUM && !memcmp(th0, full->theta, (size_t)full->np * sizeof(double)));
            NOWRITE("pattn_icl_loss_grad", pattn_icl_loss_grad(md, 5, 0, X, y, X, y, NULL, NULL, D(0), D(1), D(2)) == PATTN_EINVAL);
            NOWRITE("pattn_icl_sample", pattn_icl_sample(g, 3, 5, 2, 1, F(0), F(1), F(2), F(3), (int *)(void *)pool[4], F(5)) == PATTN_EINVAL);
            memset(&o, 0, sizeof o);
            o.opt.lr = -1.0;
            NOWRITE("pattn_icl_trainer_create", pattn_icl_trainer_create(g, md, 5, &o, (pattn_icl_trainer **)(void *)pool[0]) == PATTN_EINVAL);
            NOWRITE("pattn_icl_train", pattn_icl_train(g, md, 5, &o, (pattn_history *)(void *)pool[0]) == PATTN_EINVAL);
            NOWRITE("pattn_icl_trainer_step", pattn_icl_trainer_step(NULL, D(0)) == PATTN_EINVAL);
            NOWRITE("pattn_icl_trainer_grad", pattn_icl_trainer_grad(NULL, D(0), D(1)) == PATTN_EINVAL);
            NOWRITE("pattn_icl_test_loss", pattn_icl_test_loss(g, md, 5, 1, 1, D(0), D(1), D(2)) == PATTN_EINVAL);
            free(th0);
        }
        pattn_icl_model_free(md);
        pattn_icl_model_free(full);
        pattn_icl_gen_free(g);
    }
}
