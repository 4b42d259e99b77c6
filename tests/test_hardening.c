/* Regression tests for the hardening findings: each input here once crashed, hung, wrote
   out of bounds or returned a silent NaN. Every check fails on the code before its fix. */
#include "prompt_attn.h"
#include "harness.h"
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int err_has(const char *a, const char *b)
{
    const char *e = pattn_last_error();
    return strstr(e, a) && (!b || strstr(e, b));
}

/* sizes whose byte counts do not fit are refused before anything is touched */
static void test_sizes(void)
{
    float X[16] = {0}, v[4] = {1, 1, 1, 1}, f = -7.0f, s[4] = {-7, -7, -7, -7};
    double A[4] = {1, 0, 0, 1};
    pattn_params P;
    pattn_cmm m;
    memset(&P, 0, sizeof P);
    P.d = 1;
    P.v = v;
    pattn_clear_error();
    PT_CHECKF(pattn_model_work_size(PATTN_SA, INT_MAX - 3, 1) == 0 && err_has("pattn_model_work_size", "size_t"),
              "work size of SA at T = INT_MAX - 3 is refused (it wrapped to a few bytes): \"%s\"", pattn_last_error());
    PT_CHECK(pattn_model_work_size(PATTN_SA, INT_MAX / 2, INT_MAX / 2) == 0, "SA work size at T = d = 2^30 (T^2 + T d floats) is refused");
    pattn_clear_error();
    PT_CHECKF(pattn_model_eval(PATTN_SA, &P, X, INT_MAX - 3, &f, NULL, NULL, NULL) == PATTN_EINVAL && f == -7.0f &&
                  err_has("pattn_model_eval", "size_t"),
              "model_eval SA at T = INT_MAX - 3: EINVAL, f untouched: \"%s\"", pattn_last_error());
    PT_CHECK(pattn_model_work_size(PATTN_PA, INT_MAX, 1) > 0, "PA's scratch (2T floats) at T = INT_MAX still fits");
    pattn_clear_error();
    PT_CHECKF(pattn_chol(A, 50000) == PATTN_EINVAL && err_has("pattn_chol", "INT_MAX"), "chol at n = 50000: \"%s\"", pattn_last_error());
    memset(&m, 0, sizeof m);
    m.d = 2; m.T = 1073741823; m.zeta = 0.5; m.sigma = 1.0; /* n*T*d*4 is about 2^64 */
    pattn_clear_error();
    PT_CHECKF(pattn_cmm_sample(&m, NULL, 1, 0, INT_MAX, X, v, NULL) == PATTN_EINVAL && X[0] == 0.0f && err_has("n*T*d", "size_t"),
              "cmm_sample with n*T*d*4 beyond size_t: \"%s\"", pattn_last_error());
    pattn_matvec_f32(X, INT_MAX, INT_MAX, v, s);
    PT_CHECK(s[0] == -7.0f && err_has("pattn_matvec_f32", "size_t"), "matvec with T*d*4 beyond size_t writes nothing");
}

/* SA's block partials hold d^2 floats each; a call keeps no more of them than it has blocks
   (and none without a W gradient), so one prediction at d = 256 needs no 32 d^2 floats */
static void test_sa_workspace(void)
{
    enum { D = 256, T = 8 };
    pattn_params P;
    pattn_batch_out out;
    float *X = (float *)calloc((size_t)T * D, sizeof(float)), *v = (float *)calloc(D, sizeof(float)), f = -1.0f;
    size_t full = pattn_model_work_size(PATTN_SA, T, D), small = 64 * 1024 * sizeof(float);
    void *work = malloc(small);
    memset(&P, 0, sizeof P);
    memset(&out, 0, sizeof out);
    P.d = D; P.v = v;
    v[0] = 1.0f; X[0] = 2.0f;
    out.f = &f;
    PT_CHECKF(full > 32u * D * D * sizeof(float) && small < full / 8, "the largest call's workspace %lu bytes holds 32 d^2 partials", (unsigned long)full);
    {
        float fe = 0.0f;
        pattn_status st = work ? pattn_model_batch(PATTN_SA, &P, PATTN_LOSS_SQUARED, X, NULL, 1, T, &out, work, small) : PATTN_ENOMEM;
        PT_CHECK(pattn_model_eval(PATTN_SA, &P, X, T, &fe, NULL, NULL, NULL) == PATTN_OK, "SA eval");
        PT_CHECKF(st == PATTN_OK && memcmp(&f, &fe, sizeof f) == 0, "one SA prediction runs in %lu bytes: status %d, f = %g, eval %g",
                  (unsigned long)small, (int)st, f, fe);
    }
    free(X); free(v); free(work);
}

