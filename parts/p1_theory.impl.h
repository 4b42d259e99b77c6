/* ==== paper 1 theory: normal law, attention weights, feature law (spec §4) ============== */

PATTN_DEF double pattn_norm_cdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752440); }
PATTN_DEF double pattn_norm_pdf(double x) { return 0.39894228040143267794 * exp(-0.5 * x * x); }

/* Phi(u) - Phi(l) for l <= u, taking the difference in the tail where both are small */
static double pattn__phi_between(double l, double u)
{
    if (l >= 0.0) return pattn_norm_cdf(-l) - pattn_norm_cdf(-u);
    if (u <= 0.0) return pattn_norm_cdf(u) - pattn_norm_cdf(l);
    return 1.0 - pattn_norm_cdf(-u) - pattn_norm_cdf(l);
}

/* log C(n, j) as a sum of logs of ratios: lgamma would do, but it writes the global
   signgam, a data race when theory runs on several threads */
static double pattn__log_choose(int n, int j)
{
    int m = j < n - j ? j : n - j, i;
    double acc = 0.0;
    for (i = 1; i <= m; ++i) acc += log((double)(n - m + i) / (double)i);
    return acc;
}

PATTN_DEF double pattn_binom_log_pmf(int n, int j, double p)
{
    if (n < 0 || !(p >= 0.0 && p <= 1.0)) return NAN;
    if (j < 0 || j > n) return -HUGE_VAL;
    /* the endpoints separately: 0 * log(0) would be NaN */
    if (p == 0.0) return j == 0 ? 0.0 : -HUGE_VAL;
    if (p == 1.0) return j == n ? 0.0 : -HUGE_VAL;
    return pattn__log_choose(n, j) + (double)j * log(p) + (double)(n - j) * log1p(-p);
}

PATTN_DEF void pattn_cmm_attention_weights(int T, int k, double gamma, double *w_rel,
                                           double *w_irr)
{
    double wr = NAN, wi = NAN;
    if (k >= 1 && k <= T && pattn__finite(gamma)) {
        /* divide Z by the larger of e^gamma and 1 so nothing overflows */
        if (k == T) {
            wr = 1.0 / (double)T;
            wi = 0.0;
        } else if (gamma >= 0.0) {
            double e = exp(-gamma);
            wr = 1.0 / ((double)k + (double)(T - k) * e);
            wi = e * wr;
        } else {
            double e = exp(gamma);
            wi = 1.0 / ((double)k * e + (double)(T - k));
            wr = e * wi;
        }
    }
    if (w_rel) *w_rel = wr;
    if (w_irr) *w_irr = wi;
}

/* every model check of spec §6 except kappa and lambda */
static int pattn__cmm_theory_ok(const pattn_cmm *m, double gamma)
{
    if (!m) return 0;
    if (m->T < 1 || m->d < 0) return 0;
    if (!pattn__finite(m->zeta) || !(m->zeta > 0.0 && m->zeta <= 1.0)) return 0;
    if (lround(m->zeta * (double)m->T) < 1) return 0;
    if (!pattn__finite(m->sigma) || !(m->sigma > 0.0)) return 0;
    if (!pattn__finite(m->q_norm) || !(m->q_norm > 0.0)) return 0;
    if (!pattn__finite(m->v_norm) || !(m->v_norm > 0.0)) return 0;
    if (!pattn__finite(m->rho) || !(m->rho >= 0.0)) return 0;
    if (!pattn__finite(m->eps) || !(m->eps >= 0.0 && m->eps <= 1.0)) return 0;
    if (!pattn__finite(m->dist_q) || !(m->dist_q >= 0.0 && m->dist_q < 1.0)) return 0;
    if (m->noise != PATTN_NOISE_ORTHO && m->noise != PATTN_NOISE_ISO) return 0;
    if (!pattn__finite(gamma)) return 0;
    return 1;
}

PATTN_DEF pattn_status pattn_feature_law_eval(const pattn_cmm *m, double gamma,
                                              pattn_feature_law *out)
{
    pattn_feature_law L;
    int k;
    if (!out || !pattn__cmm_theory_ok(m, gamma)) return PATTN_EINVAL;
    k = (int)lround(m->zeta * (double)m->T);
    memset(&L, 0, sizeof L);
    L.T = m->T;
    L.k = k;
    L.n_atoms = m->T - k + 1;
    pattn_cmm_attention_weights(m->T, k, gamma, &L.w_rel, &L.w_irr);
    L.c = (double)k * L.w_rel;
    L.s = m->sigma * sqrt((double)k * L.w_rel * L.w_rel + (double)(m->T - k) * L.w_irr * L.w_irr);
    L.alpha0 = L.c;
    L.mean_alpha = L.c - m->rho * m->eps * (double)(m->T - k) * L.w_irr;
    L.beta = (L.alpha0 * m->v_norm / L.s) * (L.alpha0 * m->v_norm / L.s);
    L.rho = m->rho;
    L.eps = m->eps;
    L.v_norm = m->v_norm;
    *out = L;
    return PATTN_OK;
}

