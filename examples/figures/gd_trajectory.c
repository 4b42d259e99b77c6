/* gd_trajectory: three steps of gradient descent from zero learn the prompt, and how many
   samples that takes (paper 1's initial-trajectory analysis, docs/models.md).

   Prompt-attention f = v'X' softmax(Xp), squared loss, W = I, p = v = 0, and three disjoint
   sets S1, S2, S3 of n samples each, as the paper writes the algorithm:
     1. v1 = -eta_v grad_v L_S1(0, 0) = eta_v (1/n) sum_i y_i xbar_i (attention is uniform at
        p = 0, and the gradient in p vanishes at v = 0: only the head can move first);
     2. p2 = -eta_p grad_p L_S2(0, v1): an average of per-sample directions g_i whose mean is
        proportional to E[y X'(I - 11'/T) X v*] = zeta T (1-zeta) |v*|^2 q, so the first
        prompt step points at the context q;
     3. v3 = -eta_v grad_v L_S3(p2, v1), a fresh step; or a ridge refit of the head on S3
        with p2 fixed (the library's stand-in for the paper's unrecovered debiasing step).
   With mean mu (along q) and orthogonal spread of total variance V per sample,
   cos(p2, q) ~ 1/sqrt(1 + n0/n), n0 = V/mu^2: the prompt aligns once n >> n0. mu and V come
   from a Monte Carlo pass with v1 at its mean eta_v zeta v*, and eta_p is calibrated so that
   the population prompt has margin Gamma = p.q = 3; it then puts attention k w_R(3) on the
   relevant tokens instead of zeta. The table and out/gd_trajectory.svg show cos(p2, q), the
   attention mass on the relevant tokens and the test accuracy against n, the samples per
   step (3n in all; mean +- SE over seeds), beside those predictions.
   Default run ~3 s; --full (or PATTN_FULL=1): more seeds, larger n. */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST0 ((uint64_t)1 << 40) /* test samples' global indices, disjoint from training */
#define SET ((uint64_t)1 << 36)   /* S1, S2, S3 start at 0, SET, 2 SET: nested across n */
#define NQ 5                      /* measured quantities per point */
#define CK(call) do { pattn_status st_ = (call); if (st_ != PATTN_OK) { \
    fprintf(stderr, "\ngd_trajectory: %s failed: %s\n", #call, pattn_status_str(st_)); exit(1); } } while (0)

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) { fprintf(stderr, "gd_trajectory: out of memory\n"); exit(1); }
    return p;
}

