/* ==== paper 2: closed forms & theory (icl_prompts.md §4) =================================== */

/* Small dense helpers (double, d x d row-major). C must not alias A or B. */
static void pattn__iclt_mm(const double *A, int ta, const double *B, int tb, double *C, int d)
{
    int i, j, k;
    for (i = 0; i < d; ++i)
        for (j = 0; j < d; ++j) {
            double s = 0.0;
            for (k = 0; k < d; ++k)
                s += (ta ? A[(size_t)k * d + i] : A[(size_t)i * d + k]) *
                     (tb ? B[(size_t)j * d + k] : B[(size_t)k * d + j]);
            C[(size_t)i * d + j] = s;
        }
}

/* y = A x (ta = 0) or A' x (ta = 1); y must not alias x */
static void pattn__iclt_mv(const double *A, int ta, const double *x, double *y, int d)
{
    int i, k;
    for (i = 0; i < d; ++i) {
        double s = 0.0;
        for (k = 0; k < d; ++k) s += (ta ? A[(size_t)k * d + i] : A[(size_t)i * d + k]) * x[k];
        y[i] = s;
    }
}

/* sum_ij A_ij B_ij = tr(A'B) */
static double pattn__iclt_frob(const double *A, const double *B, size_t n)
{
    size_t i;
    double s = 0.0;
    for (i = 0; i < n; ++i) s += A[i] * B[i];
    return s;
}

static double pattn__iclt_quad(const double *A, const double *x, int d)
{
    int i, j;
    double s = 0.0;
    for (i = 0; i < d; ++i) {
        double r = 0.0;
        for (j = 0; j < d; ++j) r += A[(size_t)i * d + j] * x[j];
        s += x[i] * r;
    }
    return s;
}

/* exact symmetry (a + b == b + a in IEEE), so pattn_chol / pattn_sym_eig accept the result */
static void pattn__iclt_symm(double *A, int d)
{
    int i, j;
    for (i = 0; i < d; ++i)
        for (j = 0; j < i; ++j) {
            double a = 0.5 * (A[(size_t)i * d + j] + A[(size_t)j * d + i]);
            A[(size_t)i * d + j] = a;
            A[(size_t)j * d + i] = a;
        }
}

/* out = V diag(f) V' */
static void pattn__iclt_vfv(const double *V, const double *f, double *out, int d)
{
    int i, j, k;
    for (i = 0; i < d; ++i)
        for (j = 0; j <= i; ++j) {
            double s = 0.0;
            for (k = 0; k < d; ++k) s += V[(size_t)i * d + k] * f[k] * V[(size_t)j * d + k];
            out[(size_t)i * d + j] = s;
            out[(size_t)j * d + i] = s;
        }
}

static void pattn__iclt_eye(double *A, int d)
{
    int i;
    memset(A, 0, (size_t)d * (size_t)d * sizeof(double));
    for (i = 0; i < d; ++i) A[(size_t)i * d + i] = 1.0;
}

/* eigen-decomposition of a PSD matrix; eigenvalues that rounding pushed below 0 become 0 */
static pattn_status pattn__iclt_eig(const double *A, int d, double *w, double *V)
{
    int i;
    pattn_status st = pattn_sym_eig(A, d, w, V);
    if (st != PATTN_OK) return st;
    for (i = 0; i < d; ++i)
        if (w[i] < 0.0) w[i] = 0.0;
    return PATTN_OK;
}