PATTN_DEF int pattn_feature_law_atoms(const pattn_feature_law *law, double *pi, double *b)
{
    int nirr, J, n = 0;
    double scale;
    if (!law || !pi || !b || law->k < 1 || law->T < law->k || law->n_atoms != law->T - law->k + 1)
        return 0;
    if (!(law->s > 0.0) || !pattn__finite(law->s) || !pattn__finite(law->c) ||
        !pattn__finite(law->w_irr) || !(law->rho >= 0.0) || !pattn__finite(law->rho) ||
        !(law->eps >= 0.0 && law->eps <= 1.0) || !(law->v_norm > 0.0) ||
        !pattn__finite(law->v_norm))
        return 0;
    nirr = law->T - law->k;
    scale = law->v_norm / law->s;
    if (law->eps == 0.0 || law->rho == 0.0 || nirr == 0 || law->eps == 1.0) {
        /* J deterministic (0 or T-k), or irrelevant to alpha */
        J = (law->eps == 1.0 && law->rho != 0.0) ? nirr : 0;
        pi[0] = 1.0;
        b[0] = (law->c - law->rho * (double)J * law->w_irr) * scale;
        return 1;
    }
    for (J = 0; J <= nirr; ++J) {
        double p = exp(pattn_binom_log_pmf(nirr, J, law->eps));
        if (!(p > 0.0)) continue; /* underflowed far tail: no mass in double */
        pi[n] = p;
        b[n] = (law->c - law->rho * (double)J * law->w_irr) * scale;
        ++n;
    }
    return n;
}

/* ==== paper 1 theory: ridge head risk in the proportional limit (spec §5, §6) ========== */

PATTN_DEF void pattn_ridge_resolvent(double kappa, double ell, double *theta, double *omega,
                                     double *psi, double *sqrt_delta)
{
    double th = NAN, om = NAN, ps = NAN, sd = NAN;
    if (pattn__finite(kappa) && kappa > 0.0 && pattn__finite(ell) && ell >= 0.0) {
        double B = kappa * ell + 1.0 - kappa;
        sd = hypot(B, 2.0 * kappa * sqrt(ell)); /* sqrt(B^2 + 4 kappa^2 ell), no overflow */
        if (sd == 0.0) { /* kappa = 1, ell = 0: the interpolation peak */
            th = 0.0;
            om = 0.0;
            ps = HUGE_VAL;
        } else {
            /* 1 - theta is the small root of kappa u^2 - A u + 1 = 0, A = kappa ell + 1 + kappa;
               A^2 - 4 kappa expanded into non-negative terms, so psi keeps its relative
               accuracy even where theta -> 1 (large ell) */
            double A = kappa * ell + 1.0 + kappa;
            double disc = (1.0 - kappa) * (1.0 - kappa) + 2.0 * kappa * ell * (1.0 + kappa) +
                          kappa * kappa * ell * ell;
            double one_m_theta = 2.0 / (A + sqrt(disc));
            if (B > 0.0) {
                th = 2.0 * kappa * ell / (sd + B);
                om = (sd + B) / (2.0 * kappa);
            } else {
                th = (sd - B) / (2.0 * kappa);
                om = 2.0 * kappa * ell / (sd - B);
            }
            ps = kappa * one_m_theta / sd;
        }
    }
    if (theta) *theta = th;
    if (omega) *omega = om;
    if (psi) *psi = ps;
    if (sqrt_delta) *sqrt_delta = sd;
}

/* pi is a probability vector: finite, non-negative, summing to 1 within 1e-9 */
static int pattn__prob_ok(int n, const double *pi)
{
    int i;
    double t = 0.0;
    if (n < 1 || !pi) return 0;
    for (i = 0; i < n; ++i) {
        if (!pattn__finite(pi[i]) || pi[i] < 0.0) return 0;
        t += pi[i];
    }
    return fabs(t - 1.0) <= 1e-9;
}

static int pattn__law_ok(int n, const double *pi, const double *b)
{
    return pattn__prob_ok(n, pi) && b && pattn__all_finite_f64(b, (size_t)n);
}

/* sum pi_i Phi(-b_i m / S); 1/2 when the head has no signal direction (m = 0) */
static double pattn__law_err(int n, const double *pi, const double *b, double m, double S)
{
    int i;
    double e = 0.0;
    /* no signal direction, or infinite noise (the interpolation peak): a fair coin */
    if (m == 0.0 || S == 0.0 || S == HUGE_VAL) return 0.5;
    for (i = 0; i < n; ++i) e += pi[i] * pattn_norm_cdf(-b[i] * m / S);
    return e;
}