/* Bayes error: the grid follows the atoms, so a magnitude of 1e9 costs what 1 costs. With
   atoms s + 1 and -s the boundary sits at s + 1/2 and the error is Phi(-1/2) at any s. */
static void test_bayes_large(void)
{
    static const double scales[3] = {30.0, 1e7, 1e9};
    double pi[2] = {0.5, 0.5}, b[2];
    int i;
    for (i = 0; i < 3; ++i) {
        double e;
        b[0] = scales[i] + 1.0;
        b[1] = -scales[i];
        e = pattn_bayes_error(2, pi, b);
        PT_CHECKF(fabs(e - pattn_norm_cdf(-0.5)) < 1e-9, "Bayes error at s = %g: %.12f, want Phi(-1/2) = %.12f", scales[i], e, pattn_norm_cdf(-0.5));
    }
    {   /* interleaved classes s+1, s+3 against s, s+2: three boundaries within 3 units. At
           s = 30 the mirrored side is e^-1800 away, so every s >= 30 has the same error; the
           old grid, sized by s, overflowed int at 1e9 and fell back to cells of 5e5 */
        double p4[4] = {0.25, 0.25, 0.25, 0.25}, b4[4], e30, e;
        b4[0] = 31.0; b4[1] = -30.0; b4[2] = 33.0; b4[3] = -32.0;
        e30 = pattn_bayes_error(4, p4, b4);
        for (i = 1; i < 3; ++i) {
            b4[0] = scales[i] + 1.0; b4[1] = -scales[i]; b4[2] = scales[i] + 3.0; b4[3] = -(scales[i] + 2.0);
            e = pattn_bayes_error(4, p4, b4);
            PT_CHECKF(fabs(e - e30) < 1e-9 && e30 > 0.2, "Bayes error of interleaved classes at s = %g: %.12f, at s = 30: %.12f", scales[i], e, e30);
        }
    }
    {
        pattn_cmm m;
        pattn_head_risk R;
        double sig;
        int ok = 1;
        memset(&m, 0, sizeof m);
        m.T = 20; m.zeta = 0.1; m.rho = 2.0; m.eps = 0.5; m.d = 50;
        for (sig = 1e-5; sig >= 1e-12; sig /= 100.0) {
            m.sigma = sig;
            ok &= pattn_head_risk_theory(&m, 1.0, 2.0, 0.1, &R) == PATTN_OK && R.bayes >= 0.0 && R.bayes <= R.err_lin + 1e-12;
        }
        PT_CHECK(ok, "head risk at sigma 1e-5 .. 1e-11 (was 64 s, then a hang, then UB): Bayes error <= best linear");
        /* long sequences: the binomial law of the distractor count has about 8 sqrt(T) atoms
           that matter; T = 10^6 failed the weights-sum check and T = INT_MAX asked for 34 GB */
        m.sigma = 1.0; m.rho = 1.0; m.eps = 0.3;
        ok = 1;
        for (sig = 1e6; sig < 3e9; sig *= 2147.483647) {
            m.T = (int)sig;
            ok &= pattn_head_risk_theory(&m, 1.0, 2.0, 0.1, &R) == PATTN_OK && R.bayes >= 0.0 && R.bayes <= R.err_lin + 1e-12 &&
                  R.err <= 0.5;
        }
        PT_CHECKF(ok, "head risk at T = 10^6 and T = INT_MAX: %s", pattn_last_error());
    }
}