PATTN_DEF pattn_status pattn_icl_mix_check(const pattn_icl_mix *m)
{
    int d, K, k;
    size_t dd;
    double sum = 0.0, *buf;
    pattn_status st = PATTN_OK;
    if (!m || !m->pi || !m->cov_beta || m->d < 1 || m->K < 1) return PATTN_EINVAL;
    d = m->d;
    K = m->K;
    dd = (size_t)d * (size_t)d;
    for (k = 0; k < K; ++k) {
        if (!pattn__finite(m->pi[k]) || m->pi[k] < 0.0) return PATTN_EINVAL;
        sum += m->pi[k];
    }
    if (!(fabs(sum - 1.0) <= 1e-9)) return PATTN_EINVAL;
    if (m->mu && !pattn__all_finite_f64(m->mu, (size_t)K * (size_t)d)) return PATTN_EINVAL;
    if (!pattn__all_finite_f64(m->cov_beta, (size_t)K * dd)) return PATTN_EINVAL;
    if (m->noise_var)
        for (k = 0; k < K; ++k)
            if (!pattn__finite(m->noise_var[k]) || m->noise_var[k] < 0.0) return PATTN_EINVAL;
    if (m->cov_x && !pattn__all_finite_f64(m->cov_x, dd)) return PATTN_EINVAL;
    buf = (double *)PATTN_MALLOC((dd + (size_t)d) * sizeof(double));
    if (!buf) return PATTN_ENOMEM;
    if (m->cov_x) {
        memcpy(buf, m->cov_x, dd * sizeof(double));
        st = pattn_chol(buf, d); /* ENUM: not symmetric or not positive definite */
    }
    for (k = 0; k < K && st == PATTN_OK; ++k) {
        double *w = buf + dd, mx;
        int i;
        st = pattn_sym_eig(m->cov_beta + (size_t)k * dd, d, w, NULL); /* ENUM: not symmetric */
        if (st != PATTN_OK) break;
        mx = 0.0;
        for (i = 0; i < d; ++i) mx = fabs(w[i]) > mx ? fabs(w[i]) : mx;
        /* Jacobi eigenvalues are accurate to a few ulp of |A|: anything more negative is real */
        if (w[0] < -1e-12 * mx) st = PATTN_ENUM;
    }
    PATTN_FREE(buf);
    return st;
}

/* The problem in whitened coordinates x~ = S^{-1/2} x: beta~ = S^{1/2} beta, so S becomes I,
   Sigma_k -> S^{1/2} Sigma_k S^{1/2}, mu_k -> S^{1/2} mu_k, W -> S^{1/2} W S^{1/2},
   b -> S^{-1/2} b. Every optimum below is symmetric there (except W_JT) and diagonal in an
   eigenbasis, and the traces tr(S .) become plain traces. */
typedef struct pattn__iclt_wh {
    int d, K;
    double *sh, *sih;          /* S^{1/2}, S^{-1/2} */
    double *sig;               /* K*d*d whitened Sigma_k */
    double *mu;                /* K*d whitened mu_k */
    double *sbar, *mmu, *mm;   /* whitened Sigma-bar, M_mu, M */
    double *tk;                /* tau_k = tr(S Sigma_k) + sigma_k^2 */
    double *tmp;               /* scratch: 6 d*d + 4 d */
    double s2bar, tau, tauc;
    double *mem;
} pattn__iclt_wh;