PATTN_DEF pattn_status pattn_ridge_limits_eval(int n, const double *pi, const double *b,
                                               double s, double v_norm, double cq, int d,
                                               double kappa, double lambda,
                                               pattn_ridge_limits *out)
{
    pattn_ridge_limits L;
    double ell, V = 0.0, D;
    int i;
    if (!out || !pattn__law_ok(n, pi, b)) return PATTN_EINVAL;
    if (!pattn__finite(s) || !(s > 0.0) || !pattn__finite(v_norm) || !(v_norm > 0.0) ||
        !pattn__finite(cq) || !(cq >= 0.0) || d < 0 || !pattn__finite(kappa) ||
        !(kappa > 0.0) || !pattn__finite(lambda) || !(lambda >= 0.0))
        return PATTN_EINVAL;
    ell = lambda / (s * s);
    if (!pattn__finite(ell)) return PATTN_EINVAL;
    memset(&L, 0, sizeof L);
    pattn_ridge_resolvent(kappa, ell, &L.theta, &L.omega, &L.psi, &L.sqrt_delta);
    for (i = 0; i < n; ++i) {
        L.B1 += pi[i] * b[i];
        L.B2 += pi[i] * b[i] * b[i];
    }
    for (i = 0; i < n; ++i) V += pi[i] * (b[i] - L.B1) * (b[i] - L.B1);
    D = L.B2 + 1.0 + L.omega;
    L.m = L.B1 / D;
    L.tau2 = (L.B2 + (1.0 + L.omega) * (1.0 + L.omega) + V * (L.B2 + 1.0 + 2.0 * L.omega)) / (D * D);
    L.S2 = L.m * L.m + L.psi * L.tau2; /* +inf at the peak: tau2 > 0 always */
    L.wv = v_norm * L.m / s;
    L.w_norm2 = L.S2 / (s * s);
    L.err = pattn__law_err(n, pi, b, L.m, sqrt(L.S2));
    L.mse = (1.0 + L.psi) * L.tau2;
    /* finite d: the intercept-free head's offset c w'q has variance V_t (spec §5) */
    if (d > 0 && cq > 0.0) {
        double R = (cq / s) * (cq / s), r = R / (R + L.omega);
        if (L.sqrt_delta == 0.0)
            L.var_t = HUGE_VAL;
        else
            L.var_t = r * r * (1.0 + L.omega) * L.tau2 / ((double)d * L.sqrt_delta);
    }
    L.err_d = L.var_t == 0.0 ? L.err : pattn__law_err(n, pi, b, L.m, sqrt(L.S2 + L.var_t));
    L.mse_d = L.mse + L.var_t;
    *out = L;
    return PATTN_OK;
}

PATTN_DEF void pattn_ridge_nodist_risk(double beta, double kappa, double ell, double *err,
                                       double *mse)
{
    double e = NAN, q = NAN;
    if (pattn__finite(beta) && beta >= 0.0 && pattn__finite(kappa) && kappa > 0.0 &&
        pattn__finite(ell) && ell >= 0.0) {
        double om, ps, a;
        pattn_ridge_resolvent(kappa, ell, NULL, &om, &ps, NULL);
        a = (1.0 + om) * (1.0 + om);
        if (ps == HUGE_VAL) {
            e = 0.5;
            q = HUGE_VAL;
        } else {
            e = beta == 0.0 ? 0.5 : pattn_norm_cdf(-beta / sqrt(beta + ps * (beta + a)));
            q = (1.0 + ps) * (a + beta) / ((beta + 1.0 + om) * (beta + 1.0 + om));
        }
    }
    if (err) *err = e;
    if (mse) *mse = q;
}

PATTN_DEF void pattn_ridgeless_nodist_risk(double beta, double kappa, double *err, double *mse)
{
    double e = NAN, q = NAN;
    if (pattn__finite(beta) && beta >= 0.0 && pattn__finite(kappa) && kappa > 0.0) {
        if (kappa > 1.0) {
            e = pattn_norm_cdf(-beta * sqrt((kappa - 1.0) / (1.0 + kappa * beta)));
            q = kappa / ((kappa - 1.0) * (1.0 + beta));
        } else if (kappa < 1.0) {
            e = pattn_norm_cdf(-beta * sqrt(kappa * (1.0 - kappa) / (1.0 + kappa * beta)));
            q = (1.0 + kappa * kappa * beta) /
                ((1.0 - kappa) * (1.0 + kappa * beta) * (1.0 + kappa * beta));
        } else {
            e = 0.5;
            q = HUGE_VAL;
        }
    }
    if (err) *err = e;
    if (mse) *mse = q;
}