/* scores that overflow float, aliasing, and f that does not depend on what else is asked */
static void test_pa_edges(void)
{
    float X[4] = {1e30f, 1e30f, 1e30f, 1e30f}, p[4] = {1e30f, 1e30f, 1e30f, 1e30f}, v[4] = {1, 1, 1, 1};
    float h[4], g[4], f, f2, W[16] = {0};
    pattn_params P;
    double mass = -1.0;
    uint8_t mask[1] = {1};
    int i;
    f = pattn_pa_forward_backward_f32(X, 1, 4, p, v, h, g);
    PT_CHECKF(f == 4e30f && h[0] == 1e30f && g[0] == 0.0f, "T = 1 with a score of +inf: f = %g (the token's value), h = %g, grad %g", f, h[0], g[0]);
    for (i = 0; i < 4; ++i) p[i] = -1e30f;
    f = pattn_pa_forward_backward_f32(X, 1, 4, p, v, NULL, NULL);
    PT_CHECKF(f == 4e30f, "T = 1 with a score of -inf: f = %g", f);
    memset(&P, 0, sizeof P);
    P.d = 4; P.p = p; P.v = v;
    PT_CHECKF(pattn_model_eval(PATTN_PA, &P, X, 1, &f, NULL, NULL, NULL) == PATTN_OK && f == 4e30f, "model_eval PA at an overflowing score: f = %g", f);
    for (i = 0; i < 4; ++i) W[i * 5] = 1.0f;
    PT_CHECKF(pattn_pa_relevant_mass(X, mask, 1, 1, 4, p, W, &mass) == PATTN_OK && mass == 1.0, "relevant mass at an overflowing score: %g", mass);
    {   /* f with and without gradients, and with h == p, agree bit for bit */
        float Xr[5 * 3], pr[3] = {0.3f, -0.7f, 0.2f}, pc[3], vr[3] = {0.5f, 0.25f, -1.0f}, hh[3], gg[3], fa, fb, fc;
        for (i = 0; i < 15; ++i) Xr[i] = (float)sin(1.7 * i + 0.3);
        memcpy(pc, pr, sizeof pr);
        fa = pattn_pa_forward_backward_f32(Xr, 5, 3, pr, vr, NULL, NULL);
        fb = pattn_pa_forward_backward_f32(Xr, 5, 3, pr, vr, hh, gg);
        fc = pattn_pa_forward_backward_f32(Xr, 5, 3, pc, vr, pc, NULL);
        PT_CHECKF(memcmp(&fa, &fb, sizeof fa) == 0 && memcmp(&fa, &fc, sizeof fa) == 0 && memcmp(pc, hh, sizeof hh) == 0,
                  "f alone %.9g, with gradients %.9g, with h == p %.9g (h written after every read)", fa, fb, fc);
        pattn_clear_error();
        f2 = pattn_pa_forward_backward_f32(Xr, 5, 3, pr, vr, hh, hh);
        PT_CHECK(isnan(f2) && err_has("grad_p", "same array"), "h == grad_p is refused");
    }
}