/* m must have passed pattn_icl_mix_check */
static pattn_status pattn__iclt_whiten(const pattn_icl_mix *m, pattn__iclt_wh *w)
{
    int d = m->d, K = m->K, i, j, k;
    size_t dd = (size_t)d * (size_t)d;
    size_t tot = 5 * dd + (size_t)K * dd + (size_t)K * (size_t)d + (size_t)K + 6 * dd + 4 * (size_t)d;
    double *p, trs = 0.0, trm = 0.0;
    w->d = d;
    w->K = K;
    w->mem = p = (double *)PATTN_MALLOC(tot * sizeof(double));
    if (!p) return PATTN_ENOMEM;
    w->sh = p; p += dd;
    w->sih = p; p += dd;
    w->sbar = p; p += dd;
    w->mmu = p; p += dd;
    w->mm = p; p += dd;
    w->sig = p; p += (size_t)K * dd;
    w->mu = p; p += (size_t)K * (size_t)d;
    w->tk = p; p += K;
    w->tmp = p;
    if (m->cov_x) {
        double *ev = w->tmp, *V = w->tmp + d, *f = ev + d + dd;
        pattn_status st = pattn_sym_eig(m->cov_x, d, ev, V);
        if (st == PATTN_OK && !(ev[0] > 0.0)) st = PATTN_ENUM;
        if (st != PATTN_OK) { PATTN_FREE(w->mem); w->mem = NULL; return st; }
        for (i = 0; i < d; ++i) f[i] = sqrt(ev[i]);
        pattn__iclt_vfv(V, f, w->sh, d);
        for (i = 0; i < d; ++i) f[i] = 1.0 / sqrt(ev[i]);
        pattn__iclt_vfv(V, f, w->sih, d);
    } else {
        pattn__iclt_eye(w->sh, d);
        pattn__iclt_eye(w->sih, d);
    }
    memset(w->sbar, 0, dd * sizeof(double));
    memset(w->mmu, 0, dd * sizeof(double));
    w->s2bar = 0.0;
    for (k = 0; k < K; ++k) {
        double *sg = w->sig + (size_t)k * dd, *mu = w->mu + (size_t)k * d, pk = m->pi[k];
        double s2 = m->noise_var ? m->noise_var[k] : 0.0;
        if (m->cov_x) {
            pattn__iclt_mm(w->sh, 0, m->cov_beta + (size_t)k * dd, 0, w->tmp, d);
            pattn__iclt_mm(w->tmp, 0, w->sh, 0, sg, d);
        } else {
            memcpy(sg, m->cov_beta + (size_t)k * dd, dd * sizeof(double));
        }
        pattn__iclt_symm(sg, d);
        if (m->mu) pattn__iclt_mv(w->sh, 0, m->mu + (size_t)k * d, mu, d);
        else memset(mu, 0, (size_t)d * sizeof(double));
        w->tk[k] = s2;
        for (i = 0; i < d; ++i) w->tk[k] += sg[(size_t)i * d + i];
        for (i = 0; i < d; ++i)
            for (j = 0; j < d; ++j) {
                w->sbar[(size_t)i * d + j] += pk * sg[(size_t)i * d + j];
                w->mmu[(size_t)i * d + j] += pk * (mu[i] * mu[j]);
            }
        w->s2bar += pk * s2;
    }
    for (i = 0; i < (int)dd; ++i) w->mm[i] = w->sbar[i] + w->mmu[i];
    for (i = 0; i < d; ++i) {
        trs += w->sbar[(size_t)i * d + i];
        trm += w->mm[(size_t)i * d + i];
    }
    w->tau = trm + w->s2bar;
    w->tauc = trs + w->s2bar;
    return PATTN_OK;
}

/* lambda/((n+1)lambda + t): the eigenvalue of the optimal W~ along an eigenvector of the
   fitted second moment; 0/0 (nothing to fit, no noise) -> 0 */
static double pattn__iclt_wgain(double lam, double t, int n)
{
    double den = ((double)n + 1.0) * lam + t;
    return den > 0.0 ? lam / den : 0.0;
}

/* lambda - n lambda^2/((n+1)lambda + t) written without cancellation */
static double pattn__iclt_rterm(double lam, double t, int n)
{
    double den = ((double)n + 1.0) * lam + t;
    return den > 0.0 ? lam * (lam + t) / den : 0.0;
}

/* W~_JT = Sigma~ G^{-1}, G = (n+1) Sigma~ + M~_mu + tau I (SPD when tau > 0). scratch: d*d */
static pattn_status pattn__iclt_wjt(const pattn__iclt_wh *w, int n, double *Wt, double *G)
{
    int d = w->d, i, j;
    size_t dd = (size_t)d * (size_t)d;
    pattn_status st;
    if (!(w->tau > 0.0)) { /* y = 0 almost surely: nothing to learn */
        memset(Wt, 0, dd * sizeof(double));
        return PATTN_OK;
    }
    for (i = 0; i < (int)dd; ++i) G[i] = ((double)n + 1.0) * w->sbar[i] + w->mmu[i];
    for (i = 0; i < d; ++i) G[(size_t)i * d + i] += w->tau;
    st = pattn_chol(G, d);
    if (st != PATTN_OK) return st;
    /* G and Sigma~ are symmetric: W~' = G^{-1} Sigma~ is one Cholesky solve */
    memcpy(Wt, w->sbar, dd * sizeof(double));
    st = pattn_chol_solve(G, d, Wt, d);
    if (st != PATTN_OK) return st;
    for (i = 0; i < d; ++i)
        for (j = 0; j < i; ++j) {
            double t = Wt[(size_t)i * d + j];
            Wt[(size_t)i * d + j] = Wt[(size_t)j * d + i];
            Wt[(size_t)j * d + i] = t;
        }
    return PATTN_OK;
}

