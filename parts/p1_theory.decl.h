/* ==== paper 1 theory: normal law, attention weights, feature law (spec §4) ============== */

/* Phi(x) = P(N(0,1) <= x) = erfc(-x/sqrt 2)/2, accurate in both tails; phi is the density. */
PATTN_DEF double pattn_norm_cdf(double x);
PATTN_DEF double pattn_norm_pdf(double x);

/* log of the Binomial(n, p) probability of j, computed in log space (a sum of log ratios, log1p) so it
   neither overflows nor underflows for large n; -inf outside the support, NaN if invalid. */
PATTN_DEF double pattn_binom_log_pmf(int n, int j, double p);

/* Softmax weight of one relevant token (score gamma) and of one irrelevant token (score 0)
   among T tokens of which k are relevant: w_rel = e^gamma/Z, w_irr = 1/Z,
   Z = k e^gamma + T - k. Written so that neither weight overflows for any finite gamma.
   With k = T there is no irrelevant token: w_rel = 1/T, w_irr = 0.
   Both outputs are NaN if k < 1, k > T or gamma is not finite. */
PATTN_DEF void pattn_cmm_attention_weights(int T, int k, double gamma, double *w_rel,
                                           double *w_irr);

/* The feature law of spec §4: under the prompt p = gamma q/|q|^2 with ORTHO noise and no
   distractor overlap, the attention feature of a sample with J distractors is
   h = c q + y alpha_J v* + s g, g ~ N(0, I - qq'/|q|^2), J ~ Bin(T-k, eps). */
typedef struct pattn_feature_law {
    int T, k;             /* tokens; relevant tokens lround(zeta T) */
    int n_atoms;          /* upper bound on the atoms pattn_feature_law_atoms writes */
    double w_rel, w_irr;  /* softmax weight of a relevant / an irrelevant token */
    double c, s;          /* context coefficient k w_rel; noise scale sigma |w|_2 */
    double alpha0;        /* alpha at J = 0 (= c) */
    double mean_alpha;    /* E alpha_J = c - rho eps (T-k) w_irr */
    double beta;          /* SNR without distractors, alpha0^2 |v|^2 / s^2 */
    double rho, eps, v_norm; /* copied from the model: alpha_J = c - rho J w_irr */
} pattn_feature_law;

/* Validates m (as pattn_head_risk_theory does, apart from kappa and lambda) and fills *out.
   The law is that of ORTHO noise with dist_q = 0 whatever m->noise and m->dist_q say (it is
   also exact in ISO mode at gamma = 0 when dist_q = 0); pattn_attention_law gives the law of
   the other cases. PATTN_EINVAL (out untouched) on invalid input. */
PATTN_DEF pattn_status pattn_feature_law_eval(const pattn_cmm *m, double gamma,
                                              pattn_feature_law *out);

/* The atoms of the law of b_J = alpha_J |v|/s: pi[i] = pi_J and b[i] = b_J for every J of
   positive probability (a single atom when eps = 0, eps = 1 or rho = 0, where J is
   deterministic or does not matter). pi and b hold law->n_atoms doubles. Returns the number
   of atoms written, 0 on invalid input (nothing written). */
PATTN_DEF int pattn_feature_law_atoms(const pattn_feature_law *law, double *pi, double *b);

/* ==== paper 1 theory: ridge head risk in the proportional limit (spec §5, §6) ========== */

/* Resolvent quantities of the ridge head for kappa = n/d and ell = lambda/s^2, computed
   without cancellation: theta = (sqrt D - B)/(2 kappa), omega = (sqrt D + B)/(2 kappa),
   psi = kappa (1 - theta)/sqrt D, B = kappa ell + 1 - kappa, D = B^2 + 4 kappa^2 ell.
   At the interpolation peak (kappa = 1, ell = 0) sqrt D = 0 and psi = +inf. Any pointer may
   be NULL. All outputs NaN if kappa <= 0, ell < 0 or either is not finite. */
PATTN_DEF void pattn_ridge_resolvent(double kappa, double ell, double *theta, double *omega,
                                     double *psi, double *sqrt_delta);

/* Everything the ridge head converges to on a homoscedastic feature law (constant s). */
typedef struct pattn_ridge_limits {
    double theta, omega, psi, sqrt_delta; /* resolvent (pattn_ridge_resolvent) */
    double B1, B2;         /* sum pi_J b_J, sum pi_J b_J^2 */
    double m, tau2, S2;    /* normalised head: m = B1/(B2+1+omega), tau^2, S^2 = m^2+psi tau^2 */
    double wv, w_norm2;    /* limits of w'v* = |v| m/s and |w|^2 = S^2/s^2 */
    double err, mse;       /* sum pi_J Phi(-b_J m/S), (1+psi) tau^2 */
    double var_t;          /* finite-d variance of the offset c w'q (0 if d = 0 or c|q| = 0) */
    double err_d, mse_d;   /* err and mse with var_t added to S^2 and to the MSE */
} pattn_ridge_limits;