int main(int argc, char **argv)
{
    static const int NS[] = {10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
    int full = (argc > 1 && !strcmp(argv[1], "--full")) || (getenv("PATTN_FULL") && !strcmp(getenv("PATTN_FULL"), "1"));
    int nn = full ? 10 : 9, seeds = full ? 30 : 8, nte = 4000, M = full ? 200000 : 40000;
    int d = 32, T = 20, i, j, s, c, nmax = NS[nn - 1];
    const double Gt = 3.0, eta_v = 1.0;
    double mu = 0, V = 0, eta_p, nstar, wR, wI, bayes, (*res)[NQ][2];
    float *X = (float *)xmalloc((size_t)3 * nmax * T * d * sizeof(float)), *y = (float *)xmalloc((size_t)3 * nmax * sizeof(float));
    float *Xt = (float *)xmalloc((size_t)nte * T * d * sizeof(float)), *yt = (float *)xmalloc((size_t)nte * sizeof(float));
    float *v1 = (float *)calloc((size_t)d, sizeof(float)), *zero = (float *)calloc((size_t)d, sizeof(float));
    float *g = (float *)xmalloc((size_t)d * sizeof(float));
    uint8_t *mt = (uint8_t *)xmalloc((size_t)nte * T);
    pattn_cmm m;
    pattn_head_risk hr;
    FILE *csv, *gp;
    res = (double (*)[NQ][2])calloc((size_t)nn, sizeof *res);
    if (!v1 || !zero || !res) { fprintf(stderr, "gd_trajectory: out of memory\n"); return 1; }
    memset(&m, 0, sizeof m);
    m.d = d; m.T = T; m.zeta = 0.2; m.sigma = 1.0; m.q_norm = 2.0; m.v_norm = 1.5;
    m.noise = PATTN_NOISE_ORTHO;

    /* mean and orthogonal variance of the per-sample step-2 direction at v1 = eta_v zeta v*
       (q = |q| e1, v* = |v| e2): g_i = (y_i - f_i) df_i/dp at p = 0 */
    v1[1] = (float)(eta_v * m.zeta * m.v_norm);
    for (i = 0; i < M; i += nmax) {
        int nc = M - i < nmax ? M - i : nmax;
        pattn_params P;
        P.d = d; P.p = zero; P.v = v1; P.W = NULL;
        CK(pattn_cmm_sample(&m, NULL, 999, (uint64_t)i, nc, X, y, NULL));
        for (s = 0; s < nc; ++s) {
            float f;
            CK(pattn_model_eval(PATTN_PA, &P, X + (size_t)s * T * d, T, &f, NULL, g, NULL));
            mu += (y[s] - f) * (double)g[0] / M;
            for (j = 1; j < d; ++j) V += (double)(y[s] - f) * (y[s] - f) * g[j] * g[j] / M;
        }
    }
    eta_p = Gt / (mu * m.q_norm); /* p2.q = eta_p mu |q| = Gamma */
    nstar = V / (mu * mu);
    pattn_cmm_attention_weights(T, (int)lround(m.zeta * T), Gt, &wR, &wI);
    CK(pattn_head_risk_theory(&m, Gt, 1.0, 1.0, &hr));
    bayes = 1.0 - hr.bayes;

    /* the three-step algorithm at each n, several seeds, one test set per seed */
    for (s = 0; s < seeds; ++s) {
        CK(pattn_cmm_sample(&m, NULL, (uint64_t)s, TEST0, nte, Xt, yt, mt));
        for (c = 0; c < nn; ++c) {
            pattn_traj_opts o;
            pattn_traj_result r, rr;
            double q[NQ];
            size_t n = (size_t)NS[c];
            fprintf(stderr, "\rgd_trajectory: seed %2d/%d, n = %6d", s + 1, seeds, NS[c]);
            /* S1, S2, S3: the first n samples of three streams, so the sets grow nested */
            for (i = 0; i < 3; ++i)
                CK(pattn_cmm_sample(&m, NULL, (uint64_t)s, (uint64_t)i * SET, NS[c], X + i * n * T * d, y + i * n, NULL));
            memset(&o, 0, sizeof o);
            o.eta_v = eta_v;
            o.eta_p = eta_p;
            CK(pattn_traj3(&o, X, y, NS[c], T, d, NULL, Xt, yt, mt, nte, NULL, NULL, NULL, &r));
            o.step3 = PATTN_STEP3_REFIT;
            o.lambda = 1e-2;
            CK(pattn_traj3(&o, X, y, NS[c], T, d, NULL, Xt, yt, mt, nte, NULL, NULL, NULL, &rr));
            q[0] = r.cos_pq; q[1] = r.gamma * m.q_norm; q[2] = r.mass_r; q[3] = r.acc; q[4] = rr.acc;
            for (i = 0; i < NQ; ++i) {
                res[c][i][0] += q[i];
                res[c][i][1] += q[i] * q[i];
            }
        }
    }
    fprintf(stderr, "\r%50s\r", "");

    printf("Three GD steps from zero on three sets of n samples (d = %d, T = %d, zeta = %.2f, sigma = %.1f, |q| = %.1f, |v*| = %.1f;\n"
           "eta_v = %.1f, eta_p = %.2f for a population margin Gamma = %.0f; %d seeds, %d test samples)\n",
           d, T, m.zeta, m.sigma, m.q_norm, m.v_norm, eta_v, eta_p, Gt, seeds, nte);
    printf("prediction: cos(p2,q) ~ 1/sqrt(1 + n0/n), n0 = %.1f; mass on R -> k w_R = %.3f (uniform: %.2f);\n"
           "Bayes accuracy of the feature at Gamma = %.0f: %.2f%%\n\n", nstar, (double)lround(m.zeta * T) * wR, m.zeta, Gt, 100 * bayes);
    printf("%7s  %-16s %-9s %6s  %-16s %-16s %-16s\n", "n/step", "cos(p2,q)", "predicted", "Gamma", "mass on R", "acc (GD step 3)", "acc (ridge refit)");
    csv = fopen("out/gd_trajectory.csv", "w");
    if (!csv) { fprintf(stderr, "gd_trajectory: cannot write out/ (run from the repository root)\n"); return 1; }
    fprintf(csv, "n,cos,cos_se,cos_pred,gamma,gamma_se,mass,mass_se,acc,acc_se,acc_refit,acc_refit_se,mass_limit,zeta,bayes\n");
    for (c = 0; c < nn; ++c) {
        double mean[NQ], se[NQ], pred = 1.0 / sqrt(1.0 + nstar / NS[c]);
        for (i = 0; i < NQ; ++i) {
            mean[i] = res[c][i][0] / seeds;
            se[i] = sqrt(fmax(res[c][i][1] / seeds - mean[i] * mean[i], 0.0) / (seeds - 1));
        }
        printf("%7d  %.4f +- %.4f  %.4f   %6.2f  %.3f +- %.3f    %5.1f%% +- %4.1f   %5.1f%% +- %4.1f\n", NS[c],
               mean[0], se[0], pred, mean[1], mean[2], se[2], 100 * mean[3], 100 * se[3], 100 * mean[4], 100 * se[4]);
        fprintf(csv, "%d,%.6f,%.6f,%.6f,%.4f,%.4f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.3f,%.6f\n", NS[c], mean[0], se[0], pred,
                mean[1], se[1], mean[2], se[2], mean[3], se[3], mean[4], se[4], lround(m.zeta * T) * wR, m.zeta, bayes);
    }
    fclose(csv);

    gp = fopen("out/gd_trajectory.gp", "w");
    if (!gp) { fprintf(stderr, "gd_trajectory: cannot write out/gd_trajectory.gp\n"); return 1; }
    fprintf(gp, "# cd out && gnuplot gd_trajectory.gp  ->  gd_trajectory.svg (written by examples/gd_trajectory.c)\n"
                "set terminal svg size 1200,400 enhanced font 'sans,12' background rgb 'white'\n"
                "set output 'gd_trajectory.svg'\n"
                "set encoding utf8\n"
                "set datafile separator ','\n"
                "set multiplot layout 1,3 title 'Three GD steps from zero (mean ± SE over %d seeds)'\n"
                "set logscale x\n"
                "set xlabel 'samples per step n (3n in all)'\n"
                "set grid\n"
                "set key bottom right\n"
                "set title 'alignment of the learned prompt'\n"
                "set ylabel 'cos(p_2, q)'\n"
                "set yrange [0:1.05]\n"
                "plot 'gd_trajectory.csv' every ::1 u 1:4 w l lw 2 lc 1 t '1/√(1 + n_0/n), n_0 = %.0f', \\\n"
                "     '' every ::1 u 1:2:3 w yerrorbars pt 7 ps 0.6 lc 1 t 'simulation'\n"
                "set title 'attention on the relevant tokens'\n"
                "set key center right\n"
                "set ylabel 'attention mass on R'\n"
                "set yrange [0:1]\n"
                "plot 'gd_trajectory.csv' every ::1 u 1:13 w l lw 2 dt 2 lc 2 t 'k w_R at Γ = %.0f', \\\n"
                "     '' every ::1 u 1:14 w l lw 2 dt 3 lc rgb 'gray' t 'uniform (ζ)', \\\n"
                "     '' every ::1 u 1:7:8 w yerrorbars pt 7 ps 0.6 lc 2 t 'simulation'\n"
                "set title 'test accuracy'\n"
                "set key bottom right\n"
                "set ylabel 'test accuracy (%%)'\n"
                "set yrange [45:101]\n"
                "plot 'gd_trajectory.csv' every ::1 u 1:(100*$15) w l lw 2 dt 2 lc 7 t 'Bayes at Γ = %.0f', \\\n"
                "     '' every ::1 u 1:(100*$9):(100*$10) w yerrorbars pt 7 ps 0.6 lc 3 t 'GD step 3', \\\n"
                "     '' every ::1 u 1:(100*$11):(100*$12) w yerrorbars pt 5 ps 0.6 lc 4 t 'ridge refit'\n"
                "unset multiplot\n", seeds, nstar, Gt, Gt);
    fclose(gp);
    printf("\nwrote out/gd_trajectory.csv, out/gd_trajectory.gp\n");
    free(X); free(y); free(Xt); free(yt); free(v1); free(zero); free(g); free(mt); free(res);
    return 0;
}