PATTN_DEF pattn_status pattn_icl_theory(const pattn_icl_mix *m, int n, pattn_icl_risks *out)
{
    pattn__iclt_wh w;
    pattn_icl_risks r;
    pattn_status st;
    int d, K, i, k;
    size_t dd;
    double *lam, *V, *A, *B, *C, *u;
    if (!out || n < 1) return PATTN_EINVAL;
    st = pattn_icl_mix_check(m);
    if (st != PATTN_OK) return st;
    st = pattn__iclt_whiten(m, &w);
    if (st != PATTN_OK) return st;
    d = m->d;
    K = m->K;
    dd = (size_t)d * (size_t)d;
    V = w.tmp;
    A = V + dd;
    B = A + dd;
    C = B + dd;
    lam = w.tmp + 6 * dd;
    u = lam + d;

    /* PT and FT, diagonal in the eigenbasis of M~:
       L_PT = sigma2bar + sum_i lam_i (lam_i + tau)/((n+1) lam_i + tau);
       L_FT adds back only the covariance part: sum_i [e_i^2 v_i'Sigma~v_i + n w_i^2 (lam_i + tau)]
       with w_i the gain and e_i = 1 - n w_i, the prompt cancelling the mean part exactly. */
    st = pattn__iclt_eig(w.mm, d, lam, V);
    if (st != PATTN_OK) goto done;
    r.pt = r.ft = w.s2bar;
    for (i = 0; i < d; ++i) {
        double g = pattn__iclt_wgain(lam[i], w.tau, n);
        double e = 1.0 - (double)n * g, sii;
        int j;
        for (j = 0; j < d; ++j) u[j] = V[(size_t)j * d + i];
        sii = pattn__iclt_quad(w.sbar, u, d);
        r.pt += pattn__iclt_rterm(lam[i], w.tau, n);
        r.ft += e * e * sii + (double)n * g * g * (lam[i] + w.tau);
    }

    /* JT: W~ not symmetric; the risk profiled over prompts is
       sigma2bar + tr(E'E Sigma~) + n tr(W'W M~) + n tau |W|_F^2, E = nW - I, a sum of
       non-negative terms (equal to sigma2bar + tr Sigma~ - n tr(W Sigma~) at the optimum). */
    st = pattn__iclt_wjt(&w, n, A, B);
    if (st != PATTN_OK) goto done;
    for (i = 0; i < (int)dd; ++i) B[i] = (double)n * A[i];
    for (i = 0; i < d; ++i) B[(size_t)i * d + i] -= 1.0;
    pattn__iclt_mm(B, 1, B, 0, C, d);
    r.jt = w.s2bar + pattn__iclt_frob(C, w.sbar, dd);
    pattn__iclt_mm(A, 1, A, 0, C, d);
    r.jt += (double)n * pattn__iclt_frob(C, w.mm, dd) + (double)n * w.tau * pattn__iclt_frob(A, A, dd);

    /* dec: like PT with M -> Sigma-bar, tau -> tau_c */
    st = pattn__iclt_eig(w.sbar, d, lam, NULL);
    if (st != PATTN_OK) goto done;
    r.dec = w.s2bar;
    for (i = 0; i < d; ++i) r.dec += pattn__iclt_rterm(lam[i], w.tauc, n);

    /* LB: the same per task */
    r.lb = 0.0;
    for (k = 0; k < K; ++k) {
        double lk = m->noise_var ? m->noise_var[k] : 0.0;
        st = pattn__iclt_eig(w.sig + (size_t)k * dd, d, lam, NULL);
        if (st != PATTN_OK) goto done;
        for (i = 0; i < d; ++i) lk += pattn__iclt_rterm(lam[i], w.tk[k], n);
        r.lb += m->pi[k] * lk;
    }
    r.ey2 = w.tau;
    if (!pattn__finite(r.ey2) || !pattn__finite(r.pt) || !pattn__finite(r.ft) ||
        !pattn__finite(r.jt) || !pattn__finite(r.dec) || !pattn__finite(r.lb))
        st = PATTN_ENUM;
    else
        *out = r;
done:
    PATTN_FREE(w.mem);
    return st;
}