/* The limits of spec §5 for an arbitrary atomic law (pi, b) of b_J = alpha_J|v|/s, noise scale
   s, |v| = v_norm, context coordinate cq = c |q| (only for the finite-d correction), d
   (0 = no correction), kappa > 0, lambda >= 0 on the (1/n)-normalised loss. tau^2 is
   evaluated as [B2 + (1+omega)^2 + V (B2+1+2 omega)]/(B2+1+omega)^2 with V the variance of
   b, which equals the spec's 1 - 2 m B1 + m^2 (B2+1) without its cancellation. At
   kappa = 1, lambda = 0: psi = S2 = w_norm2 = mse = +inf, err = 1/2 (IEEE inf, not an error).
   PATTN_EINVAL (out untouched): n < 1, NULL arrays, pi not a probability vector (negative,
   or sum not 1 within 1e-9), non-finite b, s <= 0, v_norm <= 0, cq < 0, d < 0,
   kappa <= 0, lambda < 0, or any NaN/inf. */
PATTN_DEF pattn_status pattn_ridge_limits_eval(int n, const double *pi, const double *b,
                                               double s, double v_norm, double cq, int d,
                                               double kappa, double lambda,
                                               pattn_ridge_limits *out);

/* No distractors (one atom, SNR beta = b^2): the closed forms
   Err = Phi(-beta/sqrt(beta + psi (beta + (1+omega)^2))),
   MSE = (1+psi)((1+omega)^2 + beta)/(beta+1+omega)^2 at ell = lambda/s^2.
   err/mse may be NULL; both NaN if beta < 0, kappa <= 0, ell < 0 or not finite. */
PATTN_DEF void pattn_ridge_nodist_risk(double beta, double kappa, double ell, double *err,
                                       double *mse);

/* The lambda -> 0+ forms without distractors (spec §5 table): OLS for kappa > 1,
   minimum-norm interpolation for kappa < 1, err = 1/2 and mse = +inf at kappa = 1. */
PATTN_DEF void pattn_ridgeless_nodist_risk(double beta, double kappa, double *err,
                                           double *mse);

/* lambda -> infinity limit of the test error: sum pi_J Phi(-b_J B1/sqrt(B1^2 + 1/kappa))
   (the head becomes the mean-difference direction). NaN on invalid input. */
PATTN_DEF double pattn_ridge_err_lambda_inf(int n, const double *pi, const double *b,
                                            double kappa);

/* Sample complexity of the ridgeless head without distractors: the kappa > 1 at which
   Err = Phi(-x), kappa* = (x^2 + beta^2)/(beta (beta - x^2)); +inf when beta <= x^2 (the
   target is below what the OLS head ever reaches). NaN if beta <= 0, x < 0 or not finite. */
PATTN_DEF double pattn_ridgeless_kappa_star(double beta, double x);

/* ==== paper 1 theory: oracles (spec §5) ================================================ */
/* Each takes an atomic law: with probability pi[i] the normalised statistic is
   y b[i] + N(0,1). pi must be a probability vector (sum 1 within 1e-9); NaN on invalid input. */

/* Bayes error, exact: int_0^inf min(f(x), f(-x)) dx, f(x) = sum pi_i phi(x - b_i). With one
   sign of b it is sum pi_i Phi(-|b_i|); otherwise the sign changes of f(x) - f(-x) on
   (0, max|b| + 12] are located on a grid of step <= 0.005 and refined by bisection, and the
   integral is summed exactly as Phi-differences of the smaller density on each interval. */
PATTN_DEF double pattn_bayes_error(int n, const double *pi, const double *b);

/* Error of the population least-squares head: sum pi_i Phi(-sgn(direction) b_i), where
   direction is the sign of the head's v*-coefficient (B1 for a homoscedastic law, E[alpha]
   in general); sgn(0) = 0, so it is 1/2 when direction = 0. */
PATTN_DEF double pattn_ls_pop_error(int n, const double *pi, const double *b, double direction);

/* Best linear classifier with intercept t: min over u = +-1, t >= 0 of
   (1/2) sum pi_i [Phi(-u b_i - t) + Phi(-u b_i + t)]; a 2000-point grid of t in
   [0, max|b| + 8] for each u, then golden-section search around the best grid point.
   u_best/t_best (may be NULL) receive the minimiser. */
PATTN_DEF double pattn_best_linear_error(int n, const double *pi, const double *b,
                                         int *u_best, double *t_best);

/* ==== paper 1 theory: random per-sample (alpha, s) laws and the fixed point (spec §5) === */

/* Under ISO noise or distractor overlap dist_q = a > 0 every sample has its own signal
   alpha_i and noise scale s_i: h = c_i q + y alpha_i v* + s_i g. pattn_attention_law gives
   that law as weighted atoms (p, alpha, s, c). When the scores are deterministic (ORTHO
   noise, or gamma = 0) it is exact over J ~ Bin(T-k, eps): relevant tokens score gamma,
   distractors a gamma, the others 0. Otherwise (ISO, gamma != 0: per-token score noise of
   std gamma sigma/|q|) it is a fixed-seed sample of PATTN_LAW_DRAWS draws from
   pattn_rng_seed(&r, PATTN_LAW_SEED), each of weight 1/draws, with c_i = q'h_i/|q|^2 (which
   includes the score-correlated noise along q). */
