/* icl_models impl: part of prompt_attn.h during development; inlined at release */

/* ==== paper 2 models: reduced, known-mean PGD, LinearAttn ================================== */

/* regimes by number (the closed forms' PATTN_ICL_PT .. PATTN_ICL_LB) */
enum { PATTN__ICL_PT = 0, PATTN__ICL_FT = 1, PATTN__ICL_JT = 2, PATTN__ICL_DEC = 3, PATTN__ICL_LB = 4 };

/* sizes a model or a sample may have: every d*d*K and (n+2)*(d+1) product fits an int */
static int pattn__icl_size_ok(int d, int K, int n)
{
    double dd = (double)d + 1.0;
    if (d < 1 || K < 1 || n < 0) return 0;
    return dd * dd * (double)K * 4.0 < 2.0e9 && ((double)n + 2.0) * dd * 4.0 < 2.0e9;
}

static int pattn__icl_np(int type, int d, int K, int m)
{
    int D = d + 1;
    switch (type) {
    case PATTN_ICL_REDUCED: return d * d + K * d;
    case PATTN_ICL_PGD: return d * d;
    case PATTN_ICL_PGD_TASK: return K * d * d;
    default: return 3 * D * D + K * m * D + K * D;
    }
}

/* point the named parameter blocks into theta */
static void pattn__icl_model_layout(pattn_icl_model *md)
{
    int d = md->d, K = md->K, D = d + 1;
    double *t = md->theta;
    md->W = md->b = md->Wq = md->Wk = md->Wv = md->P = md->h = NULL;
    if (md->type == PATTN_ICL_FULL) {
        md->Wq = t;
        md->Wk = t + D * D;
        md->Wv = t + 2 * D * D;
        md->P = t + 3 * D * D;
        md->h = md->P + K * md->m * D;
    } else {
        md->W = t;
        if (md->type == PATTN_ICL_REDUCED) md->b = t + d * d;
    }
}

static void pattn__icl_full_default(pattn_icl_model *md)
{
    int D = md->d + 1, i, k, j;
    memset(md->theta, 0, (size_t)md->np * sizeof(double));
    for (i = 0; i < D; ++i) md->Wq[i * D + i] = md->Wk[i * D + i] = md->Wv[i * D + i] = 1.0;
    for (k = 0; k < md->K; ++k) {
        for (j = 0; j < md->m; ++j) md->P[(k * md->m + j) * D + D - 1] = 1.0;
        md->h[k * D + D - 1] = 1.0;
    }
}

PATTN_DEF pattn_status pattn_icl_model_create(const pattn_icl_mix *m, int type, int m_prompts,
                                              pattn_icl_model **out)
{
    pattn_icl_model *md;
    pattn_status st;
    int np;
    if (!out || !m) return PATTN_EINVAL;
    st = pattn_icl_mix_check(m);
    if (st != PATTN_OK) return st;
    if (type < PATTN_ICL_REDUCED || type > PATTN_ICL_FULL) return PATTN_EINVAL;
    if (type != PATTN_ICL_FULL && m_prompts != 0) return PATTN_EINVAL;
    if (m_prompts < 0 || m_prompts > 4096) return PATTN_EINVAL;
    if (type == PATTN_ICL_FULL && m_prompts == 0) m_prompts = 1;
    if (!pattn__icl_size_ok(m->d, m->K, 0) || ((double)m->d + 1.0) * m->K * (m_prompts + 4.0) * 4.0 >= 2.0e9)
        return PATTN_EINVAL;
    np = pattn__icl_np(type, m->d, m->K, m_prompts);
    md = (pattn_icl_model *)PATTN_MALLOC(sizeof *md);
    if (!md) return PATTN_ENOMEM;
    md->theta = (double *)PATTN_MALLOC(((size_t)np + (size_t)m->K * (size_t)m->d) * sizeof(double));
    if (!md->theta) { PATTN_FREE(md); return PATTN_ENOMEM; }
    md->type = type;
    md->d = m->d;
    md->K = m->K;
    md->m = type == PATTN_ICL_FULL ? m_prompts : 0;
    md->np = np;
    md->mu = md->theta + np;
    if (m->mu) memcpy(md->mu, m->mu, (size_t)m->K * (size_t)m->d * sizeof(double));
    else memset(md->mu, 0, (size_t)m->K * (size_t)m->d * sizeof(double));
    pattn__icl_model_layout(md);
    if (type == PATTN_ICL_FULL) pattn__icl_full_default(md);
    else memset(md->theta, 0, (size_t)np * sizeof(double));
    *out = md;
    return PATTN_OK;
}

PATTN_DEF void pattn_icl_model_free(pattn_icl_model *mdl)
{
    if (!mdl) return;
    PATTN_FREE(mdl->theta);
    PATTN_FREE(mdl);
}

static int pattn__icl_model_ok(const pattn_icl_model *md)
{
    return md && md->theta && md->d >= 1 && md->K >= 1 && md->type >= PATTN_ICL_REDUCED &&
           md->type <= PATTN_ICL_FULL && md->np == pattn__icl_np(md->type, md->d, md->K, md->m) &&
           (md->type != PATTN_ICL_FULL || md->m >= 1);
}

PATTN_DEF pattn_status pattn_icl_model_init(pattn_icl_model *mdl, int n, uint64_t seed)
{
    pattn_rng r;
    int D, i, k, j;
    double c;
    if (!pattn__icl_model_ok(mdl) || n < 1) return PATTN_EINVAL;
    if (mdl->type != PATTN_ICL_FULL) {
        memset(mdl->theta, 0, (size_t)mdl->np * sizeof(double));
        return PATTN_OK;
    }
    D = mdl->d + 1;
    pattn__icl_full_default(mdl);
    pattn_rng_seed(&r, seed);
    c = sqrt(sqrt((double)D) / (double)(n + 1));
    for (i = 0; i < D * D; ++i) {
        mdl->Wq[i] = c * (mdl->Wq[i] + 0.01 * pattn_rng_normal_f64(&r));
        mdl->Wk[i] = c * (mdl->Wk[i] + 0.01 * pattn_rng_normal_f64(&r));
        mdl->Wv[i] += 0.01 * pattn_rng_normal_f64(&r);
    }
    for (k = 0; k < mdl->K; ++k)
        for (j = 0; j < mdl->m; ++j)
            for (i = 0; i < D; ++i) mdl->P[(k * mdl->m + j) * D + i] += 0.1 * pattn_rng_normal_f64(&r);
    return PATTN_OK;
}

/* Q = Wq' Wk / sqrt(D), and V_k = Wv' h_k for every task */
static void pattn__icl_full_qv(const pattn_icl_model *md, double *Q, double *V)
{
    int D = md->d + 1, a, b, c, k;
    double isq = 1.0 / sqrt((double)D);
    for (a = 0; a < D; ++a)
        for (b = 0; b < D; ++b) {
            double s = 0.0;
            for (c = 0; c < D; ++c) s += md->Wq[c * D + a] * md->Wk[c * D + b];
            Q[a * D + b] = s * isq;
        }
    for (k = 0; k < md->K; ++k)
        for (a = 0; a < D; ++a) {
            double s = 0.0;
            for (c = 0; c < D; ++c) s += md->Wv[c * D + a] * md->h[k * D + c];
            V[k * D + a] = s;
        }
}

/* The FULL gradient from its batch statistics, for yhat = r' A V_k with r = Q'[x;0]:
   G = sum e~ [x;0] (A V_k)' (D*D, gradient w.r.t. Q), E_k = sum_{task k} e~ A r,
   H_k = sum_{task k} e~ [x;0], where e~ = 2 w (yhat - y). Then
   dWq = Wk G'/sqrt(D), dWk = Wq G/sqrt(D), dWv = sum_k h_k E_k', dh_k = Wv E_k, and for a
   prompt token p of task k (A holds p p'): dp = R_k (V_k'p) + V_k (R_k'p), R_k = Q' H_k. */
static void pattn__icl_full_grad(const pattn_icl_model *md, const double *Q, const double *V,
                                 const double *G, const double *E, const double *H, double *R,
                                 double *grad)
{
    int d = md->d, D = d + 1, K = md->K, m = md->m, a, b, c, k, j;
    double isq = 1.0 / sqrt((double)D);
    double *gq = grad, *gk = grad + D * D, *gv = grad + 2 * D * D, *gp = grad + 3 * D * D;
    double *gh = gp + K * m * D;
    for (c = 0; c < D; ++c)
        for (a = 0; a < D; ++a) {
            double sq = 0.0, sk = 0.0, sv = 0.0;
            for (b = 0; b < D; ++b) {
                sq += md->Wk[c * D + b] * G[a * D + b];
                sk += md->Wq[c * D + b] * G[b * D + a];
            }
            for (k = 0; k < K; ++k) sv += md->h[k * D + c] * E[k * D + a];
            gq[c * D + a] = sq * isq;
            gk[c * D + a] = sk * isq;
            gv[c * D + a] = sv;
        }
    for (k = 0; k < K; ++k) {
        const double *Vk = V + k * D, *Hk = H + k * D;
        for (c = 0; c < D; ++c) {
            double s = 0.0;
            for (b = 0; b < D; ++b) s += md->Wv[c * D + b] * E[k * D + b];
            gh[k * D + c] = s;
        }
        for (b = 0; b < D; ++b) {
            double s = 0.0;
            for (a = 0; a < d; ++a) s += Q[a * D + b] * Hk[a];
            R[b] = s;
        }
        for (j = 0; j < m; ++j) {
            const double *p = md->P + (k * m + j) * D;
            double vp = 0.0, rp = 0.0;
            for (b = 0; b < D; ++b) {
                vp += Vk[b] * p[b];
                rp += R[b] * p[b];
            }
            for (b = 0; b < D; ++b) gp[(k * m + j) * D + b] = R[b] * vp + Vk[b] * rp;
        }
    }
}