PATTN_DEF pattn_status pattn_icl_theory_iso(int d, int n, int K, const double *pi,
                                            const double *mk, const double *s, double sigma2,
                                            pattn_icl_risks *out)
{
    int k;
    double sum = 0.0, sb = 0.0, m2 = 0.0, lam1, tau, ds, d1, dn = (double)n, dd = (double)d;
    pattn_icl_risks r;
    if (!out || !pi || !s || d < 1 || n < 1 || K < 1) return PATTN_EINVAL;
    if (!pattn__finite(sigma2) || sigma2 < 0.0) return PATTN_EINVAL;
    for (k = 0; k < K; ++k) {
        if (!pattn__finite(pi[k]) || pi[k] < 0.0) return PATTN_EINVAL;
        if (!pattn__finite(s[k]) || s[k] < 0.0) return PATTN_EINVAL;
        if (mk && !pattn__finite(mk[k])) return PATTN_EINVAL;
        sum += pi[k];
    }
    if (!(fabs(sum - 1.0) <= 1e-9)) return PATTN_EINVAL;
    for (k = 0; k < K; ++k) {
        sb += pi[k] * s[k];
        if (mk) m2 += pi[k] * mk[k] * mk[k];
    }
    lam1 = sb + dd * m2;
    tau = dd * (sb + m2) + sigma2;
    ds = (dn + 1.0) * sb + tau;
    d1 = (dn + 1.0) * lam1 + tau;
    r.ey2 = tau;
    /* the spec's printed forms, kept literal so that they check the matrix code */
    r.pt = sigma2;
    if (ds > 0.0) r.pt += (dd - 1.0) * sb * (sb + tau) / ds;
    if (d1 > 0.0) r.pt += lam1 * (lam1 + tau) / d1;
    r.ft = r.pt;
    if (d1 > 0.0) r.ft -= dd * m2 * ((lam1 + tau) / d1) * ((lam1 + tau) / d1);
    r.jt = sigma2 + dd * sb;
    if (sb > 0.0) r.jt -= dn * sb * sb * ((dd - 1.0) / ds + 1.0 / (ds + dd * m2));
    r.dec = sigma2;
    if (sb > 0.0 || sigma2 > 0.0)
        r.dec += dd * sb * ((dd + 1.0) * sb + sigma2) / ((dn + 1.0 + dd) * sb + sigma2);
    r.lb = sigma2;
    for (k = 0; k < K; ++k)
        if (s[k] > 0.0 || sigma2 > 0.0)
            r.lb += pi[k] * dd * s[k] * ((dd + 1.0) * s[k] + sigma2) / ((dn + 1.0 + dd) * s[k] + sigma2);
    if (!pattn__finite(r.ey2) || !pattn__finite(r.pt) || !pattn__finite(r.ft) ||
        !pattn__finite(r.jt) || !pattn__finite(r.dec) || !pattn__finite(r.lb))
        return PATTN_ENUM;
    *out = r;
    return PATTN_OK;
}