PATTN_DEF double pattn_ridge_err_lambda_inf(int n, const double *pi, const double *b,
                                            double kappa)
{
    int i;
    double B1 = 0.0;
    if (!pattn__law_ok(n, pi, b) || !pattn__finite(kappa) || !(kappa > 0.0)) return NAN;
    for (i = 0; i < n; ++i) B1 += pi[i] * b[i];
    return pattn__law_err(n, pi, b, B1, sqrt(B1 * B1 + 1.0 / kappa));
}

PATTN_DEF double pattn_ridgeless_kappa_star(double beta, double x)
{
    if (!pattn__finite(beta) || !(beta > 0.0) || !pattn__finite(x) || !(x >= 0.0)) return NAN;
    if (beta <= x * x) return HUGE_VAL;
    return (x * x + beta * beta) / (beta * (beta - x * x));
}

/* ==== paper 1 theory: oracles (spec §5) ================================================ */

/* sign of f(x) - f(-x), f = sum pi_i phi(. - b_i): every exponent is shifted by the largest
   one so the comparison survives where both densities underflow */
static double pattn__bayes_gap(int n, const double *pi, const double *b, double x)
{
    int i;
    double M = -HUGE_VAL, g = 0.0;
    for (i = 0; i < n; ++i) {
        double e = -0.5 * (x - fabs(b[i])) * (x - fabs(b[i]));
        if (pi[i] > 0.0 && e > M) M = e;
    }
    for (i = 0; i < n; ++i) {
        if (!(pi[i] > 0.0)) continue;
        g += pi[i] * (exp(-0.5 * (x - b[i]) * (x - b[i]) - M) - exp(-0.5 * (x + b[i]) * (x + b[i]) - M));
    }
    return g;
}

/* int_l^u of the smaller density: f(-x) where f(x) > f(-x) (sgn > 0), else f(x) */
static double pattn__bayes_piece(int n, const double *pi, const double *b, double l, double u,
                                 int sgn)
{
    int i;
    double t = 0.0;
    for (i = 0; i < n; ++i) {
        if (!(pi[i] > 0.0)) continue;
        t += pi[i] * (sgn > 0 ? pattn__phi_between(l + b[i], u + b[i])
                              : pattn__phi_between(l - b[i], u - b[i]));
    }
    return t;
}

PATTN_DEF double pattn_bayes_error(int n, const double *pi, const double *b)
{
    int i, npos = 0, nneg = 0, N, sgn = 0;
    double bmax = 0.0, X, h, xprev, lo = 0.0, err = 0.0;
    if (!pattn__law_ok(n, pi, b)) return NAN;
    for (i = 0; i < n; ++i) {
        if (!(pi[i] > 0.0)) continue;
        if (b[i] > 0.0) ++npos;
        if (b[i] < 0.0) ++nneg;
        if (fabs(b[i]) > bmax) bmax = fabs(b[i]);
    }
    if (npos == 0 || nneg == 0) { /* one sign: the sign rule is optimal everywhere */
        for (i = 0; i < n; ++i) err += pi[i] * pattn_norm_cdf(-fabs(b[i]));
        return err;
    }
    X = bmax + 12.0;
    N = (int)ceil(X / 0.005);
    if (N < 2048) N = 2048;
    h = X / (double)N;
    xprev = 0.0;
    for (i = 1; i <= N; ++i) {
        double x = h * (double)i, g = pattn__bayes_gap(n, pi, b, x);
        int sg = g > 0.0 ? 1 : (g < 0.0 ? -1 : 0);
        if (sg == 0) { xprev = x; continue; }
        if (sgn == 0) {
            sgn = sg;
        } else if (sg != sgn) {
            /* a sign change in (xprev, x]: bisect, then close the interval [lo, root] */
            double a = xprev, c = x, r;
            int it;
            for (it = 0; it < 200; ++it) {
                double mid = 0.5 * (a + c), gm;
                if (mid <= a || mid >= c) break;
                gm = pattn__bayes_gap(n, pi, b, mid);
                if ((gm > 0.0 ? 1 : (gm < 0.0 ? -1 : 0)) == sgn) a = mid;
                else c = mid;
            }
            r = 0.5 * (a + c);
            err += pattn__bayes_piece(n, pi, b, lo, r, sgn);
            lo = r;
            sgn = sg;
        }
        xprev = x;
    }
    /* f(x) = f(-x) everywhere (sgn = 0) only for a symmetric law; either density will do */
    err += pattn__bayes_piece(n, pi, b, lo, HUGE_VAL, sgn == 0 ? 1 : sgn);
    return err;
}

PATTN_DEF double pattn_ls_pop_error(int n, const double *pi, const double *b, double direction)
{
    int i;
    double e = 0.0, u;
    if (!pattn__law_ok(n, pi, b) || !pattn__finite(direction)) return NAN;
    if (direction == 0.0) return 0.5;
    u = direction > 0.0 ? 1.0 : -1.0;
    for (i = 0; i < n; ++i) e += pi[i] * pattn_norm_cdf(-u * b[i]);
    return e;
}