PATTN_DEF pattn_status pattn_icl_loss_grad(const pattn_icl_model *mdl, int n, int batch,
                                           const float *X, const float *y, const float *xq,
                                           const float *yq, const int *task, const double *wk,
                                           double *yhat, double *loss, double *grad)
{
    int d, D, K, i, a, b, c, t, k;
    size_t nw;
    double *w, *s, *u, *av, *cv, *Q, *A, *G, *V, *E, *H;
    double L = 0.0;
    if (!pattn__icl_model_ok(mdl) || n < 1 || batch < 1 || !X || !y || !xq || !yq) return PATTN_EINVAL;
    d = mdl->d;
    D = d + 1;
    K = mdl->K;
    if (!pattn__icl_size_ok(d, K, n)) return PATTN_EINVAL;
    if (!pattn__all_finite_f64(mdl->theta, (size_t)mdl->np) || !pattn__all_finite_f64(mdl->mu, (size_t)K * d))
        return PATTN_EINVAL;
    if (wk && !pattn__all_finite_f64(wk, (size_t)K)) return PATTN_EINVAL;
    if (task)
        for (i = 0; i < batch; ++i)
            if (task[i] < 0 || task[i] >= K) return PATTN_EINVAL;
    nw = 4 * (size_t)D + 3 * (size_t)D * D + 3 * (size_t)K * D;
    w = (double *)PATTN_MALLOC(nw * sizeof(double));
    if (!w) return PATTN_ENOMEM;
    memset(w, 0, nw * sizeof(double));
    s = w;           /* REDUCED/PGD: X'y + b_k or X'(y - X mu_k); FULL: r = Q'[x;0] */
    u = s + D;       /* FULL: A r */
    av = u + D;      /* REDUCED/PGD: W' x */
    cv = av + D;     /* FULL: A V_k */
    Q = cv + D;
    A = Q + (size_t)D * D;
    G = A + (size_t)D * D;
    V = G + (size_t)D * D;
    E = V + (size_t)K * D;
    H = E + (size_t)K * D;
    if (mdl->type == PATTN_ICL_FULL) pattn__icl_full_qv(mdl, Q, V);
    if (grad) memset(grad, 0, (size_t)mdl->np * sizeof(double));
    for (i = 0; i < batch; ++i) {
        const float *Xi = X + (size_t)i * n * d, *yi = y + (size_t)i * n, *xi = xq + (size_t)i * d;
        double yh = 0.0, e, ew, wi;
        k = task ? task[i] : 0;
        wi = wk ? wk[k] : 1.0 / batch;
        if (mdl->type != PATTN_ICL_FULL) {
            const double *mu = mdl->mu + k * d;
            const double *W = mdl->W + (mdl->type == PATTN_ICL_PGD_TASK ? (size_t)k * d * d : 0);
            for (c = 0; c < d; ++c) s[c] = 0.0;
            for (t = 0; t < n; ++t) {
                double rt = yi[t];
                if (mdl->type != PATTN_ICL_REDUCED)
                    for (c = 0; c < d; ++c) rt -= (double)Xi[t * d + c] * mu[c];
                for (c = 0; c < d; ++c) s[c] += (double)Xi[t * d + c] * rt;
            }
            if (mdl->type == PATTN_ICL_REDUCED)
                for (c = 0; c < d; ++c) s[c] += mdl->b[k * d + c];
            else
                for (c = 0; c < d; ++c) yh += (double)xi[c] * mu[c];
            for (c = 0; c < d; ++c) {
                double acc = 0.0;
                for (a = 0; a < d; ++a) acc += (double)xi[a] * W[a * d + c];
                av[c] = acc;
            }
            for (c = 0; c < d; ++c) yh += av[c] * s[c];
            e = yh - (double)yq[i];
            ew = 2.0 * wi * e;
            if (grad) {
                double *gW = grad + (mdl->type == PATTN_ICL_PGD_TASK ? (size_t)k * d * d : 0);
                for (a = 0; a < d; ++a)
                    for (c = 0; c < d; ++c) gW[a * d + c] += ew * xi[a] * s[c];
                if (mdl->type == PATTN_ICL_REDUCED)
                    for (c = 0; c < d; ++c) grad[d * d + k * d + c] += ew * av[c];
            }
        } else {
            const double *Vk = V + k * D;
            for (a = 0; a < D * D; ++a) A[a] = 0.0;
            for (t = 0; t < n; ++t)
                for (a = 0; a < D; ++a) {
                    double za = a < d ? (double)Xi[t * d + a] : (double)yi[t];
                    for (b = 0; b < D; ++b) A[a * D + b] += za * (b < d ? (double)Xi[t * d + b] : (double)yi[t]);
                }
            for (t = 0; t < mdl->m; ++t) {
                const double *p = mdl->P + (k * mdl->m + t) * D;
                for (a = 0; a < D; ++a)
                    for (b = 0; b < D; ++b) A[a * D + b] += p[a] * p[b];
            }
            for (a = 0; a < D; ++a) {
                double acc = 0.0;
                for (b = 0; b < D; ++b) acc += A[a * D + b] * Vk[b];
                cv[a] = acc;
            }
            for (b = 0; b < D; ++b) {
                double acc = 0.0;
                for (a = 0; a < d; ++a) acc += (double)xi[a] * Q[a * D + b];
                s[b] = acc;
            }
            for (b = 0; b < D; ++b) yh += s[b] * cv[b];
            e = yh - (double)yq[i];
            ew = 2.0 * wi * e;
            if (grad) {
                for (a = 0; a < D; ++a) {
                    double acc = 0.0;
                    for (b = 0; b < D; ++b) acc += A[a * D + b] * s[b];
                    u[a] = acc;
                }
                for (a = 0; a < d; ++a)
                    for (b = 0; b < D; ++b) G[a * D + b] += ew * xi[a] * cv[b];
                for (a = 0; a < D; ++a) E[k * D + a] += ew * u[a];
                for (a = 0; a < d; ++a) H[k * D + a] += ew * xi[a];
            }
        }
        L += wi * e * e;
        if (yhat) yhat[i] = yh;
    }
    if (grad && mdl->type == PATTN_ICL_FULL) pattn__icl_full_grad(mdl, Q, V, G, E, H, u, grad);
    if (loss) *loss = L;
    PATTN_FREE(w);
    return PATTN_OK;
}

/* Solve W x = rhs (d x d, row-major) by Gaussian elimination with partial pivoting; work
   holds d*d + d doubles. 0 if W is singular to working precision. */
static int pattn__icl_solve(const double *W, int d, const double *rhs, double *x, double *work)
{
    double *a = work, *v = work + (size_t)d * d, mx = 0.0;
    int i, j, c, p;
    memcpy(a, W, (size_t)d * d * sizeof(double));
    memcpy(v, rhs, (size_t)d * sizeof(double));
    for (i = 0; i < d * d; ++i) mx = fabs(a[i]) > mx ? fabs(a[i]) : mx;
    if (!(mx > 0.0)) return 0;
    for (c = 0; c < d; ++c) {
        p = c;
        for (i = c + 1; i < d; ++i)
            if (fabs(a[i * d + c]) > fabs(a[p * d + c])) p = i;
        if (!(fabs(a[p * d + c]) > 1e-13 * mx)) return 0;
        if (p != c) {
            double tv = v[p];
            v[p] = v[c];
            v[c] = tv;
            for (j = 0; j < d; ++j) {
                double t = a[p * d + j];
                a[p * d + j] = a[c * d + j];
                a[c * d + j] = t;
            }
        }
        for (i = c + 1; i < d; ++i) {
            double f = a[i * d + c] / a[c * d + c];
            for (j = c; j < d; ++j) a[i * d + j] -= f * a[c * d + j];
            v[i] -= f * v[c];
        }
    }
    for (i = d - 1; i >= 0; --i) {
        double s = v[i];
        for (j = i + 1; j < d; ++j) s -= a[i * d + j] * x[j];
        x[i] = s / a[i * d + i];
    }
    return 1;
}

