/* ==== paper 2: closed forms & theory (icl_prompts.md §4) =================================== */

/* Minimal population risks of the reduced model y^ = x'W(X'y + b_k) on a task mixture
   (no 1/n in the model; a 1/n-normalised model has the same losses). */
typedef struct pattn_icl_risks {
    double ey2;                  /* E[y^2] */
    double pt, ft, jt, dec, lb;  /* minimal population risks, §4 of icl_prompts.md */
} pattn_icl_risks;

/* Regimes of pattn_icl_optimum: plain training, fine-tuned prompts, joint training, fully
   decoupled (known-mean PGD with one shared W), lower bound (known-mean PGD, W_k per task). */
enum { PATTN_ICL_PT = 0, PATTN_ICL_FT = 1, PATTN_ICL_JT = 2, PATTN_ICL_DEC = 3, PATTN_ICL_LB = 4 };

/* Full validation of a mixture (spec §1). PATTN_EINVAL: NULL m / pi / cov_beta, d < 1, K < 1,
   a weight negative or non-finite, weights not summing to 1 within 1e-9, NaN/inf in any given
   array, a negative noise variance. PATTN_ENUM: cov_x not symmetric (1e-12 relative) or not
   positive definite; a cov_beta[k] not symmetric or with an eigenvalue below
   -1e-12 * max|eigenvalue| (rank-deficient and zero covariances are fine).
   PATTN_ENOMEM if scratch cannot be allocated. Weights are used as given, not renormalised. */
PATTN_DEF pattn_status pattn_icl_mix_check(const pattn_icl_mix *m);

/* The contract: E[y^2] and the minimal risks L_PT >= L_FT >= L_JT >= L_dec >= L_LB for n >= 1
   context examples. Computed in whitened coordinates (S^{1/2} from an eigen-decomposition)
   as sums of non-negative terms, so no cancellation. When Sigma-bar = sum pi_k Sigma_k is
   singular, L_JT is an infimum that no finite prompt may attain (see pattn_icl_optimum).
   *out untouched on error. */
PATTN_DEF pattn_status pattn_icl_theory(const pattn_icl_mix *m, int n, pattn_icl_risks *out);

/* The scalar forms of §4 for S = I, Sigma_k = s[k] I, mu_k = mk[k] * 1 (mk may be NULL = 0),
   common noise variance sigma2: an independent check of the matrix forms. lb is
   sigma2 + sum_k pi_k d s_k((d+1)s_k + sigma2)/((n+1+d)s_k + sigma2). */
PATTN_DEF pattn_status pattn_icl_theory_iso(int d, int n, int K, const double *pi,
                                            const double *mk, const double *s, double sigma2,
                                            pattn_icl_risks *out);

/* Optimal parameters of a regime. W: d*d row-major (LB: K*d*d, one W_k per task). b (may be
   NULL): K*d prompts b_k; PT: zeros; FT: S mu_k + tau M^+ mu_k with W = W_PT (M^+ the
   pseudo-inverse: mu_k always lies in range(M), and any prompt with the same W b is as good);
   JT: S mu_k + (S M_mu + tau I) Sigma-bar^+ mu_k; DEC / LB: the task means mu_k (the mean of
   the known-mean PGD y^ = x'mu_k + x'W X'(y - X mu_k)).
   JT with a singular Sigma-bar: W_JT is still the minimiser of the risk profiled over prompts
   and is returned when b == NULL; if b != NULL and some mu_k has a component outside
   range(Sigma-bar) (relative 1e-8 after whitening; eigenvalues below 1e-12 of the largest
   count as zero), the optimum is not attained (only approached by W_JT + eps I, b ~ 1/eps)
   and PATTN_ENUM is returned with W and b untouched. If mu_k lies in range(Sigma-bar) the
   pseudo-inverse prompt attains L_JT. PATTN_EINVAL for a bad mixture, n < 1, NULL W or an
   unknown regime. */
PATTN_DEF pattn_status pattn_icl_optimum(const pattn_icl_mix *m, int n, int regime, double *W,
                                         double *b);

/* Exact population risk of the reduced model y^ = x'W(X'y + b_k) for any W (d*d) and prompts
   b (K*d, NULL = no prompts): per-task risks into risk_k (K entries, may be NULL), the
   pi-weighted total into *risk. Evaluated as a sum of non-negative quadratic forms
   (sigma_k^2 + tr(E'SE Sigma_k) + v'Sv + n tr(W'SW S R_k S) + n tr(W'SWS)(tr(S R_k) + sigma_k^2),
   E = nWS - I, v = E mu_k + W b_k), equal to the §4 expression. */
PATTN_DEF pattn_status pattn_icl_risk(const pattn_icl_mix *m, int n, const double *W,
                                      const double *b, double *risk_k, double *risk);

/* Exact population risk of known-mean PGD y^ = x'mu_k + x'W X'(y - X mu_k): the reduced-model
   risk of the centred task (R_k = Sigma_k, no prompt). per_task = 0: one shared W (d*d);
   per_task = 1: W holds K matrices W_k (K*d*d). Minimised by W_dec (L_dec) and W_k (L_LB). */
PATTN_DEF pattn_status pattn_icl_risk_pgd(const pattn_icl_mix *m, int n, const double *W,
                                          int per_task, double *risk_k, double *risk);