static double pattn__lin_obj(int n, const double *pi, const double *b, double u, double t)
{
    int i;
    double e = 0.0;
    for (i = 0; i < n; ++i)
        e += pi[i] * (pattn_norm_cdf(-u * b[i] - t) + pattn_norm_cdf(-u * b[i] + t));
    return 0.5 * e;
}

PATTN_DEF double pattn_best_linear_error(int n, const double *pi, const double *b,
                                         int *u_best, double *t_best)
{
    enum { NGRID = 2000 };
    int i, ui, bu = 1;
    double bmax = 0.0, X, best = HUGE_VAL, bt = 0.0;
    if (!pattn__law_ok(n, pi, b)) return NAN;
    for (i = 0; i < n; ++i)
        if (fabs(b[i]) > bmax) bmax = fabs(b[i]);
    X = bmax + 8.0;
    for (ui = 0; ui < 2; ++ui) {
        double u = ui == 0 ? 1.0 : -1.0, gbest = HUGE_VAL, ta, tb, x1, x2, f1, f2;
        int gi = 0, it;
        const double ig = 0.61803398874989484820; /* 1/golden ratio */
        for (i = 0; i < NGRID; ++i) {
            double f = pattn__lin_obj(n, pi, b, u, X * (double)i / (NGRID - 1));
            if (f < gbest) { gbest = f; gi = i; }
        }
        if (gbest < best) { best = gbest; bt = X * (double)gi / (NGRID - 1); bu = (int)u; }
        /* the objective is smooth and unimodal within a grid cell of its minimum */
        ta = X * (double)(gi > 0 ? gi - 1 : 0) / (NGRID - 1);
        tb = X * (double)(gi < NGRID - 1 ? gi + 1 : NGRID - 1) / (NGRID - 1);
        x1 = tb - ig * (tb - ta);
        x2 = ta + ig * (tb - ta);
        f1 = pattn__lin_obj(n, pi, b, u, x1);
        f2 = pattn__lin_obj(n, pi, b, u, x2);
        for (it = 0; it < 200 && tb - ta > 1e-12 * (1.0 + tb); ++it) {
            if (f1 <= f2) {
                tb = x2; x2 = x1; f2 = f1;
                x1 = tb - ig * (tb - ta);
                f1 = pattn__lin_obj(n, pi, b, u, x1);
            } else {
                ta = x1; x1 = x2; f1 = f2;
                x2 = ta + ig * (tb - ta);
                f2 = pattn__lin_obj(n, pi, b, u, x2);
            }
        }
        if (f1 < best) { best = f1; bt = x1; bu = (int)u; }
        if (f2 < best) { best = f2; bt = x2; bu = (int)u; }
    }
    if (u_best) *u_best = bu;
    if (t_best) *t_best = bt;
    return best;
}

/* ==== paper 1 theory: random per-sample (alpha, s) laws and the fixed point (spec §5) === */

/* scores are deterministic under ORTHO noise (p is parallel to q) and under any noise at
   gamma = 0 */
static int pattn__law_exact(const pattn_cmm *m, double gamma)
{
    return m->noise == PATTN_NOISE_ORTHO || gamma == 0.0;
}

PATTN_DEF int pattn_attention_law_size(const pattn_cmm *m, double gamma)
{
    if (!pattn__cmm_theory_ok(m, gamma)) return 0;
    if (pattn__law_exact(m, gamma)) return m->T - (int)lround(m->zeta * (double)m->T) + 1;
    return PATTN_LAW_DRAWS;
}

