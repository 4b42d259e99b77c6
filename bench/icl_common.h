/* The benchmarks' task mixture (W3/W5): d = 10, two tasks with weights
   0.3/0.7, means 1.4*1 and -0.6*1, covariances I and 2I, no noise. */
#ifndef PATTN_BENCH_ICL_H
#define PATTN_BENCH_ICL_H
enum { ICL_D = 10, ICL_K = 2 };
typedef struct { double pi[ICL_K], mu[ICL_K * ICL_D], cov[ICL_K * ICL_D * ICL_D]; pattn_icl_mix m; } icl_bench_mix;

static inline void icl_bench_mix_init(icl_bench_mix *b)
{
    int k, i;
    memset(b, 0, sizeof *b);
    b->pi[0] = 0.3; b->pi[1] = 0.7;
    for (i = 0; i < ICL_D; ++i) {
        b->mu[i] = 1.4;
        b->mu[ICL_D + i] = -0.6;
        for (k = 0; k < ICL_K; ++k) b->cov[(k * ICL_D + i) * ICL_D + i] = k == 0 ? 1.0 : 2.0;
    }
    b->m.d = ICL_D; b->m.K = ICL_K; b->m.pi = b->pi; b->m.mu = b->mu; b->m.cov_beta = b->cov;
}
#endif
