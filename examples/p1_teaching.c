/* p1_teaching: paper 1 in one page. Sequences of T tokens where a few carry the context q
   and the label direction y v*. A prompt p and head v are trained from zero by softmax
   prompt-attention f(X) = v' X' softmax(X p). Then a ridge head is refitted on the attention
   features of the learned prompt's q-component, over fresh training sets, and its mean test
   error is compared with the exact proportional-limit formula.
       cc -O2 p1_teaching.c -I/usr/include/stb -lstb -lm      (add -fopenmp for threads) */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { D = 64, T = 16, N = 256, NTEST = 10000, REPS = 40 };

static void check(pattn_status st)
{
    if (st != PATTN_OK) {
        fprintf(stderr, "p1_teaching: %s\n", pattn_last_error());
        exit(1);
    }
}

int main(void)
{
    pattn_cmm m = {0}; /* ORTHO noise, no distractors, |q| = |v*| = 1 unless set */
    pattn_params P = {0};
    pattn_head_risk th;
    float *X = malloc(sizeof(float) * (size_t)NTEST * T * D), *y = malloc(sizeof(float) * NTEST);
    float *H = malloc(sizeof(float) * (size_t)NTEST * D), p[D] = {0}, v[D] = {0}, q[D], pq[D];
    unsigned char *mask = malloc((size_t)NTEST * T);
    double w[D], gamma = 0.0, mass0, mass, e1 = 0.0, e2 = 0.0;
    int r, i, j;
    if (!X || !y || !H || !mask) return 1;
    m.d = D; m.T = T; m.zeta = 0.25; m.sigma = 1.0; m.q_norm = 3.0;
    check(pattn_cmm_vectors(&m, NULL, q, NULL));

    /* 1. train p and v from zero with the default options (Adam, 300 steps) on N sequences */
    check(pattn_cmm_sample(&m, NULL, 7, 0, N, X, y, NULL));
    P.d = D; P.p = p; P.v = v;
    check(pattn_train(NULL, &P, X, y, N, T, NULL));
    for (j = 0; j < D; ++j) gamma += (double)p[j] * q[j]; /* relevant tokens score Gamma = p'q */

    /* 2. the test set, and where the prompt's q-component p_q = Gamma q/|q|^2 looks */
    check(pattn_cmm_sample(&m, NULL, 8, 0, NTEST, X, y, mask));
    for (j = 0; j < D; ++j) pq[j] = (float)(gamma * q[j] / (m.q_norm * m.q_norm));
    check(pattn_pa_relevant_mass(X, mask, NTEST, T, D, pq, NULL, &mass));
    mass0 = m.zeta; /* p = 0: uniform attention */
    printf("learned prompt: Gamma = p'q = %.3f; attention on the relevant tokens %.2f -> %.3f\n", gamma, mass0, mass);

    /* 3. ridge heads on REPS fresh training sets, each scored on the test set */
    for (r = 0; r < REPS; ++r) {
        static float Xr[(size_t)N * T * D], yr[N], Hr[(size_t)N * D];
        double err = 0.0;
        check(pattn_cmm_sample(&m, NULL, 100 + r, 0, N, Xr, yr, NULL));
        check(pattn_pa_features(Xr, N, T, D, pq, NULL, Hr));
        check(pattn_ridge_fit(Hr, yr, N, D, 0.1, w));
        if (r == 0) check(pattn_pa_features(X, NTEST, T, D, pq, NULL, H));
        for (i = 0; i < NTEST; ++i) {
            double f = 0.0;
            for (j = 0; j < D; ++j) f += w[j] * H[(size_t)i * D + j];
            err += (f * y[i] <= 0.0) / (double)NTEST;
        }
        e1 += err / REPS;
        e2 += err * err / REPS;
    }

    /* 4. the closed form at kappa = N/D, lambda = 0.1 */
    check(pattn_head_risk_theory(&m, gamma, (double)N / D, 0.1, &th));
    printf("ridge head, n = %d, d = %d, %d training sets: test error %.4f +- %.4f (SE)\n", N, D, REPS, e1,
           sqrt((e2 - e1 * e1) / (REPS - 1)));
    printf("theory: %.4f in the proportional limit, %.4f with the finite-d correction\n", th.err, th.err_d);
    printf("oracles: Bayes %.4f, best linear %.4f, population least squares %.4f\n", th.bayes, th.err_lin, th.err_pop);
    free(X); free(y); free(H); free(mask);
    return 0;
}
