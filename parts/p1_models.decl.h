/* ==== paper 1: contextual mixture model parameters (contract, api.md) ==================== */

/* Paper 1: contextual mixture model parameters (defaults: q = q_norm e1, v = v_norm e2). */
enum { PATTN_NOISE_ORTHO = 0, PATTN_NOISE_ISO = 1 };
typedef struct pattn_cmm {
    int d, T;
    double zeta;            /* fraction of relevant tokens, k = round(zeta*T) */
    double sigma;           /* token noise std */
    double q_norm, v_norm;  /* |q|, |v*| */
    double rho, eps;        /* distractor: -rho*y*v* with probability eps per irrelevant token */
    double dist_q;          /* distractor overlap a with the context (0 = none) */
    int noise;              /* PATTN_NOISE_ORTHO or PATTN_NOISE_ISO */
} pattn_cmm;