/* accuracy that does not decay with length, at T = 2^22 */
static void test_long_rows(void)
{
    enum { N = 1 << 22, D = 4 };
    float *x = (float *)malloc((size_t)N * D * sizeof(float)), *y = (float *)malloc((size_t)N * sizeof(float));
    float p[D] = {0.3f, -0.2f, 0.1f, 0.05f}, v[D] = {1.0f, 0.5f, -0.5f, 0.25f}, h[D], g[D], fk;
    double sum = 0.0, Z = 0.0, F = 0.0, H[D] = {0}, G[D] = {0}, mx = -HUGE_VAL, f, worst = 0.0;
    pattn_rng r;
    long i;
    int j;
    if (!x || !y) { PT_CHECK(0, "memory for the long-row tests"); free(x); free(y); return; }
    pattn_rng_seed(&r, 11);
    for (i = 0; i < (long)N * D; ++i) x[i] = (float)pattn_rng_normal_f64(&r);
    pattn_softmax_f32(x, y, N);
    for (i = 0; i < N; ++i) sum += y[i];
    PT_CHECKF(fabs(sum - 1.0) < 1e-6, "softmax over 2^22 logits sums to 1 - %.3g (was off by 4e-4 at 4M)", 1.0 - sum);
    for (i = 0; i < N; ++i) {
        double s = 0.0;
        for (j = 0; j < D; ++j) s += (double)x[i * D + j] * p[j];
        if (s > mx) mx = s;
    }
    for (i = 0; i < N; ++i) {
        double s = 0.0, u = 0.0, e;
        for (j = 0; j < D; ++j) { s += (double)x[i * D + j] * p[j]; u += (double)x[i * D + j] * v[j]; }
        e = exp(s - mx);
        Z += e;
        F += e * u;
        for (j = 0; j < D; ++j) { H[j] += e * x[i * D + j]; G[j] += e * u * x[i * D + j]; }
    }
    f = F / Z;
    fk = pattn_pa_forward_backward_f32(x, N, D, p, v, h, g);
    worst = fabs(fk - f) / fabs(f);
    for (j = 0; j < D; ++j) {
        double hr = H[j] / Z, gr = (G[j] - f * H[j]) / Z;
        if (fabs(h[j] - hr) / fabs(hr) > worst) worst = fabs(h[j] - hr) / fabs(hr);
        if (fabs(g[j] - gr) / fabs(gr) > worst) worst = fabs(g[j] - gr) / fabs(gr);
    }
    PT_CHECKF(worst < 1e-5, "PA kernel at T = 2^22: worst relative error of f, h, grad_p %.3g (f was 5%% off at 2^24)", worst);
    {   /* the model path (two passes, blocked token sums) on the same sample */
        pattn_params P;
        float fm, hm[D];
        double wm;
        memset(&P, 0, sizeof P);
        P.d = D; P.p = p; P.v = v;
        PT_CHECK(pattn_model_eval(PATTN_PA, &P, x, N, &fm, hm, NULL, NULL) == PATTN_OK, "model_eval at T = 2^22");
        wm = fabs(fm - f) / fabs(f);
        for (j = 0; j < D; ++j)
            if (fabs(hm[j] - H[j] / Z) / fabs(H[j] / Z) > wm) wm = fabs(hm[j] - H[j] / Z) / fabs(H[j] / Z);
        PT_CHECKF(wm < 1e-5, "model_eval PA at T = 2^22: worst relative error of f, h %.3g (was 2.5e-5 and growing with T)", wm);
        pt_dump("hardening long model_eval", hm, sizeof hm);
        /* either side of the block length: the blocked and single-pass forms agree */
        for (j = 4095; j <= 4097; ++j) {
            float fa, fb;
            pattn_model_eval(PATTN_PA, &P, x, j, &fa, NULL, NULL, NULL);
            fb = pattn_pa_forward_backward_f32(x, j, D, p, v, NULL, NULL);
            PT_CHECKF(fabs(fa - fb) <= 1e-6 * fabs(fb), "model_eval and the PA kernel agree at T = %d: %.9g vs %.9g", j, fa, fb);
        }
    }
    pt_info("T = 2^22: softmax sum 1 - %.2g, PA worst relative error %.2g", 1.0 - sum, worst);
    {   /* found by the fuzzer: a relevant mass above 1 (float weights summing past 1); with
           every token relevant it is now exactly 1 */
        enum { TM = 1 << 16 };
        uint8_t *mask = (uint8_t *)malloc(TM);
        double mass = -1.0;
        if (mask) {
            memset(mask, 1, TM);
            PT_CHECKF(pattn_pa_relevant_mass(x, mask, 1, TM, D, p, NULL, &mass) == PATTN_OK && mass == 1.0,
                      "relevant mass with every one of 2^16 tokens relevant: 1 - %.3g", 1.0 - mass);
        }
        free(mask);
    }
    pt_dump("hardening long softmax head", y, 64 * sizeof(float));
    pt_dump("hardening long PA", h, sizeof h);
    free(x); free(y);
}

