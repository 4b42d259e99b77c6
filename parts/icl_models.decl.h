/* ==== paper 2: task mixture (contract, api.md) ============================================ */

/* Paper 2: task mixture. Matrices row-major. NULL cov_x = identity, NULL noise_var = all 0,
   NULL mu = all 0; pi and cov_beta are required. cov_x SPD, cov_beta[k] symmetric PSD. */
typedef struct pattn_icl_mix {
    int d, K;
    const double *pi;        /* K */
    const double *mu;        /* K*d */
    const double *cov_beta;  /* K*d*d */
    const double *noise_var; /* K, sigma_k^2 */
    const double *cov_x;     /* d*d */
} pattn_icl_mix;