/* Wq = sqrt(D) blk(W, 0)', Wk = Wv = I: then Q = Wq'Wk/sqrt(D) = blk(W, 0) */
static void pattn__icl_full_set_w(pattn_icl_model *f, const double *W)
{
    int d = f->d, D = d + 1, i, j;
    double sq = sqrt((double)D);
    memset(f->theta, 0, (size_t)f->np * sizeof(double));
    for (i = 0; i < d; ++i)
        for (j = 0; j < d; ++j) f->Wq[i * D + j] = sq * W[j * d + i];
    for (i = 0; i < D; ++i) f->Wk[i * D + i] = f->Wv[i * D + i] = 1.0;
}

PATTN_DEF pattn_status pattn_icl_full_from_reduced(pattn_icl_model *full, const double *W,
                                                   const double *b)
{
    int d, D, k, c;
    if (!pattn__icl_model_ok(full) || full->type != PATTN_ICL_FULL || !W) return PATTN_EINVAL;
    d = full->d;
    D = d + 1;
    if (!pattn__all_finite_f64(W, (size_t)d * d)) return PATTN_EINVAL;
    if (b && !pattn__all_finite_f64(b, (size_t)full->K * d)) return PATTN_EINVAL;
    pattn__icl_full_set_w(full, W);
    for (k = 0; k < full->K; ++k) {
        double *p = full->P + (size_t)k * full->m * D;
        full->h[k * D + d] = 1.0;
        if (b) {
            for (c = 0; c < d; ++c) p[c] = b[k * d + c];
            p[d] = 1.0;
        }
    }
    return PATTN_OK;
}

PATTN_DEF pattn_status pattn_icl_full_from_pgd(pattn_icl_model *full, const double *W)
{
    int d, D, K, k, c;
    double *work, *px;
    if (!pattn__icl_model_ok(full) || full->type != PATTN_ICL_FULL || !W) return PATTN_EINVAL;
    d = full->d;
    D = d + 1;
    K = full->K;
    if (!pattn__all_finite_f64(W, (size_t)d * d)) return PATTN_EINVAL;
    work = (double *)PATTN_MALLOC(((size_t)d * d + (size_t)d + (size_t)K * d) * sizeof(double));
    if (!work) return PATTN_ENOMEM;
    px = work + (size_t)d * d + d;
    /* every solve before the first write: a singular W leaves the model untouched */
    for (k = 0; k < K; ++k)
        if (!pattn__icl_solve(W, d, full->mu + k * d, px + k * d, work)) {
            PATTN_FREE(work);
            return PATTN_ENUM;
        }
    pattn__icl_full_set_w(full, W);
    for (k = 0; k < K; ++k) {
        double *p = full->P + (size_t)k * full->m * D, pm = 0.0;
        const double *mu = full->mu + k * d;
        for (c = 0; c < d; ++c) {
            p[c] = px[k * d + c];
            pm += px[k * d + c] * mu[c];
            full->h[k * D + c] = -mu[c];
        }
        p[d] = 1.0 + pm;
        full->h[k * D + d] = 1.0;
    }
    PATTN_FREE(work);
    return PATTN_OK;
}

/* ==== paper 2 generator: multi-task in-context regression ================================= */

/* Float work is laid out in runs padded with zeros to a multiple of 8 (d8, n8, D8), so
   every loop runs whole 8-lane chunks: no masked loads or stores in the hot loops. */
PATTN__INLINE int pattn__icl_r8(int x) { return (x + 7) & ~7; }

static const float pattn__icl_iota[8] = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f};

/* the 8 floats at p with lanes >= rem zeroed (p may run past the valid data: it is read,
   never used) */
PATTN__INLINE pattn__f8 pattn__icl_load_head(const float *p, int rem)
{
    return pattn__f8_select_lt(pattn__f8_load(pattn__icl_iota), pattn__f8_set1((float)rem),
                               pattn__f8_load(p), pattn__f8_zero());
}

/* dst[0 .. r8(len)) = src[0 .. len) then zeros */
PATTN__INLINE void pattn__icl_copy_pad(float *dst, const float *src, int len)
{
    int j = 0;
    for (; j + 8 <= len; j += 8) pattn__f8_store(dst + j, pattn__f8_load(src + j));
    if (j < len) pattn__f8_store(dst + j, pattn__icl_load_head(src + j, len - j));
}

PATTN__INLINE float pattn__icl_dot8(const float *x, const float *y, int len8)
{
    pattn__f8 acc = pattn__f8_zero();
    int j;
    for (j = 0; j < len8; j += 8) acc = pattn__f8_fma(pattn__f8_load(x + j), pattn__f8_load(y + j), acc);
    return pattn__f8_hsum(acc);
}

/* out[c] = rows[c] . v over len8 for c < 8: eight accumulators in registers, reduced by one
   transposing hsum8 (the same additions as eight separate dots) */