/* found by the fuzzer: a NaN beside finite logits of equal value went through the fast
   exponential (which does not propagate it) and gave [1, -2.9e-39, ...], with signs that
   differed between the paths; -inf must still get weight 0 */
static void test_softmax_nan(void)
{
    static const uint32_t nans[3] = {0x7fc00000u, 0xffc00000u, 0xffffffffu}; /* +NaN, -NaN, -NaN with payload */
    float x[32], y[32];
    int i, ok = 1, n, k;
    for (k = 0; k < 3; ++k)
    for (n = 8; n <= 32; n += 8) {
        for (i = 0; i < n; ++i) x[i] = -4.0f;
        memcpy(&x[0], &nans[k], sizeof x[0]);
        pattn_softmax_f32(x, y, n);
        for (i = 0; i < n; ++i) ok &= isnan(y[i]);
        pattn_softmax_rows_f32(x, y, 2, n / 2); /* the AVX-512 pair path takes two rows of 16 */
        for (i = 0; i < n / 2; ++i) ok &= isnan(y[i]);
    }
    PT_CHECK(ok, "softmax of a row holding a NaN is NaN everywhere, on every path");
    x[0] = -INFINITY;
    x[1] = 0.0f;
    pattn_softmax_f32(x, y, 2);
    PT_CHECK(y[0] == 0.0f && y[1] == 1.0f, "a -inf logit still gets weight 0");
}

/* theory at extreme but valid magnitudes: a correct finite value (the limits are exact
   there) or a clear error, never NaN */
static void test_theory_extremes(void)
{
    double th, om, ps, sd, pi[2] = {0.8, 0.2}, b[2] = {1.5, -0.5};
    pattn_ridge_limits L;
    pattn_ridge_resolvent(1.4e154, 0.0, &th, &om, &ps, &sd);
    PT_CHECKF(fabs(ps * (1.4e154 - 1.0) - 1.0) < 1e-12 && th == 1.0 && om == 0.0,
              "resolvent at kappa = 1.4e154, ell = 0: psi = 1/(kappa - 1) (was NaN): psi %g theta %g omega %g", ps, th, om);
    PT_CHECK(pattn_ridge_limits_eval(2, pi, b, 1.0, 1.0, 0.0, 0, 2.0, 1e200, &L) == PATTN_OK &&
                 fabs(L.err - pattn_ridge_err_lambda_inf(2, pi, b, 2.0)) < 1e-12 && fabs(L.mse - 1.0) < 1e-12,
             "lambda = 1e200: err is the lambda -> inf limit and mse is E[y^2] = 1 (err was 0, then NaN)");
    PT_CHECK(pattn_ridge_limits_eval(2, pi, b, 1.0, 1.0, 0.0, 0, 1e300, 1e300, &L) == PATTN_OK &&
                 fabs(L.err - pattn_ridge_err_lambda_inf(2, pi, b, 1e300)) < 1e-12 && fabs(L.mse - 1.0) < 1e-12,
             "kappa = lambda = 1e300 (kappa ell overflows): the lambda -> inf limit");
    PT_CHECKF(pattn_ridge_limits_eval(2, pi, b, 1.0, 1.0, 0.0, 0, 1e-300, 0.1, &L) == PATTN_OK && fabs(L.err - 0.5) < 1e-12 &&
                  fabs(L.mse - 1.0) < 1e-12,
              "kappa = 1e-300 (no data): a coin, mse 1 (was NaN): err %.17g mse %.17g", L.err, L.mse);
    PT_CHECKF(pattn_ridge_limits_eval(2, pi, b, 1.0, 1.0, 0.0, 0, 1e-170, 1e-170, &L) == PATTN_OK && fabs(L.err - 0.5) < 1e-12,
              "kappa = lambda = 1e-170: err %.17g", L.err);
    PT_CHECKF(pattn_ridge_limits_eval(2, pi, b, 1e-170, 1.0, 0.0, 0, 2.0, 1e-170, &L) == PATTN_OK && isfinite(L.err),
              "s = 1e-170 (lambda/s^2 = 1e170 is finite; s^2 underflowed before): err %g (%s)", L.err, pattn_last_error());
    {   /* the formula is continuous into the asymptotic regime: at ell = 1e8 the error sits
           within 1e-7 of the lambda -> inf limit, and at moderate ell it moves smoothly */
        double e8, e16;
        pattn_ridge_limits_eval(2, pi, b, 1.0, 1.0, 0.0, 0, 2.0, 1e8, &L);
        e8 = L.err;
        pattn_ridge_limits_eval(2, pi, b, 1.0, 1.0, 0.0, 0, 2.0, 1e16, &L);
        e16 = L.err;
        PT_CHECKF(fabs(e8 - pattn_ridge_err_lambda_inf(2, pi, b, 2.0)) < 1e-7 && fabs(e16 - pattn_ridge_err_lambda_inf(2, pi, b, 2.0)) < 1e-14,
                  "err at ell 1e8 and 1e16 approaches the limit: %.17g %.17g", e8, e16);
    }
}