PATTN_DEF pattn_status pattn_icl_optimum(const pattn_icl_mix *m, int n, int regime, double *W,
                                         double *b)
{
    pattn__iclt_wh w;
    pattn_status st;
    int d, K, i, k, nw;
    size_t dd;
    double *Wt, *bt, *V, *A, *lam, *f, *c, *z, thr;
    if (!W || n < 1 || regime < PATTN_ICL_PT || regime > PATTN_ICL_LB) return PATTN_EINVAL;
    st = pattn_icl_mix_check(m);
    if (st != PATTN_OK) return st;
    st = pattn__iclt_whiten(m, &w);
    if (st != PATTN_OK) return st;
    d = m->d;
    K = m->K;
    dd = (size_t)d * (size_t)d;
    nw = regime == PATTN_ICL_LB ? K : 1;
    Wt = (double *)PATTN_MALLOC(((size_t)nw * dd + (size_t)K * (size_t)d) * sizeof(double));
    if (!Wt) { PATTN_FREE(w.mem); return PATTN_ENOMEM; }
    bt = Wt + (size_t)nw * dd;
    memset(bt, 0, (size_t)K * (size_t)d * sizeof(double));
    V = w.tmp;
    A = V + dd;
    lam = w.tmp + 6 * dd;
    f = lam + d;
    c = f + d;
    z = c + d;

    switch (regime) {
    case PATTN_ICL_PT:
    case PATTN_ICL_FT:
        st = pattn__iclt_eig(w.mm, d, lam, V);
        if (st != PATTN_OK) break;
        for (i = 0; i < d; ++i) f[i] = pattn__iclt_wgain(lam[i], w.tau, n);
        pattn__iclt_vfv(V, f, Wt, d);
        if (regime == PATTN_ICL_FT && b) {
            /* b~_k = mu~_k + tau M~^+ mu~_k. mu~_k lies in range(M~) (M~ >= pi_k mu~ mu~'), so
               the pseudo-inverse is exact; a component dropped on an eigenvalue below 1e-12 of
               the largest costs at most that eigenvalue in risk. */
            thr = 1e-12 * lam[d - 1];
            for (i = 0; i < d; ++i) f[i] = lam[i] > thr && lam[i] > 0.0 ? w.tau / lam[i] : 0.0;
            for (k = 0; k < K; ++k) {
                double *mu = w.mu + (size_t)k * d, *bk = bt + (size_t)k * d;
                pattn__iclt_mv(V, 1, mu, c, d);
                for (i = 0; i < d; ++i) c[i] *= f[i];
                pattn__iclt_mv(V, 0, c, bk, d);
                for (i = 0; i < d; ++i) bk[i] += mu[i];
            }
        }
        break;
    case PATTN_ICL_JT:
        st = pattn__iclt_wjt(&w, n, Wt, A);
        if (st != PATTN_OK || !b) break;
        /* b~_k = mu~_k + (M~_mu + tau I) Sigma~^+ mu~_k; it attains L_JT iff every mu~_k lies in
           range(Sigma~) (then W~ b~_k = (I - n W~) mu~_k exactly) */
        st = pattn__iclt_eig(w.sbar, d, lam, V);
        if (st != PATTN_OK) break;
        thr = 1e-12 * lam[d - 1];
        for (k = 0; k < K && st == PATTN_OK; ++k) {
            double *mu = w.mu + (size_t)k * d, *bk = bt + (size_t)k * d;
            double nmu = sqrt(pattn__iclt_frob(mu, mu, (size_t)d));
            pattn__iclt_mv(V, 1, mu, c, d);
            for (i = 0; i < d; ++i) {
                if (lam[i] > thr && lam[i] > 0.0) c[i] /= lam[i];
                else if (fabs(c[i]) > 1e-8 * nmu) st = PATTN_ENUM; /* infimum not attained */
                else c[i] = 0.0;
            }
            pattn__iclt_mv(V, 0, c, z, d);
            pattn__iclt_mv(w.mmu, 0, z, bk, d);
            for (i = 0; i < d; ++i) bk[i] += mu[i] + w.tau * z[i];
        }
        break;
    case PATTN_ICL_DEC:
        st = pattn__iclt_eig(w.sbar, d, lam, V);
        if (st != PATTN_OK) break;
        for (i = 0; i < d; ++i) f[i] = pattn__iclt_wgain(lam[i], w.tauc, n);
        pattn__iclt_vfv(V, f, Wt, d);
        break;
    default: /* PATTN_ICL_LB */
        for (k = 0; k < K && st == PATTN_OK; ++k) {
            st = pattn__iclt_eig(w.sig + (size_t)k * dd, d, lam, V);
            if (st != PATTN_OK) break;
            for (i = 0; i < d; ++i) f[i] = pattn__iclt_wgain(lam[i], w.tk[k], n);
            pattn__iclt_vfv(V, f, Wt + (size_t)k * dd, d);
        }
        break;
    }
    if (st == PATTN_OK) {
        /* back to the caller's coordinates: W = S^{-1/2} W~ S^{-1/2}, b = S^{1/2} b~ */
        for (k = 0; k < nw; ++k) {
            pattn__iclt_mm(w.sih, 0, Wt + (size_t)k * dd, 0, A, d);
            pattn__iclt_mm(A, 0, w.sih, 0, Wt + (size_t)k * dd, d);
        }
        if (b) {
            if (regime == PATTN_ICL_FT || regime == PATTN_ICL_JT) {
                for (k = 0; k < K; ++k) {
                    memcpy(c, bt + (size_t)k * d, (size_t)d * sizeof(double));
                    pattn__iclt_mv(w.sh, 0, c, bt + (size_t)k * d, d);
                }
            } else if ((regime == PATTN_ICL_DEC || regime == PATTN_ICL_LB) && m->mu) {
                memcpy(bt, m->mu, (size_t)K * (size_t)d * sizeof(double));
            }
        }
        if (!pattn__all_finite_f64(Wt, (size_t)nw * dd + (size_t)K * (size_t)d)) st = PATTN_ENUM;
    }
    if (st == PATTN_OK) {
        memcpy(W, Wt, (size_t)nw * dd * sizeof(double));
        if (b) memcpy(b, bt, (size_t)K * (size_t)d * sizeof(double));
    }
    PATTN_FREE(Wt);
    PATTN_FREE(w.mem);
    return st;
}