#define PATTN_LAW_DRAWS 100000
#define PATTN_LAW_SEED 12345

/* Size of the arrays pattn_attention_law needs (T-k+1, or PATTN_LAW_DRAWS); 0 if m or gamma
   is invalid. */
PATTN_DEF int pattn_attention_law_size(const pattn_cmm *m, double gamma);

/* Fills p, alpha, s and (if non-NULL) c, each of pattn_attention_law_size(m, gamma)
   doubles, and *n_atoms with the number written (atoms of zero probability are dropped).
   PATTN_EINVAL on invalid input, PATTN_ENOMEM if scratch for a sampled law fails (outputs
   untouched in both cases). */
PATTN_DEF pattn_status pattn_attention_law(const pattn_cmm *m, double gamma, double *p,
                                           double *alpha, double *s, double *c, int *n_atoms);

/* The scalar fixed point of the ridge head on a heteroscedastic law. */
typedef struct pattn_ridge_fp {
    double eta;       /* root of kappa eta (lambda + E[s^2/(1+s^2 eta)]) = 1; +inf in the
                         lambda = 0, kappa <= 1 limit */
    double w2;        /* limit of w'v* divided by |v*| */
    double w3_norm2;  /* limit of the squared norm of w outside v* and q */
    double nu2;       /* limit of |w|^2 = w2^2 + w3_norm2 */
    double err, mse;  /* E[Phi(-a w2/(s nu))], E[(1 - a w2)^2] + E[s^2] nu^2 */
} pattn_ridge_fp;

/* Solves the fixed point of spec §5 for the atomic law with weights p, signal a_i = alpha_i|v|
   and noise scale s_i > 0: eta by bracketing and geometric bisection (unique root, the map is
   increasing), with the exact lambda = 0 forms (kappa < 1: w2 = E[a/s^2]/(E[a^2/s^2] + 1/kappa),
   |w3|^2 = kappa/(1-kappa) E[t^2/s^2]; kappa = 1: |w3|^2 = +inf, err = 1/2; kappa > 1:
   kappa E[s^2 eta/(1+s^2 eta)] = 1). With constant s it reproduces pattn_ridge_limits_eval
   to rounding. PATTN_EINVAL (out untouched): n < 1, NULL arrays, p not a probability vector,
   non-finite a, s <= 0, kappa <= 0, lambda < 0, NaN/inf. */
PATTN_DEF pattn_status pattn_ridge_fixed_point(int n, const double *p, const double *a,
                                               const double *s, double kappa, double lambda,
                                               pattn_ridge_fp *out);

/* ==== paper 1 theory: the contract (api.md) ============================================ */

typedef struct pattn_head_risk {
    double c, s, mean_alpha;        /* feature law (§4) */
    double theta, omega, psi;       /* resolvent quantities */
    double wv, w_norm2;             /* limits of w'v*, |w|^2 */
    double err, mse;                /* asymptotic test error and MSE */
    double bayes, err_pop, err_lin; /* oracles */
    double var_t, err_d;            /* finite-d correction at m->d */
} pattn_head_risk;

/* Exact proportional-limit risk of the ridge head on prompt p = gamma*q/|q|^2,
   kappa = n/d, lambda = ridge on the (1/n)-normalised loss.
   ORTHO noise with dist_q = 0: the closed form (pattn_feature_law_eval,
   pattn_ridge_limits_eval, the three oracles; the finite-d correction at m->d, none if
   m->d = 0). ISO noise or dist_q > 0: the fixed point on pattn_attention_law; c, s and
   mean_alpha are means over the law, theta/omega/psi are NAN, var_t = 0, err_d = err, and
   the oracles use the law of alpha_i|v|/s_i. Laws of more than 4096 atoms (sampled laws,
   T > ~4000) are merged into atoms at most 0.0025 apart in b before the Bayes and
   best-linear grid searches, which moves those two by < 1e-6 (far below a sampled law's
   1e-3). Cost: microseconds for the closed form at T = 20; a sampled law takes
   O(PATTN_LAW_DRAWS T) exp and normal draws, ~0.1 s at T = 20.
   PATTN_EINVAL with *out untouched: NULL pointer, sigma <= 0, kappa <= 0, lambda < 0,
   zeta outside (0,1] or lround(zeta T) = 0, T < 1, eps outside [0,1], rho < 0, q_norm <= 0,
   v_norm <= 0, dist_q outside [0,1), unknown noise mode, d < 0, any NaN or infinite
   parameter; PATTN_ENOMEM if scratch cannot be allocated; PATTN_ENUM if the fixed point
   does not converge. */
PATTN_DEF pattn_status pattn_head_risk_theory(const pattn_cmm *m, double gamma, double kappa,
                                              double lambda, pattn_head_risk *out);