/* the paper-2 closed forms are homogeneous of degree 2 in y: scaling mu by c and cov_beta,
   noise_var by c^2 scales every risk by c^2; at 1e-161 the order PT >= FT >= JT >= dec broke */
static void test_icl_scale(void)
{
    static const double scales[6] = {1e-150, 1e-120, 1e-80, 1e-3, 1e10, 1e24};
    double pi[2] = {0.3, 0.7}, mu0[4] = {1, 0.5, -0.2, 1}, cov0[8] = {1, 0.2, 0.2, 0.5, 0.3, 0, 0, 0.8}, nv0[2] = {0.1, 0.2};
    double mu[4], cov[8], nv[2];
    pattn_icl_risks R0, R;
    pattn_icl_mix m;
    int i, j, ok = 1;
    memset(&m, 0, sizeof m);
    m.d = 2; m.K = 2; m.pi = pi; m.mu = mu0; m.cov_beta = cov0; m.noise_var = nv0;
    PT_CHECK(pattn_icl_theory(&m, 10, &R0) == PATTN_OK, "icl theory at scale 1");
    m.mu = mu; m.cov_beta = cov; m.noise_var = nv;
    for (i = 0; i < 6; ++i) {
        double c = scales[i], c2 = c * c;
        for (j = 0; j < 4; ++j) mu[j] = mu0[j] * c;
        for (j = 0; j < 8; ++j) cov[j] = cov0[j] * c2;
        for (j = 0; j < 2; ++j) nv[j] = nv0[j] * c2;
        if (pattn_icl_theory(&m, 10, &R) != PATTN_OK) { ok = 0; continue; }
        ok &= fabs(R.pt / c2 - R0.pt) < 1e-12 * R0.pt && fabs(R.ft / c2 - R0.ft) < 1e-12 * R0.ft &&
              fabs(R.jt / c2 - R0.jt) < 1e-12 * R0.jt && fabs(R.dec / c2 - R0.dec) < 1e-12 * R0.dec &&
              fabs(R.lb / c2 - R0.lb) < 1e-12 * R0.lb && R.pt >= R.ft && R.ft >= R.jt && R.jt >= R.dec;
    }
    PT_CHECK(ok, "icl risks scale by c^2 from c = 1e-150 (covariances 1e-300) to 1e24, within 1e-12, keeping PT >= FT >= JT >= dec");
}