/* ---- exact risk of any parameters -------------------------------------------------------- */

/* Per-W pieces of the risk, in the caller's coordinates: E = nWS - I, P1 = E'SE,
   P2 = S W'SW S, *trA = tr(W'SW S). Scratch t1, t2: d*d each. */
static void pattn__iclt_prep(const double *S, const double *W, int d, int n, double *E,
                             double *P1, double *P2, double *trA, double *t1, double *t2)
{
    int i;
    size_t dd = (size_t)d * (size_t)d;
    pattn__iclt_mm(S, 0, W, 0, t1, d);  /* SW */
    pattn__iclt_mm(W, 1, t1, 0, t2, d); /* A = W'SW */
    *trA = pattn__iclt_frob(t2, S, dd);
    pattn__iclt_mm(S, 0, t2, 0, t1, d);
    pattn__iclt_mm(t1, 0, S, 0, P2, d);
    pattn__iclt_mm(W, 0, S, 0, t1, d);
    for (i = 0; i < (int)dd; ++i) E[i] = (double)n * t1[i];
    for (i = 0; i < d; ++i) E[(size_t)i * d + i] -= 1.0;
    pattn__iclt_mm(S, 0, E, 0, t1, d);
    pattn__iclt_mm(E, 1, t1, 0, P1, d);
}

/* Risk of task k, split as E[(W g - beta)'S(W g - beta)] + sigma^2 with g = X'y + b into the
   mean part (nWS - I)beta + W b, the Wishart fluctuation W(X'X - nS)beta and the noise
   W X'xi, which are uncorrelated: every term is a non-negative quadratic form. mu, bk may be
   NULL (zero). Scratch v, u: d each. */