PATTN_DEF pattn_status pattn_attention_law(const pattn_cmm *m, double gamma, double *p,
                                           double *alpha, double *s, double *c, int *n_atoms)
{
    int k, T, nirr, n = 0;
    double a;
    if (!p || !alpha || !s || !n_atoms || !pattn__cmm_theory_ok(m, gamma)) return PATTN_EINVAL;
    T = m->T;
    k = (int)lround(m->zeta * (double)T);
    nirr = T - k;
    a = m->dist_q;
    if (pattn__law_exact(m, gamma)) {
        /* relevant tokens score gamma, distractors a gamma, the rest 0; shift by the
           largest score present so that neither Z overflows nor it underflows to 0 */
        int J, J0 = 0, J1 = nirr;
        if (m->eps == 0.0) J1 = 0;
        if (m->eps == 1.0) J0 = nirr;
        for (J = J0; J <= J1; ++J) {
            double pj = (J0 == J1) ? 1.0 : exp(pattn_binom_log_pmf(nirr, J, m->eps));
            double Z, wR, wD, w0, M = gamma, eR, eD, e0;
            if (!(pj > 0.0)) continue;
            if (J > 0 && a * gamma > M) M = a * gamma;
            if (nirr - J > 0 && 0.0 > M) M = 0.0;
            eR = exp(gamma - M);
            eD = exp(a * gamma - M);
            e0 = exp(-M);
            Z = (double)k * eR + (double)J * eD + (double)(nirr - J) * e0;
            wR = eR / Z;
            wD = eD / Z;
            w0 = e0 / Z;
            p[n] = pj;
            alpha[n] = (double)k * wR - m->rho * (double)J * wD;
            s[n] = m->sigma * sqrt((double)k * wR * wR + (double)J * wD * wD + (double)(nirr - J) * w0 * w0);
            if (c) c[n] = (double)k * wR + a * (double)J * wD;
            ++n;
        }
    } else {
        /* ISO noise: the q-component of each token's noise perturbs its score by
           gamma sigma xi/|q|; sample the law */
        double *sc = (double *)PATTN_MALLOC(2 * (size_t)T * sizeof(double)), *xi;
        double gs = gamma * m->sigma / m->q_norm, w = 1.0 / (double)PATTN_LAW_DRAWS;
        unsigned char *dis = (unsigned char *)PATTN_MALLOC((size_t)T);
        pattn_rng r;
        int i, t;
        if (!sc || !dis) {
            PATTN_FREE(sc);
            PATTN_FREE(dis);
            return PATTN_ENOMEM;
        }
        xi = sc + T;
        pattn_rng_seed(&r, PATTN_LAW_SEED);
        for (i = 0; i < PATTN_LAW_DRAWS; ++i) {
            double mx = -HUGE_VAL, Z = 0.0, aR = 0.0, aD = 0.0, w2 = 0.0, cq = 0.0;
            for (t = 0; t < T; ++t) {
                dis[t] = (unsigned char)(t >= k && m->eps > 0.0 && pattn_rng_uniform_f64(&r) < m->eps);
                xi[t] = pattn_rng_normal_f64(&r);
                sc[t] = gamma * (t < k ? 1.0 : (dis[t] ? a : 0.0)) + gs * xi[t];
                if (sc[t] > mx) mx = sc[t];
            }
            for (t = 0; t < T; ++t) {
                sc[t] = exp(sc[t] - mx);
                Z += sc[t];
            }
            for (t = 0; t < T; ++t) {
                double wt = sc[t] / Z;
                if (t < k) aR += wt;
                else if (dis[t]) aD += wt;
                w2 += wt * wt;
                cq += wt * ((t < k ? 1.0 : (dis[t] ? a : 0.0)) + m->sigma * xi[t] / m->q_norm);
            }
            p[i] = w;
            alpha[i] = aR - m->rho * aD;
            s[i] = m->sigma * sqrt(w2);
            if (c) c[i] = cq;
        }
        n = PATTN_LAW_DRAWS;
        PATTN_FREE(sc);
        PATTN_FREE(dis);
    }
    *n_atoms = n;
    return PATTN_OK;
}

/* kappa eta (lambda + E[s^2/(1+s^2 eta)]) - 1, or kappa E[s^2 eta/(1+s^2 eta)] - 1 at lambda = 0
   (the same thing, written without the 0 * inf the first form would meet) */
static double pattn__fp_gap(int n, const double *p, const double *s, double kappa,
                            double lambda, double eta)
{
    int i;
    double e = 0.0;
    for (i = 0; i < n; ++i) {
        double x = s[i] * s[i] * eta;
        e += p[i] * x / (1.0 + x);
    }
    return kappa * (eta * lambda + e) - 1.0;
}