/* values the float samplers and evaluators cannot represent are refused, with a message */
static void test_float_range(void)
{
    pattn_cmm m;
    float X[2 * 4 * 2], y[2];
    memset(&m, 0, sizeof m);
    memset(X, 0, sizeof X);
    m.d = 2; m.T = 4; m.zeta = 0.5; m.sigma = 1e39;
    pattn_clear_error();
    PT_CHECKF(pattn_cmm_sample(&m, NULL, 1, 0, 2, X, y, NULL) == PATTN_EINVAL && X[0] == 0.0f && err_has("sigma", "float"),
              "sigma = 1e39 (inf in float tokens): \"%s\"", pattn_last_error());
    m.sigma = 1.0; m.q_norm = 1e39;
    PT_CHECK(pattn_cmm_sample(&m, NULL, 1, 0, 2, X, y, NULL) == PATTN_EINVAL && err_has("q_norm", NULL), "|q| = 1e39 refused");
    m.q_norm = 1.0; m.v_norm = DBL_MAX; m.T = 20; m.zeta = 0.1; m.d = 50;
    {
        pattn_head_risk R;
        pattn_clear_error();
        PT_CHECKF(pattn_head_risk_theory(&m, 1.0, 2.0, 0.1, &R) == PATTN_EINVAL && err_has("pattn_head_risk_theory", "signal-to-noise"),
                  "head risk at |v| = DBL_MAX: \"%s\"", pattn_last_error());
    }
    {
        double pi[1] = {1}, mu[2] = {0, 0}, cov[4] = {1, 0, 0, 1}, nv[1] = {1e78};
        pattn_icl_mix mx;
        pattn_icl_gen *g = NULL;
        pattn_icl_model *md = NULL;
        pattn_icl_risks R;
        double lk[1], l = -1.0, se = -1.0;
        memset(&mx, 0, sizeof mx);
        mx.d = 2; mx.K = 1; mx.pi = pi; mx.mu = mu; mx.cov_beta = cov; mx.noise_var = nv;
        PT_CHECK(pattn_icl_gen_create(&mx, &g) == PATTN_EINVAL && !g && err_has("pattn_icl_gen_create", "noise_var"), "noise variance 1e78 refused by the generator");
        PT_CHECK(pattn_icl_theory(&mx, 5, &R) == PATTN_EINVAL && err_has("pattn_icl_theory", "noise_var"), "and by the closed forms (beyond 1e50)");
        nv[0] = 1.0;
        cov[0] = cov[3] = 1e308;
        pattn_clear_error();
        PT_CHECKF(pattn_icl_theory(&mx, 5, &R) == PATTN_EINVAL && err_has("pattn_icl_theory", "cov_beta"),
                  "cov_beta = 1e308 I: the theory's own message, not pattn_chol's: \"%s\"", pattn_last_error());
        cov[0] = cov[3] = 1.0;
        PT_CHECK(pattn_icl_gen_create(&mx, &g) == PATTN_OK && pattn_icl_model_create(&mx, PATTN_ICL_REDUCED, 0, &md) == PATTN_OK, "a small mixture");
        if (md && g) {
            md->theta[0] = 1e39;
            PT_CHECK(pattn_icl_test_loss(g, md, 5, 16, 1, lk, &l, &se) == PATTN_EINVAL && l == -1.0 && err_has("theta", "float"),
                     "test loss with theta = 1e39 (inf in float) refused, nothing written");
        }
        pattn_icl_model_free(md);
        pattn_icl_gen_free(g);
    }
    {
        pattn_traj_opts o;
        pattn_traj_result res;
        float Xt[2 * 4 * 2], yt[2] = {1, -1}, v1[2] = {-7, -7};
        int i;
        memset(&o, 0, sizeof o);
        o.eta_v = 1e300; o.eta_p = 1.0; o.no_split = 1;
        for (i = 0; i < 16; ++i) Xt[i] = (float)(i % 3) - 1.0f;
        pattn_clear_error();
        PT_CHECKF(pattn_traj3(&o, Xt, yt, 2, 4, 2, NULL, Xt, yt, NULL, 2, v1, NULL, NULL, &res) == PATTN_EINVAL && v1[0] == -7.0f &&
                      err_has("pattn_traj3", "eta_v"),
                  "traj3 at eta_v = 1e300: its own message (was the batch kernel's): \"%s\"", pattn_last_error());
    }
}

void suite_hardening(void)
{
    test_theory_extremes();
    test_icl_scale();
    test_float_range();
    test_softmax_nan();
    test_sizes();
    test_sa_workspace();
    test_bayes_large();
    test_pa_edges();
    test_long_rows();
}