static double pattn__iclt_task(const double *S, const double *W, const double *E,
                               const double *P1, const double *P2, double trA,
                               const double *Sig, const double *mu, const double *bk,
                               double s2, int d, int n, double *v, double *u)
{
    int i;
    size_t dd = (size_t)d * (size_t)d;
    double trSR = pattn__iclt_frob(S, Sig, dd);
    double t1 = pattn__iclt_frob(P1, Sig, dd), t3 = pattn__iclt_frob(P2, Sig, dd);
    memset(v, 0, (size_t)d * sizeof(double));
    if (mu) {
        trSR += pattn__iclt_quad(S, mu, d);
        t3 += pattn__iclt_quad(P2, mu, d);
        pattn__iclt_mv(E, 0, mu, v, d);
    }
    if (bk) {
        pattn__iclt_mv(W, 0, bk, u, d);
        for (i = 0; i < d; ++i) v[i] += u[i];
    }
    return s2 + t1 + pattn__iclt_quad(S, v, d) + (double)n * t3 + (double)n * trA * (trSR + s2);
}

/* shared by pattn_icl_risk (centred = 0) and pattn_icl_risk_pgd (centred = 1) */
static pattn_status pattn__iclt_risk(const pattn_icl_mix *m, int n, const double *W, int nw,
                                     const double *b, int centred, double *risk_k, double *risk)
{
    int d, K, k;
    size_t dd;
    double *S, *E, *P1, *P2, *t1, *t2, *v, *u, *rk, trA = 0.0, tot = 0.0;
    pattn_status st;
    if (!W || !risk || n < 1) return PATTN_EINVAL;
    st = pattn_icl_mix_check(m);
    if (st != PATTN_OK) return st;
    d = m->d;
    K = m->K;
    dd = (size_t)d * (size_t)d;
    if (!pattn__all_finite_f64(W, (size_t)nw * dd)) return PATTN_EINVAL;
    if (b && !pattn__all_finite_f64(b, (size_t)K * (size_t)d)) return PATTN_EINVAL;
    S = (double *)PATTN_MALLOC((6 * dd + 2 * (size_t)d + (size_t)K) * sizeof(double));
    if (!S) return PATTN_ENOMEM;
    E = S + dd;
    P1 = E + dd;
    P2 = P1 + dd;
    t1 = P2 + dd;
    t2 = t1 + dd;
    v = t2 + dd;
    u = v + d;
    rk = u + d;
    if (m->cov_x) memcpy(S, m->cov_x, dd * sizeof(double));
    else pattn__iclt_eye(S, d);
    for (k = 0; k < K; ++k) {
        const double *Wk = W + (nw > 1 ? (size_t)k * dd : 0);
        const double *mu = m->mu && !centred ? m->mu + (size_t)k * d : NULL;
        const double *bk = b ? b + (size_t)k * d : NULL;
        if (k == 0 || nw > 1) pattn__iclt_prep(S, Wk, d, n, E, P1, P2, &trA, t1, t2);
        rk[k] = pattn__iclt_task(S, Wk, E, P1, P2, trA, m->cov_beta + (size_t)k * dd, mu, bk,
                                 m->noise_var ? m->noise_var[k] : 0.0, d, n, v, u);
        tot += m->pi[k] * rk[k];
    }
    if (!pattn__all_finite_f64(rk, (size_t)K) || !pattn__finite(tot)) {
        st = PATTN_ENUM;
    } else {
        if (risk_k) memcpy(risk_k, rk, (size_t)K * sizeof(double));
        *risk = tot;
    }
    PATTN_FREE(S);
    return st;
}

PATTN_DEF pattn_status pattn_icl_risk(const pattn_icl_mix *m, int n, const double *W,
                                      const double *b, double *risk_k, double *risk)
{
    return pattn__iclt_risk(m, n, W, 1, b, 0, risk_k, risk);
}

PATTN_DEF pattn_status pattn_icl_risk_pgd(const pattn_icl_mix *m, int n, const double *W,
                                          int per_task, double *risk_k, double *risk)
{
    if (!m || (per_task != 0 && per_task != 1)) return PATTN_EINVAL;
    return pattn__iclt_risk(m, n, W, per_task ? (m->K > 0 ? m->K : 1) : 1, NULL, 1, risk_k, risk);
}