PATTN_DEF pattn_status pattn_ridge_fixed_point(int n, const double *p, const double *a,
                                               const double *s, double kappa, double lambda,
                                               pattn_ridge_fp *out)
{
    pattn_ridge_fp F;
    int i;
    double Es2 = 0.0, smin = HUGE_VAL, err = 0.0, mse0 = 0.0, nu;
    if (!out || !pattn__prob_ok(n, p) || !a || !s || !pattn__all_finite_f64(a, (size_t)n) ||
        !pattn__finite(kappa) || !(kappa > 0.0) || !pattn__finite(lambda) || !(lambda >= 0.0))
        return PATTN_EINVAL;
    for (i = 0; i < n; ++i) {
        if (!pattn__finite(s[i]) || !(s[i] > 0.0)) return PATTN_EINVAL;
        Es2 += p[i] * s[i] * s[i];
        if (p[i] > 0.0 && s[i] < smin) smin = s[i];
    }
    memset(&F, 0, sizeof F);
    if (lambda == 0.0 && kappa <= 1.0) {
        /* minimum-norm interpolation: eta -> inf with lambda eta -> (1 - kappa)/kappa */
        double num = 0.0, den = 0.0, e2 = 0.0;
        for (i = 0; i < n; ++i) {
            num += p[i] * a[i] / (s[i] * s[i]);
            den += p[i] * a[i] * a[i] / (s[i] * s[i]);
        }
        F.eta = HUGE_VAL;
        F.w2 = num / (den + 1.0 / kappa);
        for (i = 0; i < n; ++i) {
            double r = 1.0 - F.w2 * a[i];
            e2 += p[i] * (r * r + F.w2 * F.w2 * s[i] * s[i]) / (s[i] * s[i]);
        }
        F.w3_norm2 = kappa == 1.0 ? HUGE_VAL : kappa / (1.0 - kappa) * e2;
    } else {
        /* bracket: E[s^2/(1+s^2 eta)] lies in (0, E s^2], so the root is >= lo and (lambda > 0)
           <= 1/(kappa lambda); for kappa > 1 the smallest s also bounds it above */
        double lo = 1.0 / (kappa * (lambda + Es2)), hi, eta, num = 0.0, den = 0.0, t3 = 0.0, b3 = 0.0;
        int it;
        hi = HUGE_VAL;
        if (lambda > 0.0) hi = 1.0 / (kappa * lambda);
        if (kappa > 1.0) hi = fmin(hi, 1.0 / ((kappa - 1.0) * smin * smin));
        if (!(hi >= lo) || !pattn__finite(hi)) return PATTN_ENUM;
        for (it = 0; it < 400; ++it) {
            double mid = sqrt(lo) * sqrt(hi); /* geometric: the bracket may span decades */
            if (!(mid > lo && mid < hi)) break;
            if (pattn__fp_gap(n, p, s, kappa, lambda, mid) < 0.0) lo = mid;
            else hi = mid;
        }
        if (it == 400) return PATTN_ENUM;
        eta = 0.5 * (lo + hi);
        F.eta = eta;
        for (i = 0; i < n; ++i) {
            double Bb = 1.0 / (1.0 + s[i] * s[i] * eta);
            num += p[i] * a[i] * Bb;
            den += p[i] * (a[i] * a[i] + s[i] * s[i]) * Bb;
        }
        F.w2 = num / (den + lambda);
        for (i = 0; i < n; ++i) {
            double Bb = 1.0 / (1.0 + s[i] * s[i] * eta), r = 1.0 - F.w2 * a[i];
            double t2 = r * r + F.w2 * F.w2 * s[i] * s[i];
            t3 += p[i] * t2 * s[i] * s[i] * Bb * Bb;
            b3 += p[i] * s[i] * s[i] * Bb * Bb;
        }
        F.w3_norm2 = eta * t3 / (lambda + b3);
    }
    F.nu2 = F.w2 * F.w2 + F.w3_norm2;
    nu = sqrt(F.nu2);
    for (i = 0; i < n; ++i) {
        double r = 1.0 - a[i] * F.w2;
        if (F.w2 != 0.0) err += p[i] * pattn_norm_cdf(-a[i] * F.w2 / (s[i] * nu));
        mse0 += p[i] * r * r;
    }
    F.err = (F.w2 == 0.0 || F.nu2 == HUGE_VAL) ? 0.5 : err;
    F.mse = mse0 + Es2 * F.nu2;
    *out = F;
    return PATTN_OK;
}

/* ==== paper 1 theory: the contract (api.md) ============================================ */

typedef struct pattn__atom { double b, p; } pattn__atom;

/* Laws with more atoms than this (sampled ISO laws, T in the thousands) are merged before
   the grid searches of the Bayes and best-linear oracles: atoms within PATTN__MERGE_WIDTH of
   each other in b become one at their weighted mean. The best-linear objective has
   |d^2/db_i^2| <= phi(1) per unit weight, so merging moves it by at most
   phi(1)/2 (width/2)^2 ~ 2e-7, and the Bayes error likewise to second order; measured on a
   sampled ISO law of 1e5 atoms: 5e-9 for both. */
#define PATTN__MERGE_ABOVE 4096
#define PATTN__MERGE_WIDTH 0.0025

static int pattn__atom_cmp(const void *x, const void *y)
{
    double a = ((const pattn__atom *)x)->b, c = ((const pattn__atom *)y)->b;
    return a < c ? -1 : (a > c ? 1 : 0);
}

/* merge a large law into atoms whose b lie within `width` of each other (weighted mean b):
   the oracles are smooth in b, so this moves them by O(width^2) while making their grid
   searches affordable. Returns the new count, written to pi/b (n entries available). */
static int pattn__law_merge(int n, double *pi, double *b, double width, pattn__atom *scr)
{
    int i, m = 0;
    for (i = 0; i < n; ++i) { scr[i].b = b[i]; scr[i].p = pi[i]; }
    qsort(scr, (size_t)n, sizeof *scr, pattn__atom_cmp);
    i = 0;
    while (i < n) {
        double b0 = scr[i].b, P = 0.0, Pb = 0.0;
        while (i < n && scr[i].b - b0 <= width) {
            P += scr[i].p;
            Pb += scr[i].p * scr[i].b;
            ++i;
        }
        if (P > 0.0) {
            pi[m] = P;
            b[m] = Pb / P;
            ++m;
        }
    }
    return m;
}