PATTN__INLINE pattn__f8 pattn__icl_dot8x8(const float *const *r, const float *v, int len8)
{
    pattn__f8 a0 = pattn__f8_zero(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, vv;
    int j;
    for (j = 0; j < len8; j += 8) {
        vv = pattn__f8_load(v + j);
        a0 = pattn__f8_fma(pattn__f8_load(r[0] + j), vv, a0);
        a1 = pattn__f8_fma(pattn__f8_load(r[1] + j), vv, a1);
        a2 = pattn__f8_fma(pattn__f8_load(r[2] + j), vv, a2);
        a3 = pattn__f8_fma(pattn__f8_load(r[3] + j), vv, a3);
        a4 = pattn__f8_fma(pattn__f8_load(r[4] + j), vv, a4);
        a5 = pattn__f8_fma(pattn__f8_load(r[5] + j), vv, a5);
        a6 = pattn__f8_fma(pattn__f8_load(r[6] + j), vv, a6);
        a7 = pattn__f8_fma(pattn__f8_load(r[7] + j), vv, a7);
    }
    return pattn__f8_hsum8(a0, a1, a2, a3, a4, a5, a6, a7);
}

/* out[c] = X_c . v (c < d, X_c = X + c*ld), then (with_y) out[d] = y . v, and 0 up to the
   next multiple of 8 (zero rows from `zero`, len8 zeros) */
PATTN__INLINE void pattn__icl_dots(const float *X, size_t ld, int d, const float *y, int with_y,
                                   const float *zero, const float *v, int len8, float *out)
{
    int rows = d + (with_y != 0), c0, c;
    const float *r[8];
    for (c0 = 0; c0 < rows; c0 += 8) {
        for (c = 0; c < 8; ++c) r[c] = c0 + c < d ? X + (size_t)(c0 + c) * ld : c0 + c < rows ? y : zero;
        pattn__f8_store(out + c0, pattn__icl_dot8x8(r, v, len8));
    }
}

PATTN__INLINE void pattn__icl_axpy8(int len8, float a, const float *x, float *y)
{
    pattn__f8 va = pattn__f8_set1(a);
    int j;
    for (j = 0; j < len8; j += 8) pattn__f8_store(y + j, pattn__f8_fma(va, pattn__f8_load(x + j), pattn__f8_load(y + j)));
}

/* out[0 .. len8) = sum_a c[a] M[a*ld ..], a < rows: the chunk sum stays in a register */
PATTN__INLINE void pattn__icl_comb8(int rows, const float *c, const float *M, int ld, int len8, float *out)
{
    int a, j;
    for (j = 0; j < len8; j += 8) {
        pattn__f8 acc = pattn__f8_zero();
        for (a = 0; a < rows; ++a) acc = pattn__f8_fma(pattn__f8_set1(c[a]), pattn__f8_load(M + (size_t)a * ld + j), acc);
        pattn__f8_store(out + j, acc);
    }
}

PATTN_DEF void pattn_icl_gen_free(pattn_icl_gen *g)
{
    if (!g) return;
    PATTN_FREE(g->pi); /* every double array lives in this one block */
    PATTN_FREE(g->f_mu); /* and every float array (and diag) in this one */
    PATTN_FREE(g);
}

PATTN_DEF pattn_status pattn_icl_gen_create(const pattn_icl_mix *m, pattn_icl_gen **out)
{
    pattn_icl_gen *g;
    pattn_status st;
    size_t d, K, dd, d8, nd, nf, i, j, k;
    double *w, *V, acc = 0.0;
    if (!out || !m) return PATTN_EINVAL;
    st = pattn_icl_mix_check(m);
    if (st != PATTN_OK) return st;
    if (!pattn__icl_size_ok(m->d, m->K, 0)) return PATTN_EINVAL;
    d = (size_t)m->d;
    K = (size_t)m->K;
    dd = d * d;
    d8 = (size_t)pattn__icl_r8(m->d);
    g = (pattn_icl_gen *)PATTN_MALLOC(sizeof *g);
    if (!g) return PATTN_ENOMEM;
    memset(g, 0, sizeof *g);
    nd = K + K * d + K * dd + K + dd + dd + K * dd + K + d + dd; /* + eigen work */
    nf = K * d8 + K * d * d8 + K * d8 + dd + K + K; /* + diag flags (int-sized) */
    g->pi = (double *)PATTN_MALLOC(nd * sizeof(double));
    g->f_mu = (float *)PATTN_MALLOC(nf * sizeof(float));
    if (!g->pi || !g->f_mu) { pattn_icl_gen_free(g); return PATTN_ENOMEM; }
    memset(g->f_mu, 0, nf * sizeof(float));
    g->d = m->d;
    g->K = m->K;
    g->mu = g->pi + K;
    g->cov_beta = g->mu + K * d;
    g->noise_var = g->cov_beta + K * dd;
    g->cov_x = g->noise_var + K;
    g->chol_x = g->cov_x + dd;
    g->fac_beta = g->chol_x + dd;
    g->cum_pi = g->fac_beta + K * dd;
    w = g->cum_pi + K;
    V = w + d;
    g->f_fac = g->f_mu + K * d8;
    g->f_diag = g->f_fac + K * d * d8;
    g->f_chol = g->f_diag + K * d8;
    g->f_sigma = g->f_chol + dd;
    g->diag = (int *)(void *)(g->f_sigma + K);
    memcpy(g->pi, m->pi, K * sizeof(double));
    if (m->mu) memcpy(g->mu, m->mu, K * d * sizeof(double));
    else memset(g->mu, 0, K * d * sizeof(double));
    memcpy(g->cov_beta, m->cov_beta, K * dd * sizeof(double));
    if (m->noise_var) memcpy(g->noise_var, m->noise_var, K * sizeof(double));
    else memset(g->noise_var, 0, K * sizeof(double));
    g->x_identity = 1;
    for (i = 0; i < d; ++i)
        for (j = 0; j < d; ++j) {
            double v = m->cov_x ? m->cov_x[i * d + j] : (double)(i == j);
            g->cov_x[i * d + j] = v;
            if (v != (double)(i == j)) g->x_identity = 0;
        }
    memcpy(g->chol_x, g->cov_x, dd * sizeof(double));
    st = pattn_chol(g->chol_x, (int)d);
    for (k = 0; k < K && st == PATTN_OK; ++k) {
        const double *S = g->cov_beta + k * dd;
        double *F = g->fac_beta + k * dd;
        int diag = 1;
        for (i = 0; i < d; ++i)
            for (j = 0; j < d; ++j)
                if (i != j && S[i * d + j] != 0.0) diag = 0;
        g->diag[k] = diag;
        if (diag) { /* the common Sigma_k = c I or diagonal: an elementwise product */
            memset(F, 0, dd * sizeof(double));
            for (i = 0; i < d; ++i) F[i * d + i] = sqrt(S[i * d + i] > 0.0 ? S[i * d + i] : 0.0);
            continue;
        }
        st = pattn_sym_eig(S, (int)d, w, V);
        /* F = V diag(sqrt(max(w, 0))): rounding-level negative eigenvalues of a
           semidefinite Sigma_k become 0 (the check already rejected real ones) */
        for (i = 0; i < d && st == PATTN_OK; ++i)
            for (j = 0; j < d; ++j) F[i * d + j] = V[i * d + j] * sqrt(w[j] > 0.0 ? w[j] : 0.0);
    }
    if (st != PATTN_OK) { pattn_icl_gen_free(g); return st; }
    for (k = 0; k < K; ++k) {
        acc += g->pi[k];
        g->cum_pi[k] = acc;
        g->f_sigma[k] = (float)sqrt(g->noise_var[k]);
        for (i = 0; i < d; ++i) {
            g->f_mu[k * d8 + i] = (float)g->mu[k * d + i];
            g->f_diag[k * d8 + i] = (float)g->fac_beta[k * dd + i * d + i];
            for (j = 0; j < d; ++j) g->f_fac[(k * d + i) * d8 + j] = (float)g->fac_beta[k * dd + i * d + j];
        }
    }
    g->cum_pi[K - 1] = 1.0;
    for (i = 0; i < dd; ++i) g->f_chol[i] = (float)g->chol_x[i];
    g->mix.d = m->d;
    g->mix.K = m->K;
    g->mix.pi = g->pi;
    g->mix.mu = g->mu;
    g->mix.cov_beta = g->cov_beta;
    g->mix.noise_var = g->noise_var;
    g->mix.cov_x = g->cov_x;
    *out = g;
    return PATTN_OK;
}

/* normals one sample may consume (z_beta, n + 1 inputs, n + 1 noises) rounded up to 16, plus
   8 floats of slack for the padded reads of pattn__icl_load_head */
static size_t pattn__icl_nnorm(int d, int n)
{
    size_t c = (size_t)d + ((size_t)n + 1) * (size_t)d + (size_t)n + 1;
    return ((c + 15) & ~(size_t)15) + 8;
}

/* Per-worker scratch: [normals][X: d columns of n8][x: d8][y: n8][beta: d8] then the model
   kernels' vectors (2 of n8, 6 of D8) and a row of zeros (max(n8, D8)). Zeroed per block,
   so every padding lane is 0. */
typedef struct pattn__icl_scr {
    float *nrm, *X, *xq, *y, *beta, *u, *w, *v[6], *zero;
} pattn__icl_scr;

static size_t pattn__icl_scratch(int d, int n)
{
    size_t d8 = (size_t)pattn__icl_r8(d), n8 = (size_t)pattn__icl_r8(n), D8 = (size_t)pattn__icl_r8(d + 1);
    return pattn__icl_nnorm(d, n) + (size_t)d * n8 + d8 + n8 + d8 + 2 * n8 + 6 * D8 + (n8 > D8 ? n8 : D8);
}

static void pattn__icl_scr_map(pattn__icl_scr *s, float *base, int d, int n)
{
    int d8 = pattn__icl_r8(d), n8 = pattn__icl_r8(n), D8 = pattn__icl_r8(d + 1), i;
    s->nrm = base;
    s->X = s->nrm + pattn__icl_nnorm(d, n);
    s->xq = s->X + (size_t)d * n8;
    s->y = s->xq + d8;
    s->beta = s->y + n8;
    s->u = s->beta + d8;
    s->w = s->u + n8;
    s->v[0] = s->w + n8;
    for (i = 1; i < 6; ++i) s->v[i] = s->v[i - 1] + D8;
    s->zero = s->v[5] + D8;
}

/* One sample of task k into the scratch: X (column c, token t at X[c*n8 + t]: the loops over
   tokens are contiguous 8-lane runs), the query input xq, the targets y, beta; returns the
   query target. Draws, in order: one pattn_rng8_normal_f32 call for z_beta (d), the n
   context inputs (n*d, coordinate-major), the query input (d), and, if sigma_k > 0, the
   n + 1 noises. */
static float pattn__icl_draw(const pattn_icl_gen *g, pattn_rng8 *r, int k, int n, const pattn__icl_scr *s)
{
    int d = g->d, d8 = pattn__icl_r8(d), n8 = pattn__icl_r8(n), c, j;
    float sig = g->f_sigma[k], yq;
    const float *z = s->nrm, *raw = s->nrm + d, *gq = raw + (size_t)n * d, *xi = gq + d;
    const float *mu = g->f_mu + (size_t)k * d8, *L = g->f_chol;
    float *X = s->X, *xq = s->xq, *y = s->y, *beta = s->beta;
    pattn_rng8_normal_f32(r, s->nrm, d + (n + 1) * d + (sig > 0.0f ? n + 1 : 0));
    /* beta = mu_k + F_k z; z's padding lanes read the next normals, times zero padding */
    if (g->diag[k]) {
        const float *fd = g->f_diag + (size_t)k * d8;
        for (j = 0; j < d8; j += 8)
            pattn__f8_store(beta + j, pattn__f8_fma(pattn__f8_load(fd + j), pattn__f8_load(z + j), pattn__f8_load(mu + j)));
    } else {
        const float *F = g->f_fac + (size_t)k * d * d8;
        for (c = 0; c < d; ++c) beta[c] = mu[c] + pattn__icl_dot8(F + (size_t)c * d8, z, d8);
    }
    /* the raw inputs are coordinate-major (coordinate c of token t at raw[c*n + t]) */
    for (c = 0; c < d; ++c) pattn__icl_copy_pad(X + (size_t)c * n8, raw + (size_t)c * n, n);
    pattn__icl_copy_pad(xq, gq, d);
    if (!g->x_identity) {
        /* x = L g in place: coordinate c needs raw coordinates <= c, so go downwards */
        for (c = d - 1; c >= 0; --c) {
            float *col = X + (size_t)c * n8, acc = L[c * d + c] * xq[c];
            pattn__scale(n8, L[c * d + c], col);
            for (j = 0; j < c; ++j) {
                pattn__icl_axpy8(n8, L[c * d + j], X + (size_t)j * n8, col);
                acc = fmaf(L[c * d + j], xq[j], acc);
            }
            xq[c] = acc;
        }
    }
    /* y = X beta (+ sigma xi), one register per 8 tokens */
    pattn__icl_comb8(d, beta, X, n8, n8, y);
    yq = pattn__icl_dot8(xq, beta, d8);
    if (sig > 0.0f) {
        pattn__f8 vs = pattn__f8_set1(sig);
        for (j = 0; j < n8; j += 8)
            pattn__f8_store(y + j, pattn__f8_fma(vs, pattn__icl_load_head(xi + j, n - j), pattn__f8_load(y + j)));
        yq = fmaf(sig, xi[n], yq);
    }
    return yq;
}

/* A pass opens a parallel region only with enough work (normals to draw): a region costs
   microseconds to fork and join, and much more when a thread of it has been descheduled, so
   small batches run on the calling thread. Blocks and their summation order are the same
   either way, so this never changes a result. */
#define PATTN__ICL_PAR_MIN 65536.0
#ifdef _OPENMP
#define PATTN__ICL_TID() omp_get_thread_num()
#define PATTN__ICL_NTHR() omp_get_max_threads()
#define PATTN__ICL_OMP_FOR_IF(c) PATTN__PRAGMA(omp parallel for schedule(static) if (c))
#else
#define PATTN__ICL_TID() 0
#define PATTN__ICL_NTHR() 1
#define PATTN__ICL_OMP_FOR_IF(c) (void)(c);
#endif

PATTN_DEF pattn_status pattn_icl_sample(const pattn_icl_gen *g, int task, int n, int batch,
                                        uint64_t seed, float *X, float *y, float *xq, float *yq,
                                        int *task_out, float *beta)
{
    long nblk, bi;
    int nthr, d, par;
    size_t ss;
    float *scr;
    if (!g || !g->pi || !X || !y || !xq || !yq || n < 1 || batch < 1) return PATTN_EINVAL;
    if (task != PATTN_ICL_MIXTURE && (task < 0 || task >= g->K)) return PATTN_EINVAL;
    if (!pattn__icl_size_ok(g->d, g->K, n)) return PATTN_EINVAL;
    d = g->d;
    nthr = PATTN__ICL_NTHR();
    ss = pattn__icl_scratch(d, n);
    scr = (float *)PATTN_MALLOC((size_t)nthr * ss * sizeof(float));
    if (!scr) return PATTN_ENOMEM;
    nblk = ((long)batch + PATTN_ICL_BLOCK - 1) / PATTN_ICL_BLOCK;
    par = (double)batch * (double)pattn__icl_nnorm(d, n) >= PATTN__ICL_PAR_MIN;
    PATTN__ICL_OMP_FOR_IF(par)
    for (bi = 0; bi < nblk; ++bi) {
        int n8 = pattn__icl_r8(n);
        pattn__icl_scr s;
        pattn_rng8 r;
        long i0 = bi * PATTN_ICL_BLOCK, i1 = i0 + PATTN_ICL_BLOCK < batch ? i0 + PATTN_ICL_BLOCK : batch, i;
        float *base = scr + (size_t)PATTN__ICL_TID() * ss, ub[PATTN_ICL_BLOCK];
        memset(base, 0, ss * sizeof(float));
        pattn__icl_scr_map(&s, base, d, n);
        pattn_rng8_seed(&r, seed, (uint64_t)bi);
        /* a whole block's worth even for a short last block: prefix-stable in batch */
        if (task == PATTN_ICL_MIXTURE) pattn_rng8_uniform_f32(&r, ub, PATTN_ICL_BLOCK);
        for (i = i0; i < i1; ++i) {
            int k = task, t, c;
            if (k == PATTN_ICL_MIXTURE) {
                double u = ub[i - i0];
                for (k = 0; k < g->K - 1 && u >= g->cum_pi[k]; ++k) {}
            }
            yq[i] = pattn__icl_draw(g, &r, k, n, &s);
            for (t = 0; t < n; ++t)
                for (c = 0; c < d; ++c) X[((size_t)i * n + t) * d + c] = s.X[(size_t)c * n8 + t];
            memcpy(y + (size_t)i * n, s.y, (size_t)n * sizeof(float));
            memcpy(xq + (size_t)i * d, s.xq, (size_t)d * sizeof(float));
            if (task_out) task_out[i] = k;
            if (beta) memcpy(beta + (size_t)i * d, s.beta, (size_t)d * sizeof(float));
        }
    }
    PATTN_FREE(scr);
    return PATTN_OK;
}

/* ==== paper 2 training: fused generate-and-differentiate passes, Adam and GD =============== */

/* float copies of the parameters, refreshed once per step, rows zero-padded: W (d x d8, K
   of them for PGD_TASK), b and mu (K x d8), Q (its first d rows, d x D8), V_k, cP_k (K x D8),
   prompt tokens (K*m x D8) */
typedef struct pattn__icl_fast {
    int type, d, K, m, D, d8, D8;
    float *W, *b, *Q, *V, *cP, *P, *mu;
} pattn__icl_fast;

/* Everything a pass over freshly generated batches needs: per-worker scratch, per-block
   statistics (summed in block order afterwards: thread-count independent), the float
   parameters and the double matrices the FULL gradient is assembled with. */
typedef struct pattn__icl_ctx {
    pattn__icl_fast f;
    float *fbuf, *scr, *st, *wgt;
    double *dbuf, *Qd, *Vd, *R, *tot, *ls;
    uint64_t *seeds;
    size_t ss, sl;
    int nthr, n, B, nbk;
    long nblk;
} pattn__icl_ctx;

/* per-block gradient statistics, padded rows: REDUCED G (d x d8) and prompt sums (K x d8);
   PGD G (d x d8, K of them per task); FULL G (d x D8), E (K x D8), H (K x d8) */
static size_t pattn__icl_stat_len(int type, int d, int K)
{
    size_t d8 = (size_t)pattn__icl_r8(d), D8 = (size_t)pattn__icl_r8(d + 1);
    switch (type) {
    case PATTN_ICL_REDUCED: return (size_t)d * d8 + (size_t)K * d8;
    case PATTN_ICL_PGD: return (size_t)d * d8;
    case PATTN_ICL_PGD_TASK: return (size_t)K * d * d8;
    default: return (size_t)d * D8 + (size_t)K * D8 + (size_t)K * d8;
    }
}

static void pattn__icl_ctx_free(pattn__icl_ctx *c)
{
    PATTN_FREE(c->fbuf);
    PATTN_FREE(c->scr);
    PATTN_FREE(c->st);
    PATTN_FREE(c->dbuf);
    c->fbuf = c->scr = c->st = NULL;
    c->dbuf = NULL;
}

static pattn_status pattn__icl_ctx_init(pattn__icl_ctx *c, const pattn_icl_model *md, int n, int B, int grad)
{
    int d = md->d, K = md->K, m = md->m, D = d + 1, d8 = pattn__icl_r8(d), D8 = pattn__icl_r8(D);
    size_t nf = (size_t)K * d * d8 + (size_t)K * d8 + (size_t)d * D8 + 2 * (size_t)K * D8 + (size_t)K * m * D8 + (size_t)K * d8;
    size_t nd;
    memset(c, 0, sizeof *c);
    c->n = n;
    c->B = B;
    c->nbk = (B + PATTN_ICL_BLOCK - 1) / PATTN_ICL_BLOCK;
    c->nblk = (long)K * c->nbk;
    c->ss = pattn__icl_scratch(d, n);
    c->sl = grad ? pattn__icl_stat_len(md->type, d, K) : 0;
    c->nthr = PATTN__ICL_NTHR();
    nd = (size_t)D * D + (size_t)K * D + (size_t)D + c->sl + 2 * (size_t)c->nblk + (size_t)K; /* + seeds */
    c->fbuf = (float *)PATTN_MALLOC((nf + (size_t)K) * sizeof(float));
    c->scr = (float *)PATTN_MALLOC((size_t)c->nthr * c->ss * sizeof(float));
    c->st = grad ? (float *)PATTN_MALLOC((size_t)c->nblk * c->sl * sizeof(float)) : NULL;
    c->dbuf = (double *)PATTN_MALLOC(nd * sizeof(double) + (size_t)K * sizeof(uint64_t));
    if (!c->fbuf || !c->scr || (grad && !c->st) || !c->dbuf) {
        pattn__icl_ctx_free(c);
        return PATTN_ENOMEM;
    }
    c->f.type = md->type;
    c->f.d = d;
    c->f.K = K;
    c->f.m = m;
    c->f.D = D;
    c->f.d8 = d8;
    c->f.D8 = D8;
    memset(c->fbuf, 0, (nf + (size_t)K) * sizeof(float));
    c->f.W = c->fbuf;
    c->f.b = c->f.W + (size_t)K * d * d8;
    c->f.Q = c->f.b + (size_t)K * d8;
    c->f.V = c->f.Q + (size_t)d * D8;
    c->f.cP = c->f.V + (size_t)K * D8;
    c->f.P = c->f.cP + (size_t)K * D8;
    c->f.mu = c->f.P + (size_t)K * m * D8;
    c->wgt = c->f.mu + (size_t)K * d8;
    c->Qd = c->dbuf;
    c->Vd = c->Qd + (size_t)D * D;
    c->R = c->Vd + (size_t)K * D;
    c->tot = c->R + D;
    c->ls = c->tot + c->sl;
    c->seeds = (uint64_t *)(void *)(c->ls + 2 * (size_t)c->nblk + (size_t)K);
    return PATTN_OK;
}

static void pattn__icl_fast_load(pattn__icl_ctx *c, const pattn_icl_model *md)
{
    pattn__icl_fast *f = &c->f;
    int d = md->d, K = md->K, D = d + 1, d8 = f->d8, D8 = f->D8, i, k, j, a;
    for (k = 0; k < K; ++k)
        for (i = 0; i < d; ++i) f->mu[k * d8 + i] = (float)md->mu[k * d + i];
    if (md->type != PATTN_ICL_FULL) {
        int nm = md->type == PATTN_ICL_PGD_TASK ? K : 1;
        for (k = 0; k < nm * d; ++k)
            for (i = 0; i < d; ++i) f->W[k * d8 + i] = (float)md->W[k * d + i];
        if (md->type == PATTN_ICL_REDUCED)
            for (k = 0; k < K; ++k)
                for (i = 0; i < d; ++i) f->b[k * d8 + i] = (float)md->b[k * d + i];
        return;
    }
    pattn__icl_full_qv(md, c->Qd, c->Vd);
    for (a = 0; a < d; ++a)
        for (i = 0; i < D; ++i) f->Q[a * D8 + i] = (float)c->Qd[a * D + i];
    for (k = 0; k < K; ++k)
        for (i = 0; i < D; ++i) f->V[k * D8 + i] = (float)c->Vd[k * D + i];
    for (j = 0; j < K * md->m; ++j)
        for (i = 0; i < D; ++i) f->P[j * D8 + i] = (float)md->P[j * D + i];
    /* the prompt tokens' share of A V_k is the same for every sample of task k */
    for (k = 0; k < K; ++k)
        for (a = 0; a < D; ++a) {
            double s = 0.0;
            for (j = 0; j < md->m; ++j) {
                const double *p = md->P + (size_t)(k * md->m + j) * D;
                double pv = 0.0;
                for (i = 0; i < D; ++i) pv += p[i] * c->Vd[k * D + i];
                s += p[a] * pv;
            }
            f->cP[k * D8 + a] = (float)s;
        }
}

/* One block of cnt samples of task k from stream `stream` of seed: generate each sample in
   scratch, predict, and (st non-NULL) accumulate the gradient statistics with weight wgt
   (= 2 pi_k / B). ls gets the block's sum of e^2 and e^4 (e = yhat - y). */
static void pattn__icl_block(const pattn_icl_gen *g, const pattn__icl_fast *f, int k, int n, int cnt,
                             uint64_t seed, uint64_t stream, float wgt, float *base, size_t ss,
                             float *st, size_t sl, double *ls)
{
    int d = g->d, K = g->K, d8 = f->d8, D8 = f->D8, n8 = pattn__icl_r8(n), i, a, c, j;
    pattn__icl_scr s;
    float *X, *xq, *y, *u, *w, *sv, *av, *cv, *r, *ar;
    double l2 = 0.0, l4 = 0.0;
    pattn_rng8 rng;
    memset(base, 0, ss * sizeof(float));
    pattn__icl_scr_map(&s, base, d, n);
    X = s.X;
    xq = s.xq;
    y = s.y;
    u = s.u;
    w = s.w;
    sv = s.v[0];
    av = s.v[1];
    cv = s.v[2];
    r = s.v[3];
    ar = s.v[4];
    pattn_rng8_seed(&rng, seed, stream);
    if (st) memset(st, 0, sl * sizeof(float));
    for (i = 0; i < cnt; ++i) {
        float yq = pattn__icl_draw(g, &rng, k, n, &s), yh, e, ew;
        if (f->type == PATTN_ICL_FULL) {
            const float *Vk = f->V + (size_t)k * D8, *cP = f->cP + (size_t)k * D8;
            /* yhat = r' (A V_k) with r = Q'[x;0] and A V_k = Z'(Z V_k) + the prompts' share */
            pattn__icl_comb8(d, xq, f->Q, D8, D8, r);
            for (j = 0; j < n8; j += 8) {
                pattn__f8 acc = pattn__f8_mul(pattn__f8_set1(Vk[d]), pattn__f8_load(y + j));
                for (c = 0; c < d; ++c) acc = pattn__f8_fma(pattn__f8_set1(Vk[c]), pattn__f8_load(X + (size_t)c * n8 + j), acc);
                pattn__f8_store(u + j, acc);
            }
            pattn__icl_dots(X, (size_t)n8, d, y, 1, s.zero, u, n8, cv);
            pattn__icl_axpy8(D8, 1.0f, cP, cv);
            yh = pattn__icl_dot8(r, cv, D8);
            if (st) { /* A r = Z'(Z r) + sum_j p_j (p_j'r) */
                for (j = 0; j < n8; j += 8) {
                    pattn__f8 acc = pattn__f8_mul(pattn__f8_set1(r[d]), pattn__f8_load(y + j));
                    for (c = 0; c < d; ++c) acc = pattn__f8_fma(pattn__f8_set1(r[c]), pattn__f8_load(X + (size_t)c * n8 + j), acc);
                    pattn__f8_store(w + j, acc);
                }
                pattn__icl_dots(X, (size_t)n8, d, y, 1, s.zero, w, n8, ar);
                for (j = 0; j < f->m; ++j) {
                    const float *p = f->P + ((size_t)k * f->m + j) * D8;
                    pattn__icl_axpy8(D8, pattn__icl_dot8(p, r, D8), p, ar);
                }
            }
        } else {
            const float *W = f->W + (f->type == PATTN_ICL_PGD_TASK ? (size_t)k * d * d8 : 0);
            const float *muk = f->mu + (size_t)k * d8;
            const float *res = y;
            yh = 0.0f;
            if (f->type != PATTN_ICL_REDUCED) { /* y - X mu_k */
                for (j = 0; j < n8; j += 8) {
                    pattn__f8 acc = pattn__f8_load(y + j);
                    for (c = 0; c < d; ++c) acc = pattn__f8_fnma(pattn__f8_set1(muk[c]), pattn__f8_load(X + (size_t)c * n8 + j), acc);
                    pattn__f8_store(u + j, acc);
                }
                res = u;
                yh = pattn__icl_dot8(xq, muk, d8);
            }
            pattn__icl_dots(X, (size_t)n8, d, y, 0, s.zero, res, n8, sv);
            if (f->type == PATTN_ICL_REDUCED) pattn__icl_axpy8(d8, 1.0f, f->b + (size_t)k * d8, sv);
            pattn__icl_comb8(d, xq, W, d8, d8, av); /* W'x */
            yh += pattn__icl_dot8(av, sv, d8);
        }
        e = yh - yq;
        l2 += (double)e * e;
        l4 += (double)e * e * ((double)e * e);
        if (!st) continue;
        ew = wgt * e;
        if (f->type == PATTN_ICL_FULL) {
            for (a = 0; a < d; ++a) pattn__icl_axpy8(D8, ew * xq[a], cv, st + (size_t)a * D8);
            pattn__icl_axpy8(D8, ew, ar, st + (size_t)d * D8 + (size_t)k * D8);
            pattn__icl_axpy8(d8, ew, xq, st + (size_t)d * D8 + (size_t)K * D8 + (size_t)k * d8);
        } else {
            float *G = st + (f->type == PATTN_ICL_PGD_TASK ? (size_t)k * d * d8 : 0);
            for (a = 0; a < d; ++a) pattn__icl_axpy8(d8, ew * xq[a], sv, G + (size_t)a * d8);
            if (f->type == PATTN_ICL_REDUCED) pattn__icl_axpy8(d8, ew, av, st + (size_t)d * d8 + (size_t)k * d8);
        }
    }
    ls[0] = l2;
    ls[1] = l4;
}

/* Load the parameters, then one pass over K * nbk blocks (OpenMP); with c->st the summed
   gradient statistics end in c->tot. The batch loss sum_k pi_k mean_k e^2 is returned. */
static pattn_status pattn__icl_eval(pattn__icl_ctx *c, const pattn_icl_gen *g, const pattn_icl_model *md)
{
    long j, nblk = c->nblk;
    int nbk = c->nbk, n = c->n, B = c->B, nthr = PATTN__ICL_NTHR();
    int par = (double)B * c->f.K * (double)pattn__icl_nnorm(c->f.d, n) >= PATTN__ICL_PAR_MIN;
    size_t i;
    if (nthr > c->nthr) { /* more threads than at creation: widen the scratch */
        float *ns = (float *)PATTN_MALLOC((size_t)nthr * c->ss * sizeof(float));
        if (!ns) return PATTN_ENOMEM;
        PATTN_FREE(c->scr);
        c->scr = ns;
        c->nthr = nthr;
    }
    pattn__icl_fast_load(c, md);
    PATTN__ICL_OMP_FOR_IF(par)
    for (j = 0; j < nblk; ++j) {
        int k = (int)(j / nbk);
        long b = j % nbk;
        int cnt = B - (int)b * PATTN_ICL_BLOCK < PATTN_ICL_BLOCK ? B - (int)b * PATTN_ICL_BLOCK : PATTN_ICL_BLOCK;
        pattn__icl_block(g, &c->f, k, n, cnt, c->seeds[k], (uint64_t)b, c->st ? c->wgt[k] : 0.0f,
                         c->scr + (size_t)PATTN__ICL_TID() * c->ss, c->ss,
                         c->st ? c->st + (size_t)j * c->sl : NULL, c->sl, c->ls + 2 * j);
    }
    if (c->st) {
        for (i = 0; i < c->sl; ++i) c->tot[i] = 0.0;
        for (j = 0; j < nblk; ++j) {
            const float *sj = c->st + (size_t)j * c->sl;
            for (i = 0; i < c->sl; ++i) c->tot[i] += (double)sj[i];
        }
    }
    return PATTN_OK;
}

/* batch loss sum_k pi_k mean_k e^2 from the per-block sums, in block order */
static double pattn__icl_loss(const pattn__icl_ctx *c, const pattn_icl_gen *g)
{
    double L = 0.0;
    long j;
    for (j = 0; j < c->nblk; ++j) L += g->pi[j / c->nbk] / c->B * c->ls[2 * j];
    return L;
}

/* the parameter gradient from c->tot (padded statistics -> theta layout) */
static void pattn__icl_assemble(pattn__icl_ctx *c, const pattn_icl_model *md, double *grad, double *work)
{
    int d = md->d, D = d + 1, K = md->K, d8 = c->f.d8, D8 = c->f.D8, a, b, k;
    double *G, *E, *H;
    if (md->type != PATTN_ICL_FULL) {
        int rows = md->type == PATTN_ICL_PGD_TASK ? K * d : d;
        for (a = 0; a < rows; ++a)
            for (b = 0; b < d; ++b) grad[a * d + b] = c->tot[a * d8 + b];
        if (md->type == PATTN_ICL_REDUCED)
            for (k = 0; k < K; ++k)
                for (b = 0; b < d; ++b) grad[d * d + k * d + b] = c->tot[d * d8 + k * d8 + b];
        return;
    }
    G = work;
    E = G + (size_t)D * D;
    H = E + (size_t)K * D;
    for (a = 0; a < D; ++a)
        for (b = 0; b < D; ++b) G[a * D + b] = a < d ? c->tot[a * D8 + b] : 0.0;
    for (k = 0; k < K; ++k)
        for (a = 0; a < D; ++a) {
            E[k * D + a] = c->tot[d * D8 + k * D8 + a];
            H[k * D + a] = a < d ? c->tot[d * D8 + K * D8 + k * d8 + a] : 0.0;
        }
    pattn__icl_full_grad(md, c->Qd, c->Vd, G, E, H, c->R, grad);
}

PATTN_DEF uint64_t pattn_icl_step_seed(uint64_t seed, long step, int task)
{
    uint64_t s = seed ^ 0xa0761d6478bd642fULL, h = pattn__splitmix64(&s);
    s = h ^ (uint64_t)step;
    h = pattn__splitmix64(&s);
    s = h ^ (uint64_t)(uint32_t)task;
    return pattn__splitmix64(&s);
}

struct pattn_icl_trainer {
    const pattn_icl_gen *g;
    pattn_icl_model *md;
    pattn_icl_train_opts o;
    long step;
    pattn__icl_ctx c;
    double *grad, *m1, *m2, *work, *lrs;
    unsigned char *mask;
};

PATTN_DEF void pattn_icl_trainer_free(pattn_icl_trainer *t)
{
    if (!t) return;
    pattn__icl_ctx_free(&t->c);
    PATTN_FREE(t->grad);
    PATTN_FREE(t->mask);
    PATTN_FREE(t);
}

/* which parameters a regime trains (mask), 0 if the regime does not apply to the model */
static int pattn__icl_regime_mask(const pattn_icl_model *md, int regime, unsigned char *mask)
{
    int d = md->d, D = d + 1, K = md->K, i;
    int nW = 3 * D * D, nP = K * md->m * D, w = 0, p = 0, h = 0;
    switch (md->type) {
    case PATTN_ICL_REDUCED:
        if (regime == PATTN__ICL_PT) w = 1;
        else if (regime == PATTN__ICL_FT) p = 1;
        else if (regime == PATTN__ICL_JT) w = p = 1;
        else return 0;
        if (mask)
            for (i = 0; i < md->np; ++i) mask[i] = (unsigned char)(i < d * d ? w : p);
        return 1;
    case PATTN_ICL_PGD:
    case PATTN_ICL_PGD_TASK:
        if (regime != (md->type == PATTN_ICL_PGD ? PATTN__ICL_DEC : PATTN__ICL_LB)) return 0;
        if (mask) memset(mask, 1, (size_t)md->np);
        return 1;
    default:
        if (regime == PATTN__ICL_PT) w = 1;
        else if (regime == PATTN__ICL_FT) p = 1;
        else if (regime == PATTN__ICL_JT) w = p = 1;
        else if (regime == PATTN__ICL_DEC) w = p = h = 1;
        else return 0;
        if (mask)
            for (i = 0; i < md->np; ++i) mask[i] = (unsigned char)(i < nW ? w : i < nW + nP ? p : h);
        return 1;
    }
}

/* the regime's fixed parts: PT has no prompts; fixed-head regimes use e_D; a regime that
   trains prompts cannot start them at 0 (a stationary point of the quadratic prompt term
   A = ... + p p'), so all-zero prompt tokens of the FULL model start at e_D (token 0) and
   0.1 g (the others, g ~ N(0, I) from the seed) */
static void pattn__icl_regime_apply(pattn_icl_model *md, int regime, uint64_t seed)
{
    int d = md->d, D = d + 1, K = md->K, m = md->m, k, i, j;
    if (md->type == PATTN_ICL_REDUCED && regime == PATTN__ICL_PT) memset(md->b, 0, (size_t)K * d * sizeof(double));
    if (md->type != PATTN_ICL_FULL) return;
    if (regime == PATTN__ICL_PT) memset(md->P, 0, (size_t)K * m * D * sizeof(double));
    if (regime != PATTN__ICL_DEC)
        for (k = 0; k < K; ++k)
            for (i = 0; i < D; ++i) md->h[k * D + i] = i == d;
    if (regime == PATTN__ICL_PT) return;
    for (k = 0; k < K; ++k) {
        double *P = md->P + (size_t)k * m * D;
        int zero = 1;
        for (i = 0; i < m * D; ++i)
            if (P[i] != 0.0) zero = 0;
        if (zero) {
            pattn_rng r;
            pattn_rng_stream(&r, seed ^ 0x5bd1e995ULL, (uint64_t)k);
            P[d] = 1.0;
            for (j = 1; j < m; ++j)
                for (i = 0; i < D; ++i) P[j * D + i] = 0.1 * pattn_rng_normal_f64(&r);
        }
    }
}

/* per-parameter learning-rate multipliers (see pattn_icl_train_opts.scaled) */
static void pattn__icl_lr_scales(const pattn_icl_model *md, int n, int scaled, double *lrs)
{
    int d = md->d, D = d + 1, i, nW = 3 * D * D, nP = md->K * md->m * D;
    double sc = (double)n + d, sn = sqrt(sc);
    for (i = 0; i < md->np; ++i) {
        double s = 1.0;
        if (scaled) {
            if (md->type == PATTN_ICL_FULL) s = i < 2 * D * D ? 1.0 / sn : i < nW ? 1.0 : i < nW + nP ? sn : 1.0;
            else s = i < (md->type == PATTN_ICL_PGD_TASK ? md->K : 1) * d * d ? 1.0 / sc : sc;
        }
        lrs[i] = s;
    }
}

/* PGD predicts with the model's means: they must be the generator's */
static int pattn__icl_same_means(const pattn_icl_gen *g, const pattn_icl_model *md)
{
    if (md->type != PATTN_ICL_PGD && md->type != PATTN_ICL_PGD_TASK) return 1;
    return !memcmp(g->mu, md->mu, (size_t)g->K * (size_t)g->d * sizeof(double));
}

static int pattn__icl_opts_ok(const pattn_icl_train_opts *o)
{
    return o->n >= 1 && o->batch >= 0 && o->steps >= 0 && (o->optimizer == PATTN_ICL_ADAM || o->optimizer == PATTN_ICL_GD) &&
           pattn__finite(o->lr) && o->lr >= 0.0 && pattn__finite(o->lr_final) && o->lr_final >= 0.0 &&
           pattn__finite(o->beta1) && o->beta1 >= 0.0 && o->beta1 < 1.0 && pattn__finite(o->beta2) &&
           o->beta2 >= 0.0 && o->beta2 < 1.0 && pattn__finite(o->eps) && o->eps >= 0.0 &&
           pattn__finite(o->weight_decay) && o->weight_decay >= 0.0 && o->progress_every >= 0;
}

PATTN_DEF pattn_status pattn_icl_trainer_create(const pattn_icl_gen *g, pattn_icl_model *mdl,
                                                const pattn_icl_train_opts *o,
                                                pattn_icl_trainer **out)
{
    pattn_icl_trainer *t;
    pattn_status st;
    int np, D;
    size_t nwork;
    if (!g || !g->pi || !pattn__icl_model_ok(mdl) || !o || !out) return PATTN_EINVAL;
    if (mdl->d != g->d || mdl->K != g->K || !pattn__icl_opts_ok(o)) return PATTN_EINVAL;
    if (!pattn__icl_size_ok(g->d, g->K, o->n) || (long)o->batch * g->K > 1L << 30) return PATTN_EINVAL;
    if (!pattn__icl_regime_mask(mdl, o->regime, NULL) || !pattn__icl_same_means(g, mdl)) return PATTN_EINVAL;
    if (!pattn__all_finite_f64(mdl->theta, (size_t)mdl->np)) return PATTN_EINVAL;
    np = mdl->np;
    D = mdl->d + 1;
    t = (pattn_icl_trainer *)PATTN_MALLOC(sizeof *t);
    if (!t) return PATTN_ENOMEM;
    memset(t, 0, sizeof *t);
    t->g = g;
    t->md = mdl;
    t->o = *o;
    if (t->o.batch == 0) t->o.batch = 3072;
    if (t->o.steps == 0) t->o.steps = 1000;
    if (t->o.lr == 0.0) t->o.lr = 1e-3;
    if (t->o.beta1 == 0.0) t->o.beta1 = 0.9;
    if (t->o.beta2 == 0.0) t->o.beta2 = 0.999;
    if (t->o.eps == 0.0) t->o.eps = 1e-8;
    if (t->o.progress_every == 0) t->o.progress_every = t->o.steps / 100 > 0 ? t->o.steps / 100 : 1;
    nwork = (size_t)D * D + 2 * (size_t)mdl->K * D;
    t->grad = (double *)PATTN_MALLOC((4 * (size_t)np + nwork) * sizeof(double));
    t->mask = (unsigned char *)PATTN_MALLOC((size_t)np);
    if (!t->grad || !t->mask) { pattn_icl_trainer_free(t); return PATTN_ENOMEM; }
    st = pattn__icl_ctx_init(&t->c, mdl, o->n, t->o.batch, 1);
    if (st != PATTN_OK) { pattn_icl_trainer_free(t); return st; }
    t->m1 = t->grad + np;
    t->m2 = t->m1 + np;
    t->lrs = t->m2 + np;
    t->work = t->lrs + np;
    memset(t->m1, 0, 2 * (size_t)np * sizeof(double));
    pattn__icl_regime_mask(mdl, o->regime, t->mask);
    pattn__icl_lr_scales(mdl, o->n, o->scaled, t->lrs);
    pattn__icl_regime_apply(mdl, o->regime, o->seed);
    *out = t;
    return PATTN_OK;
}

static pattn_status pattn__icl_trainer_eval(pattn_icl_trainer *t, double *loss)
{
    int k;
    pattn_status st;
    for (k = 0; k < t->g->K; ++k) {
        t->c.seeds[k] = pattn_icl_step_seed(t->o.seed, t->step, k);
        t->c.wgt[k] = (float)(2.0 * t->g->pi[k] / t->c.B);
    }
    st = pattn__icl_eval(&t->c, t->g, t->md);
    if (st != PATTN_OK) return st;
    pattn__icl_assemble(&t->c, t->md, t->grad, t->work);
    *loss = pattn__icl_loss(&t->c, t->g);
    return PATTN_OK;
}

PATTN_DEF pattn_status pattn_icl_trainer_grad(pattn_icl_trainer *t, double *loss, double *grad)
{
    double L;
    pattn_status st;
    if (!t) return PATTN_EINVAL;
    st = pattn__icl_trainer_eval(t, &L);
    if (st != PATTN_OK) return st;
    if (loss) *loss = L;
    if (grad) memcpy(grad, t->grad, (size_t)t->md->np * sizeof(double));
    return PATTN_OK;
}

PATTN_DEF pattn_status pattn_icl_trainer_step(pattn_icl_trainer *t, double *loss)
{
    const pattn_icl_train_opts *o;
    double L, lr0, b1c, b2c, *th;
    long T;
    int i;
    pattn_status st;
    if (!t) return PATTN_EINVAL;
    o = &t->o;
    st = pattn__icl_trainer_eval(t, &L);
    if (st != PATTN_OK) return st;
    T = o->steps;
    lr0 = o->lr;
    if (o->cosine && T > 1) {
        double f = t->step >= T - 1 ? 1.0 : (double)t->step / (double)(T - 1);
        lr0 = o->lr_final + (o->lr - o->lr_final) * 0.5 * (1.0 + cos(3.141592653589793 * f));
    }
    th = t->md->theta;
    b1c = 1.0 - pow(o->beta1, (double)(t->step + 1));
    b2c = 1.0 - pow(o->beta2, (double)(t->step + 1));
    for (i = 0; i < t->md->np; ++i) {
        double gi = t->grad[i], lr = lr0 * t->lrs[i];
        if (!t->mask[i]) continue;
        if (o->optimizer == PATTN_ICL_GD) {
            th[i] -= lr * (gi + o->weight_decay * th[i]);
            continue;
        }
        if (o->decoupled) th[i] -= lr * o->weight_decay * th[i];
        else gi += o->weight_decay * th[i];
        t->m1[i] = o->beta1 * t->m1[i] + (1.0 - o->beta1) * gi;
        t->m2[i] = o->beta2 * t->m2[i] + (1.0 - o->beta2) * gi * gi;
        th[i] -= lr * (t->m1[i] / b1c) / (sqrt(t->m2[i] / b2c) + o->eps);
    }
    ++t->step;
    if (o->progress && (t->step % o->progress_every == 0 || t->step == o->steps))
        o->progress(o->user, t->step, o->steps, L);
    if (loss) *loss = L;
    return PATTN_OK;
}

PATTN_DEF pattn_status pattn_icl_train(const pattn_icl_gen *g, pattn_icl_model *mdl,
                                       const pattn_icl_train_opts *o, double **history)
{
    pattn_icl_trainer *t;
    pattn_status st = pattn_icl_trainer_create(g, mdl, o, &t);
    long s;
    if (st != PATTN_OK) return st;
    for (s = 0; s < t->o.steps; ++s) {
        double L;
        st = pattn_icl_trainer_step(t, &L);
        if (st != PATTN_OK) break;
        if (history) arrput(*history, L);
    }
    pattn_icl_trainer_free(t);
    return st;
}

PATTN_DEF pattn_status pattn_icl_test_loss(const pattn_icl_gen *g, const pattn_icl_model *mdl,
                                           int n, int batch, uint64_t seed, double *loss_k,
                                           double *loss, double *se)
{
    pattn__icl_ctx c;
    pattn_status st;
    int k, K;
    long j;
    double L = 0.0, V = 0.0;
    if (!g || !g->pi || !pattn__icl_model_ok(mdl) || n < 1 || batch < 2) return PATTN_EINVAL;
    if (mdl->d != g->d || mdl->K != g->K || !pattn__icl_size_ok(g->d, g->K, n) || !pattn__icl_same_means(g, mdl))
        return PATTN_EINVAL;
    if ((long)batch * g->K > 1L << 30 || !pattn__all_finite_f64(mdl->theta, (size_t)mdl->np)) return PATTN_EINVAL;
    K = g->K;
    st = pattn__icl_ctx_init(&c, mdl, n, batch, 0);
    if (st != PATTN_OK) return st;
    for (k = 0; k < K; ++k) c.seeds[k] = pattn_icl_step_seed(seed, -1, k);
    st = pattn__icl_eval(&c, g, mdl);
    if (st == PATTN_OK) {
        for (k = 0; k < K; ++k) {
            double s2 = 0.0, s4 = 0.0, mk, vk;
            for (j = (long)k * c.nbk; j < (long)(k + 1) * c.nbk; ++j) {
                s2 += c.ls[2 * j];
                s4 += c.ls[2 * j + 1];
            }
            mk = s2 / batch;
            vk = (s4 / batch - mk * mk) * batch / (batch - 1.0);
            L += g->pi[k] * mk;
            V += g->pi[k] * g->pi[k] * (vk > 0.0 ? vk : 0.0) / batch;
            if (loss_k) loss_k[k] = mk;
        }
        if (loss) *loss = L;
        if (se) *se = sqrt(V);
    }
    pattn__icl_ctx_free(&c);
    return st;
}
