/* head_risk: the exact risk of the ridge head on prompt-attention features, against
   token-level simulation (generate -> attend -> ridge fit -> fresh test set).
   1. Benefit of context: the prompt p = Gamma q/|q|^2 lifts the attention on the k = zeta T
      relevant tokens from zeta to ~1, which turns the feature SNR from zeta^2 T|v|^2/sigma^2
      (uniform attention) into zeta T|v|^2/sigma^2: a factor 1/zeta.
   2. Double descent: without ridge the error climbs to 1/2 (and the MSE to infinity) at the
      interpolation threshold kappa = n/d = 1; a little lambda removes the peak.
   3. The intercept-free head picks up a random offset c w'q whose variance is O(1/d): it is
      negligible unless c|q| >> s and lambda is not small, but then it dominates, and Err_d
      (finite-d corrected) is what a simulation at finite d sees, not the d = inf Err.
   Default: d = 200, about 7 s of CPU. --full (or PATTN_FULL=1): d = 400, 17 kappa points, more
   repetitions, about 75 s of CPU. Run from the repository root; writes out/head_risk*. */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST0 ((uint64_t)1 << 40) /* test samples' global indices, disjoint from training */
#define CHUNK 1024
#define CK(call) do { pattn_status st_ = (call); if (st_ != PATTN_OK) { \
    fprintf(stderr, "\nhead_risk: %s failed: %s\n", #call, pattn_status_str(st_)); exit(1); } } while (0)

typedef struct point {
    double gamma, kappa, lambda;
    int n;
    pattn_head_risk th;               /* theory at kappa = n/d and the simulation's d */
    double err, err_se, mse, mse_se;  /* simulation: mean and standard error over repetitions */
} point;

static double worst_se, worst_pp; /* largest |sim - Err_d| seen, away from the peak */
static int n_ok, n_all;

/* One data set per repetition serves the whole sweep: training set of size kappa d = its first
   kappa d samples. Points are then correlated across kappa, but each one's mean +- SE over
   independent repetitions is honest, and the sweep costs one generation per repetition. */
static void sweep(const pattn_cmm *m, const double *G, int nG, const double *K, int nK,
                  const double *L, int nL, int R, int ntest, uint64_t seed, const char *tag,
                  point *out)
{
    int d = m->d, T = m->T, nmax = 0, ntot, g, k, l, r, i;
    int npt = nG * nK * nL;
    float *q = (float *)malloc((size_t)d * (1 + nG) * sizeof(float)), *y, *X, *H; /* q, prompts */
    double *w = (double *)malloc((size_t)d * sizeof(double));
    float *wf = (float *)malloc((size_t)d * sizeof(float)), *f = (float *)malloc((size_t)ntest * sizeof(float));
    double *acc = (double *)calloc(4 * (size_t)npt, sizeof(double));
    for (k = 0; k < nK; ++k)
        if ((int)lround(K[k] * d) > nmax) nmax = (int)lround(K[k] * d);
    ntot = nmax + ntest;
    y = (float *)malloc((size_t)ntot * sizeof(float));
    X = (float *)malloc((size_t)CHUNK * T * d * sizeof(float));
    H = (float *)malloc((size_t)nG * ntot * d * sizeof(float));
    if (!q || !w || !wf || !f || !acc || !y || !X || !H) { fprintf(stderr, "head_risk: out of memory\n"); exit(1); }
    CK(pattn_cmm_vectors(m, NULL, q, NULL));
    for (g = 0; g < nG; ++g) /* prompts p = Gamma q/|q|^2 */
        for (i = 0; i < d; ++i) q[(g + 1) * d + i] = (float)(G[g] * q[i] / (m->q_norm * m->q_norm));

    for (r = 0; r < R; ++r) {
        fprintf(stderr, "\rhead_risk: %-28s repetition %3d/%d", tag, r + 1, R);
        for (i = 0; i < ntot;) { /* chunked so X never holds more than CHUNK samples */
            int end = i < nmax ? nmax : ntot, nc = end - i < CHUNK ? end - i : CHUNK;
            uint64_t first = i < nmax ? (uint64_t)i : TEST0 + (uint64_t)(i - nmax);
            CK(pattn_cmm_sample(m, NULL, seed + (uint64_t)r, first, nc, X, y + i, NULL));
            for (g = 0; g < nG; ++g)
                CK(pattn_pa_features(X, nc, T, d, q + (g + 1) * d, NULL, H + ((size_t)g * ntot + i) * d));
            i += nc;
        }
        for (g = 0; g < nG; ++g)
            for (k = 0; k < nK; ++k)
                for (l = 0; l < nL; ++l) {
                    const float *Hg = H + (size_t)g * ntot * d, *Ht = Hg + (size_t)nmax * d;
                    double *a = acc + 4 * (size_t)((g * nK + k) * nL + l), err = 0, mse = 0;
                    CK(pattn_ridge_fit(Hg, y, (int)lround(K[k] * d), d, L[l], w));
                    for (i = 0; i < d; ++i) wf[i] = (float)w[i];
                    pattn_matvec_f32(Ht, ntest, d, wf, f); /* test predictions f = H w */
                    for (i = 0; i < ntest; ++i) {
                        double yi = y[nmax + i], fi = f[i];
                        err += yi * fi <= 0;
                        mse += (yi - fi) * (yi - fi);
                    }
                    err /= ntest; mse /= ntest;
                    a[0] += err; a[1] += err * err; a[2] += mse; a[3] += mse * mse;
                }
    }
    for (g = 0; g < nG; ++g)
        for (k = 0; k < nK; ++k)
            for (l = 0; l < nL; ++l) {
                int idx = (g * nK + k) * nL + l;
                point *P = out + idx;
                const double *a = acc + 4 * (size_t)idx;
                P->gamma = G[g]; P->lambda = L[l];
                P->n = (int)lround(K[k] * d);
                P->kappa = (double)P->n / d;
                CK(pattn_head_risk_theory(m, G[g], P->kappa, L[l], &P->th));
                P->err = a[0] / R; P->mse = a[2] / R;
                P->err_se = sqrt(fmax(a[1] / R - P->err * P->err, 0) / (R - 1));
                P->mse_se = sqrt(fmax(a[3] / R - P->mse * P->mse, 0) / (R - 1));
            }
    free(q); free(w); free(wf); free(f); free(acc); free(y); free(X); free(H);
}

/* one table row; the printed criterion: |sim - Err_d| <= max(3 SE, 1 pp) */
static void row(const point *P)
{
    double dev = fabs(P->err - P->th.err_d);
    int ok = dev <= fmax(3 * P->err_se, 0.01), peak = isinf(P->th.mse);
    if (!peak) {
        n_all++; n_ok += ok;
        if (dev > worst_pp) worst_pp = dev;
        if (dev / P->err_se > worst_se) worst_se = dev / P->err_se;
    }
    printf("  %5.2f %5d %9g | %7.4f %7.4f  %7.4f +- %.4f %5.1f %-4s| %8.4g  %8.4g +- %.2g\n",
           P->kappa, P->n, P->lambda, P->th.err, P->th.err_d, P->err, P->err_se, dev / P->err_se,
           peak ? "peak" : ok ? "ok" : "FAIL", P->th.mse + P->th.var_t, P->mse, P->mse_se);
}

#define HEADER "  kappa     n    lambda |  Err     Err_d    simulated        dev/SE    |" \
               "   MSE_d     simulated\n"

static void law_line(const pattn_cmm *m, double gamma, const pattn_head_risk *th)
{
    pattn_feature_law law;
    CK(pattn_feature_law_eval(m, gamma, &law));
    printf(" Gamma = %g: c = %.4f, s = %.4f, SNR beta = %.3f;  Bayes %.4f, population LS %.4f, "
           "best linear %.4f\n", gamma, law.c, law.s, law.beta, th->bayes, th->err_pop, th->err_lin);
}

static void write_csv(const char *path, const point *P, int n)
{
    FILE *f = fopen(path, "w");
    int i;
    if (!f) { fprintf(stderr, "head_risk: cannot write %s\n", path); exit(1); }
    fprintf(f, "gamma,kappa,n,lambda,err_d,err,err_sim,err_se,mse_d,mse_sim,mse_se,bayes,err_pop,err_lin\n");
    for (i = 0; i < n; ++i, ++P)
        fprintf(f, "%g,%.6g,%d,%g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n", P->gamma,
                P->kappa, P->n, P->lambda, P->th.err_d, P->th.err, P->err, P->err_se,
                P->th.mse + P->th.var_t, P->mse, P->mse_se, P->th.bayes, P->th.err_pop, P->th.err_lin);
    fclose(f);
}

int main(int argc, char **argv)
{
    static const double G[3] = {0, 1, 3}, LG[1] = {0.1}, LD[4] = {0, 1e-3, 0.1, 1}, K3[1] = {0.5};
    static const double Kq[] = {0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.5, 2, 4, 8};
    static const double Kf[] = {0.25, 0.35, 0.5, 0.6, 0.75, 0.9, 0.95, 1, 1.05, 1.1, 1.25, 1.5,
                                2, 3, 4, 6, 8};
    static point PG[3 * sizeof Kf / sizeof *Kf], PD[4 * sizeof Kf / sizeof *Kf], PF[3];
    const char *env = getenv("PATTN_FULL");
    int full = (argc > 1 && !strcmp(argv[1], "--full")) || (env && !strcmp(env, "1"));
    const double *K = full ? Kf : Kq;
    int nK = full ? (int)(sizeof Kf / sizeof *Kf) : (int)(sizeof Kq / sizeof *Kq);
    int R = full ? 40 : 30, R3 = full ? 1000 : 200, i, g, l, k1 = 0;
    pattn_cmm m1, m2, m3;
    FILE *f;

    /* docs/theory.md's settings: benefit of context at zeta = 0.1, double descent at zeta = 0.5 */
    memset(&m1, 0, sizeof m1);
    m1.d = full ? 400 : 200; m1.T = 20; m1.zeta = 0.1; m1.sigma = 0.6; m1.q_norm = m1.v_norm = 1;
    m2 = m1; m2.zeta = 0.5; m2.sigma = 1.95;
    m3 = m1; m3.sigma = 0.25; m3.q_norm = 3; /* c|q| >> s */
    /* theory on a fine log grid; kappa = 10^(-1 + i/100) hits kappa = 1 exactly at i = 100 */
    if (!(f = fopen("out/head_risk_theory.csv", "w"))) {
        fprintf(stderr, "head_risk: cannot write out/ (run from the repository root after mkdir -p out)\n");
        return 1;
    }
    fprintf(f, "kappa,err_d_G0,err_d_G1,err_d_G3,err_d_l0,err_d_l1e-3,err_d_l0.1,err_d_l1,"
               "mse_d_l0,mse_d_l1e-3,mse_d_l0.1,mse_d_l1\n");
    for (i = 0; i <= 200; ++i) {
        double kap = pow(10, -1 + i / 100.0);
        pattn_head_risk th;
        fprintf(f, "%.6g", kap);
        for (g = 0; g < 3; ++g) {
            CK(pattn_head_risk_theory(&m1, G[g], kap, LG[0], &th));
            fprintf(f, ",%.6g", th.err_d);
        }
        for (l = 0; l < 8; ++l) { /* Err_d, then MSE_d = MSE + V_t, for each lambda */
            CK(pattn_head_risk_theory(&m2, 1, kap, LD[l % 4], &th));
            fprintf(f, ",%.6g", l < 4 ? th.err_d : th.mse + th.var_t);
        }
        fprintf(f, "\n");
    }
    fclose(f);
    sweep(&m1, G, 3, K, nK, LG, 1, R, 4000, 1 << 20, "benefit of context", PG);
    sweep(&m2, G + 1, 1, K, nK, LD, 4, R, 4000, 2 << 20, "double descent", PD);
    /* Err does not depend on d, the offset's variance does. Per repetition the error is nearly
       0 or large depending on the drawn offset, so this needs many repetitions, few tests. */
    for (i = 0; i < 3; ++i) {
        m3.d = 100 << i;
        sweep(&m3, G + 1, 1, K3, 1, LD + 3, 1, R3, 500, (uint64_t)(3 + i) << 20,
              "finite-d correction", PF + i);
    }
    fprintf(stderr, "\r%70s\r", "");

    printf("Ridge head on prompt-attention features: theory vs simulation (d = %d, T = 20, "
           "%d repetitions, 4000 test samples)\nErr = d->inf limit, Err_d = finite-d corrected; "
           "dev/SE = |simulated - Err_d| / SE; ok = within max(3 SE, 1 pp)\n", m1.d, R);
    printf("\n1. Benefit of context: zeta = 0.1, sigma = 0.6, |q| = |v| = 1, lambda = 0.1; SNR from "
           "zeta^2 T|v|^2/sigma^2 = %.3f\n   (uniform attention) towards zeta T|v|^2/sigma^2 = %.3f "
           "(all attention on the relevant tokens)\n", m1.zeta * m1.zeta * m1.T / (m1.sigma * m1.sigma),
           m1.zeta * m1.T / (m1.sigma * m1.sigma));
    for (g = 0; g < 3; ++g) {
        law_line(&m1, G[g], &PG[g * nK].th);
        printf(HEADER);
        for (i = 0; i < nK; ++i) row(&PG[g * nK + i]);
    }
    printf("\n2. Double descent: zeta = 0.5, sigma = 1.95, Gamma = 1 (peak at kappa = 1: theory "
           "Err 1/2, MSE inf at lambda = 0)\n");
    law_line(&m2, 1, &PD[0].th);
    for (l = 0; l < 4; ++l) {
        printf(HEADER);
        for (i = 0; i < nK; ++i) row(&PD[i * 4 + l]);
    }
    /* at finite d the square design's smallest singular value is O(1/d), not 0, so the head keeps
       a little signal; and the inverse of a square Gaussian matrix has no finite mean */
    printf(" At the peak a finite-d head still beats a coin a little, and the simulated MSE is a "
           "mean without a finite expectation.\n");
    printf("\n3. Finite-d correction: zeta = 0.1, sigma = 0.25, |q| = 3 (c|q|/s = %.1f), "
           "Gamma = 1, lambda = 1,\n   %d repetitions, 500 test samples\n", PF[0].th.c * 3 / PF[0].th.s, R3);
    printf("         " HEADER);
    for (i = 0; i < 3; ++i) {
        printf(" d = %3d:", 100 << i);
        row(&PF[i]);
    }
    printf("\nmax |simulated - Err_d| = %.1f SE, %.2f pp; within max(3 SE, 1 pp): %d of %d "
           "points (the lambda = 0, kappa = 1 peak excluded)\n", worst_se, 100 * worst_pp, n_ok, n_all);

    write_csv("out/head_risk_gamma.csv", PG, 3 * nK);
    write_csv("out/head_risk_dd.csv", PD, 4 * nK);

    while (K[k1] != 1) ++k1; /* the peak point, for the label */
    if (!(f = fopen("out/head_risk.gp", "w"))) return 1;
    fprintf(f, "# cd out && gnuplot head_risk.gp  ->  head_risk.svg (written by examples/head_risk.c)\n"
               "set terminal svg size 1000,450 enhanced font 'sans,12' background rgb 'white'\nset output 'head_risk.svg'\n"
               "set encoding utf8\nset datafile separator ','\nset multiplot layout 1,2\n"
               "set logscale xy\nset xrange [0.2:10]\nset xtics (0.25, 0.5, 1, 2, 4, 8)\n"
               "set xlabel 'κ = n/d'\nset grid\nset key font ',10' spacing 1.1\n"
               "SIM = 'w yerrorbars pt 7 ps 0.6'\n");
    fprintf(f, "set title 'Benefit of context (ζ = 0.1, σ = 0.6, λ = 0.1, d = %d)'\n"
               "set ylabel 'test error (%%)'\nset yrange [0.2:60]\nset ytics (0.5, 1, 2, 5, 10, 20, 50)\n"
               "set key bottom left maxrows 3 width -2\nplot \\\n", m1.d);
    for (g = 0; g < 3; ++g)
        fprintf(f, "  'head_risk_theory.csv' u 1:(100*$%d) w l lw 2 lc %d t 'Γ = %g', \\\n"
                   "  'head_risk_gamma.csv' u 2:($1==%g?100*$7:1/0):(100*$8) @SIM lc %d notitle, \\\n"
                   "  %g w l dt 2 lc %d notitle, \\\n",
                g + 2, g + 1, G[g], G[g], g + 1, 100 * PG[g * nK].th.bayes, g + 1);
    fprintf(f, "  NaN w l lw 2 lc black t 'theory Err_d', \\\n"
               "  'head_risk_gamma.csv' u 2:(NaN):(0) @SIM lc black t 'simulation ± SE', \\\n"
               "  NaN w l dt 2 lc black t 'Bayes error'\n");
    fprintf(f, "set title 'Double descent (ζ = 0.5, σ = 1.95, Γ = 1, d = %d)'\n"
               "set ylabel 'test MSE (clipped at 5)'\nset yrange [0.3:5]\nset ytics (0.3, 0.5, 1, 2, 5)\n"
               "set key top right maxrows 5 width 0\nset label \"λ = 0, κ = 1:\\ntheory MSE = ∞,\\nsimulated %.0f ± %.0f\" "
               "at 0.22,4 font ',10'\nplot \\\n", m2.d, PD[4 * k1].mse, PD[4 * k1].mse_se);
    for (l = 0; l < 4; ++l)
        fprintf(f, "  'head_risk_theory.csv' u 1:%d w l lw 2 lc %d t 'λ = %g', \\\n"
                   "  'head_risk_dd.csv' u 2:($4==%g?$10:1/0):11 @SIM lc %d notitle, \\\n",
                l + 9, l + 1, LD[l], LD[l], l + 1);
    fprintf(f, "  'head_risk_dd.csv' u 2:(NaN):(0) @SIM lc black t 'simulation ± SE'\n");
    fprintf(f, "unset multiplot\n");
    fclose(f);
    return 0;
}