PATTN_DEF pattn_status pattn_head_risk_theory(const pattn_cmm *m, double gamma, double kappa,
                                              double lambda, pattn_head_risk *out)
{
    pattn_head_risk R;
    pattn_status st;
    int n, i;
    double *buf;
    if (!out || !pattn__cmm_theory_ok(m, gamma) || !pattn__finite(kappa) || !(kappa > 0.0) ||
        !pattn__finite(lambda) || !(lambda >= 0.0))
        return PATTN_EINVAL;
    memset(&R, 0, sizeof R);
    if (m->noise == PATTN_NOISE_ORTHO && m->dist_q == 0.0) {
        pattn_feature_law F;
        pattn_ridge_limits L;
        st = pattn_feature_law_eval(m, gamma, &F);
        if (st != PATTN_OK) return st;
        buf = (double *)PATTN_MALLOC(2 * (size_t)F.n_atoms * sizeof(double));
        if (!buf) return PATTN_ENOMEM;
        n = pattn_feature_law_atoms(&F, buf, buf + F.n_atoms);
        st = n > 0 ? pattn_ridge_limits_eval(n, buf, buf + F.n_atoms, F.s, m->v_norm,
                                             F.c * m->q_norm, m->d, kappa, lambda, &L)
                   : PATTN_EINVAL;
        if (st != PATTN_OK) { PATTN_FREE(buf); return st; }
        R.c = F.c;
        R.s = F.s;
        R.mean_alpha = F.mean_alpha;
        R.theta = L.theta;
        R.omega = L.omega;
        R.psi = L.psi;
        R.wv = L.wv;
        R.w_norm2 = L.w_norm2;
        R.err = L.err;
        R.mse = L.mse;
        R.err_pop = pattn_ls_pop_error(n, buf, buf + F.n_atoms, L.B1);
        if (n > PATTN__MERGE_ABOVE) { /* only for very long sequences (T > ~4000) */
            pattn__atom *scr = (pattn__atom *)PATTN_MALLOC((size_t)n * sizeof(pattn__atom));
            if (!scr) { PATTN_FREE(buf); return PATTN_ENOMEM; }
            n = pattn__law_merge(n, buf, buf + F.n_atoms, PATTN__MERGE_WIDTH, scr);
            PATTN_FREE(scr);
        }
        R.bayes = pattn_bayes_error(n, buf, buf + F.n_atoms);
        R.err_lin = pattn_best_linear_error(n, buf, buf + F.n_atoms, NULL, NULL);
        R.var_t = L.var_t;
        R.err_d = L.err_d;
        PATTN_FREE(buf);
    } else {
        pattn_ridge_fp P;
        pattn__atom *scr;
        double *p, *al, *s, *c, *b, ma = 0.0;
        int sz = pattn_attention_law_size(m, gamma);
        buf = (double *)PATTN_MALLOC(5 * (size_t)sz * sizeof(double));
        scr = (pattn__atom *)PATTN_MALLOC((size_t)sz * sizeof(pattn__atom));
        if (!buf || !scr) { PATTN_FREE(buf); PATTN_FREE(scr); return PATTN_ENOMEM; }
        p = buf; al = p + sz; s = al + sz; c = s + sz; b = c + sz;
        st = pattn_attention_law(m, gamma, p, al, s, c, &n);
        if (st == PATTN_OK) {
            for (i = 0; i < n; ++i) b[i] = al[i] * m->v_norm; /* b holds a_i = alpha_i |v| */
            st = pattn_ridge_fixed_point(n, p, b, s, kappa, lambda, &P);
        }
        if (st != PATTN_OK) { PATTN_FREE(buf); PATTN_FREE(scr); return st; }
        for (i = 0; i < n; ++i) {
            R.c += p[i] * c[i];
            R.s += p[i] * s[i];
            ma += p[i] * al[i];
            b[i] /= s[i];
        }
        R.mean_alpha = ma;
        R.theta = R.omega = R.psi = NAN;
        R.wv = m->v_norm * P.w2;
        R.w_norm2 = P.nu2;
        R.err = P.err;
        R.mse = P.mse;
        R.err_pop = pattn_ls_pop_error(n, p, b, ma);
        if (n > PATTN__MERGE_ABOVE) n = pattn__law_merge(n, p, b, PATTN__MERGE_WIDTH, scr);
        R.bayes = pattn_bayes_error(n, p, b);
        R.err_lin = pattn_best_linear_error(n, p, b, NULL, NULL);
        R.var_t = 0.0;
        R.err_d = R.err;
        PATTN_FREE(buf);
        PATTN_FREE(scr);
    }
    *out = R;
    return PATTN_OK;
}
