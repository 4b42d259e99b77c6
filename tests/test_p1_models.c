/* Paper 1 models, generator and training: gradients against central finite
   differences of double reference forwards, the batch kernel against per-sample sums, the
   contract kernel against a double reference, generator statistics and reproducibility, the
   feature law measured on generated data, the ridge head, GD/Adam, the three-step
   trajectory, and every bad input. */
#include "prompt_attn.h"
#include "harness.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define SENT 12345.0f

/* ---- helpers ---------------------------------------------------------------------------- */

static float *fvec(size_t n) { return (float *)calloc(n ? n : 1, sizeof(float)); }
static double *dvec(size_t n) { return (double *)calloc(n ? n : 1, sizeof(double)); }

static void fill_normal(pattn_rng *r, float *x, size_t n, double scale)
{
    size_t i;
    for (i = 0; i < n; ++i) x[i] = (float)(scale * pattn_rng_normal_f64(r));
}
static void fill_sent(float *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) x[i] = SENT;
}
static int all_sent(const float *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i)
        if (x[i] != SENT) return 0;
    return 1;
}
static double max_abs_f(const float *x, size_t n)
{
    double m = 0;
    size_t i;
    for (i = 0; i < n; ++i) m = fabs((double)x[i]) > m ? fabs((double)x[i]) : m;
    return m;
}
static double max_abs_d(const double *x, size_t n)
{
    double m = 0;
    size_t i;
    for (i = 0; i < n; ++i) m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}
/* max |got - want| relative to max |want| (the vector's own scale) */
static double rel_err_vec(const float *got, const double *want, size_t n)
{
    double e = 0, s = max_abs_d(want, n);
    size_t i;
    for (i = 0; i < n; ++i) e = fabs((double)got[i] - want[i]) > e ? fabs((double)got[i] - want[i]) : e;
    return s > 0 ? e / s : e;
}

/* ---- double reference forwards ------------------------------------------------ */

typedef struct {
    int d, T;
    double *p, *v, *W; /* W NULL = identity */
} refp;

static void ref_softmax(const double *s, double *a, int n)
{
    double mx = s[0], z = 0;
    int i;
    for (i = 1; i < n; ++i) mx = s[i] > mx ? s[i] : mx;
    for (i = 0; i < n; ++i) z += (a[i] = exp(s[i] - mx));
    for (i = 0; i < n; ++i) a[i] /= z;
}
/* y = W x (W NULL = I) */
static void ref_wx(const double *W, int d, const double *x, double *y)
{
    int i, j;
    for (i = 0; i < d; ++i) {
        double s = 0;
        if (!W) { y[i] = x[i]; continue; }
        for (j = 0; j < d; ++j) s += W[i * d + j] * x[j];
        y[i] = s;
    }
}
static double ref_dot(const double *a, const double *b, int n)
{
    double s = 0;
    int i;
    for (i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

/* f(X) in double for any model; h (optional) = the feature with f = v'h */
static double ref_f(pattn_model m, const refp *R, const double *X, double *h)
{
    int T = R->T, d = R->d, t, s, j;
    double *sc = dvec((size_t)T), *a = dvec((size_t)T), *u = dvec((size_t)T), *tmp = dvec((size_t)d);
    double *hh = dvec((size_t)d), f = 0;
    for (t = 0; t < T; ++t) u[t] = ref_dot(X + t * d, R->v, d);
    if (m == PATTN_PA || m == PATTN_LPA) {
        ref_wx(R->W, d, R->p, tmp);
        for (t = 0; t < T; ++t) sc[t] = ref_dot(X + t * d, tmp, d);
        if (m == PATTN_PA) ref_softmax(sc, a, T);
        else for (t = 0; t < T; ++t) a[t] = sc[t] / T;
    } else if (m == PATTN_SA) {
        for (t = 0; t < T; ++t) a[t] = 0;
        for (t = 0; t < T; ++t) {
            double *at = dvec((size_t)T);
            ref_wx(R->W, d, X + t * d, tmp); /* W x_t */
            for (s = 0; s < T; ++s) sc[s] = ref_dot(X + s * d, tmp, d);
            ref_softmax(sc, at, T);
            for (s = 0; s < T; ++s) a[s] += at[s] / T;
            free(at);
        }
    } else if (m == PATTN_SA_QUERY) {
        ref_wx(R->W, d, X, tmp); /* W x_1 */
        for (s = 0; s < T; ++s) sc[s] = ref_dot(X + s * d, tmp, d);
        ref_softmax(sc, a, T);
    } else {
        for (t = 0; t < T; ++t) a[t] = 1.0 / T;
    }
    for (j = 0; j < d; ++j) hh[j] = 0;
    for (t = 0; t < T; ++t) {
        f += a[t] * u[t];
        for (j = 0; j < d; ++j) hh[j] += a[t] * X[t * d + j];
    }
    if (h) memcpy(h, hh, (size_t)d * sizeof(double));
    free(sc); free(a); free(u); free(tmp); free(hh);
    return f;
}

static double ref_loss(pattn_loss l, double f, double y)
{
    if (l == PATTN_LOSS_SQUARED) return 0.5 * (y - f) * (y - f);
    if (l == PATTN_LOSS_CORRELATION) return -y * f;
    return log1p(exp(-y * f)); /* moderate arguments only in these tests */
}

/* mean loss over n samples in double */
static double ref_mean_loss(pattn_model m, const refp *R, pattn_loss l, const double *X, const float *y, int n)
{
    double s = 0;
    int i;
    for (i = 0; i < n; ++i) s += ref_loss(l, ref_f(m, R, X + (size_t)i * R->T * R->d, NULL), (double)y[i]);
    return s / n;
}

/* central differences of g(theta) over the len entries of theta, in double */
typedef double (*ref_obj)(void *ctx);
static void fd_grad(double *theta, int len, ref_obj g, void *ctx, double *out)
{
    int i;
    for (i = 0; i < len; ++i) {
        double keep = theta[i], h = 1e-5 * (1.0 + fabs(keep)), fp, fm;
        theta[i] = keep + h;
        fp = g(ctx);
        theta[i] = keep - h;
        fm = g(ctx);
        theta[i] = keep;
        out[i] = (fp - fm) / (2 * h);
    }
}

typedef struct {
    pattn_model m;
    refp *R;
    const double *X;
    const float *y;
    int n;
    pattn_loss l;
} fd_ctx;
static double obj_f(void *c)
{
    fd_ctx *k = (fd_ctx *)c;
    return ref_f(k->m, k->R, k->X, NULL);
}
static double obj_loss(void *c)
{
    fd_ctx *k = (fd_ctx *)c;
    return ref_mean_loss(k->m, k->R, k->l, k->X, k->y, k->n);
}

static void to_double(const float *x, double *y, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) y[i] = (double)x[i];
}

/* ---- gradients of all four models -------------------------------------------------------- */

static void test_gradients_one(int d, int T, int withW)
{
    pattn_rng r;
    pattn_params P;
    refp R;
    fd_ctx c;
    float *X = fvec((size_t)T * d), *p = fvec((size_t)d), *v = fvec((size_t)d), *W = fvec((size_t)d * d);
    float *h = fvec((size_t)d), *gp = fvec((size_t)d), *gW = fvec((size_t)d * d), f;
    double *Xd = dvec((size_t)T * d), *fd = dvec((size_t)d * d), *hd = dvec((size_t)d), fr;
    int mi, i;
    pattn_rng_seed(&r, 100 + d * 7 + T + withW);
    /* scores x_s'W x_t of order 1: a near one-hot SA softmax makes df/dW a float cancellation
       (u_s - a'u with a ~ e_s), which is conditioning, not a kernel error */
    fill_normal(&r, X, (size_t)T * d, d > 16 ? 0.4 : 1.0);
    fill_normal(&r, p, (size_t)d, 0.5);
    fill_normal(&r, v, (size_t)d, 0.5);
    fill_normal(&r, W, (size_t)d * d, 0.25);
    for (i = 0; i < d; ++i) W[i * d + i] += 1.0f;
    to_double(X, Xd, (size_t)T * d);
    P.d = d; P.p = p; P.v = v; P.W = withW ? W : NULL;
    R.d = d; R.T = T;
    R.p = dvec((size_t)d); R.v = dvec((size_t)d); R.W = withW ? dvec((size_t)d * d) : NULL;
    to_double(p, R.p, (size_t)d);
    to_double(v, R.v, (size_t)d);
    if (withW) to_double(W, R.W, (size_t)d * d);
    c.R = &R; c.X = Xd;
    for (mi = 0; mi < 5; ++mi) { /* PA, LPA, SA, LIN, SA-query */
        pattn_model m = (pattn_model)mi;
        int hasp = m == PATTN_PA || m == PATTN_LPA, hasW = m != PATTN_LIN;
        pattn_status st = pattn_model_eval(m, &P, X, T, &f, h, hasp ? gp : NULL, hasW ? gW : NULL);
        c.m = m;
        PT_CHECKF(st == PATTN_OK, "eval %s status %d", pattn_model_name(m), st);
        fr = ref_f(m, &R, Xd, hd);
        PT_CHECKF(fabs((double)f - fr) <= 2e-5 * (1 + fabs(fr)), "%s d=%d T=%d W=%d: f %.8g vs ref %.8g", pattn_model_name(m), d, T, withW, (double)f, fr);
        PT_CHECKF(rel_err_vec(h, hd, (size_t)d) < 2e-5, "%s: h = df/dv rel err %.3g", pattn_model_name(m), rel_err_vec(h, hd, (size_t)d));
        /* df/dv by finite differences too: h must be the gradient, not only the feature */
        fd_grad(R.v, d, obj_f, &c, fd);
        PT_CHECKF(rel_err_vec(h, fd, (size_t)d) < 1e-4, "%s d=%d T=%d W=%d: df/dv vs FD rel err %.3g", pattn_model_name(m), d, T, withW, rel_err_vec(h, fd, (size_t)d));
        if (hasp) {
            fd_grad(R.p, d, obj_f, &c, fd);
            PT_CHECKF(rel_err_vec(gp, fd, (size_t)d) < 1e-4, "%s d=%d T=%d W=%d: df/dp vs FD rel err %.3g", pattn_model_name(m), d, T, withW, rel_err_vec(gp, fd, (size_t)d));
        }
        if (hasW) {
            /* FD around the given W (the identity when P.W is NULL) */
            double *Wd = dvec((size_t)d * d), *keep = R.W;
            if (withW) memcpy(Wd, R.W, (size_t)d * d * sizeof(double));
            else for (i = 0; i < d; ++i) Wd[i * d + i] = 1.0;
            R.W = Wd;
            fd_grad(Wd, d * d, obj_f, &c, fd);
            R.W = keep;
            PT_CHECKF(rel_err_vec(gW, fd, (size_t)d * d) < 1e-4, "%s d=%d T=%d W=%d: df/dW vs FD rel err %.3g", pattn_model_name(m), d, T, withW, rel_err_vec(gW, fd, (size_t)d * d));
            free(Wd);
        }
    }
    free(X); free(p); free(v); free(W); free(h); free(gp); free(gW); free(Xd); free(fd); free(hd);
    free(R.p); free(R.v); free(R.W);
}

/* mean-loss gradients of the batch kernel against FD of the double mean loss, both losses */
static void test_batch_loss_gradients(int d, int T, int withW)
{
    const int n = 70; /* two blocks, the second partial */
    pattn_rng r;
    pattn_params P;
    pattn_batch_out o;
    refp R;
    fd_ctx c;
    float *X = fvec((size_t)n * T * d), *y = fvec((size_t)n), *p = fvec((size_t)d), *v = fvec((size_t)d);
    float *W = fvec((size_t)d * d), *gp = fvec((size_t)d), *gv = fvec((size_t)d), *gW = fvec((size_t)d * d);
    double *Xd = dvec((size_t)n * T * d), *fd = dvec((size_t)d * d);
    int mi, li, i;
    pattn_rng_seed(&r, 7 + d + T + withW);
    fill_normal(&r, X, (size_t)n * T * d, 1.0);
    for (i = 0; i < n; ++i) y[i] = (pattn_rng_u64(&r) >> 63) ? 1.0f : -1.0f;
    fill_normal(&r, p, (size_t)d, 0.4);
    fill_normal(&r, v, (size_t)d, 0.4);
    fill_normal(&r, W, (size_t)d * d, 0.2);
    for (i = 0; i < d; ++i) W[i * d + i] += 1.0f;
    to_double(X, Xd, (size_t)n * T * d);
    P.d = d; P.p = p; P.v = v; P.W = withW ? W : NULL;
    R.d = d; R.T = T;
    R.p = dvec((size_t)d); R.v = dvec((size_t)d);
    R.W = dvec((size_t)d * d);
    to_double(p, R.p, (size_t)d);
    to_double(v, R.v, (size_t)d);
    if (withW) to_double(W, R.W, (size_t)d * d);
    else for (i = 0; i < d; ++i) R.W[i * d + i] = 1.0;
    c.R = &R; c.X = Xd; c.y = y; c.n = n;
    for (li = 0; li < 3; ++li)
        for (mi = 0; mi < 5; ++mi) { /* PA, LPA, SA, LIN, SA-query */
            pattn_model m = (pattn_model)mi;
            pattn_loss l = (pattn_loss)li;
            int hasp = m == PATTN_PA || m == PATTN_LPA, hasW = m != PATTN_LIN;
            pattn_status st;
            double lref;
            memset(&o, 0, sizeof o);
            o.gv = gv;
            o.gp = hasp ? gp : NULL;
            o.gW = hasW ? gW : NULL;
            st = pattn_model_batch(m, &P, l, X, y, n, T, &o, NULL, 0);
            PT_CHECKF(st == PATTN_OK, "batch status %d", st);
            c.m = m; c.l = l;
            lref = ref_mean_loss(m, &R, l, Xd, y, n);
            PT_CHECKF(fabs(o.loss - lref) <= 1e-5 * (1 + lref), "%s loss %d: %.9g vs ref %.9g", pattn_model_name(m), li, o.loss, lref);
            fd_grad(R.v, d, obj_loss, &c, fd);
            PT_CHECKF(rel_err_vec(gv, fd, (size_t)d) < 1e-4, "%s loss %d W=%d: dL/dv rel err %.3g", pattn_model_name(m), li, withW, rel_err_vec(gv, fd, (size_t)d));
            if (hasp) {
                fd_grad(R.p, d, obj_loss, &c, fd);
                PT_CHECKF(rel_err_vec(gp, fd, (size_t)d) < 1e-4, "%s loss %d W=%d: dL/dp rel err %.3g", pattn_model_name(m), li, withW, rel_err_vec(gp, fd, (size_t)d));
            }
            if (hasW) {
                fd_grad(R.W, d * d, obj_loss, &c, fd);
                PT_CHECKF(rel_err_vec(gW, fd, (size_t)d * d) < 1e-4, "%s loss %d W=%d: dL/dW rel err %.3g", pattn_model_name(m), li, withW, rel_err_vec(gW, fd, (size_t)d * d));
            }
        }
    free(X); free(y); free(p); free(v); free(W); free(gp); free(gv); free(gW); free(Xd); free(fd);
    free(R.p); free(R.v); free(R.W);
}

/* the batch kernel equals the per-sample functions: f and h bit for bit, gradients as the
   mean of dloss/df times the per-sample gradients; and it does not depend on the workspace
   size (thread count) */
static void test_batch_vs_samples(void)
{
    const int d = 24, T = 9, n = 200;
    pattn_rng r;
    pattn_params P;
    pattn_batch_out o, o1;
    float *X = fvec((size_t)n * T * d), *y = fvec((size_t)n), *p = fvec((size_t)d), *v = fvec((size_t)d);
    float *W = fvec((size_t)d * d), *gp = fvec((size_t)d), *gv = fvec((size_t)d), *gW = fvec((size_t)d * d);
    float *gp1 = fvec((size_t)d), *gv1 = fvec((size_t)d), *gW1 = fvec((size_t)d * d);
    float *fo = fvec((size_t)n), *ho = fvec((size_t)n * d), *hs = fvec((size_t)d), *gps = fvec((size_t)d), *gWs = fvec((size_t)d * d);
    double *sgp = dvec((size_t)d), *sgv = dvec((size_t)d), *sgW = dvec((size_t)d * d);
    int mi, i, j, li;
    pattn_rng_seed(&r, 31);
    fill_normal(&r, X, (size_t)n * T * d, 1.0);
    for (i = 0; i < n; ++i) y[i] = (pattn_rng_u64(&r) >> 63) ? 1.0f : -1.0f;
    fill_normal(&r, p, (size_t)d, 0.5);
    fill_normal(&r, v, (size_t)d, 0.5);
    fill_normal(&r, W, (size_t)d * d, 0.2);
    for (i = 0; i < d; ++i) W[i * d + i] += 1.0f;
    P.d = d; P.p = p; P.v = v; P.W = W;
    for (li = 0; li < 3; ++li)
        for (mi = 0; mi < 5; ++mi) { /* PA, LPA, SA, LIN, SA-query */
            pattn_model m = (pattn_model)mi;
            int hasp = m == PATTN_PA || m == PATTN_LPA, hasW = m != PATTN_LIN, fok = 1, hok = 1;
            double ls = 0, hits = 0;
            size_t wb1;
            void *w1;
            char tag[64];
            memset(&o, 0, sizeof o);
            o.gv = gv; o.gp = hasp ? gp : NULL; o.gW = hasW ? gW : NULL; o.f = fo; o.h = ho;
            PT_CHECK(pattn_model_batch(m, &P, (pattn_loss)li, X, y, n, T, &o, NULL, 0) == PATTN_OK, "batch");
            memset(sgp, 0, d * sizeof(double)); memset(sgv, 0, d * sizeof(double)); memset(sgW, 0, (size_t)d * d * sizeof(double));
            for (i = 0; i < n; ++i) {
                float f;
                double dl;
                pattn_model_eval(m, &P, X + (size_t)i * T * d, T, &f, hs, hasp ? gps : NULL, hasW ? gWs : NULL);
                fok &= f == fo[i];
                hok &= !memcmp(hs, ho + (size_t)i * d, d * sizeof(float));
                ls += pattn_loss_value((pattn_loss)li, f, y[i], &dl);
                hits += (f > 0) == (y[i] > 0) && f != 0;
                for (j = 0; j < d; ++j) {
                    sgv[j] += dl * hs[j] / n;
                    if (hasp) sgp[j] += dl * gps[j] / n;
                }
                if (hasW)
                    for (j = 0; j < d * d; ++j) sgW[j] += dl * gWs[j] / n;
            }
            PT_CHECKF(fok && hok, "%s: batch f and h equal the per-sample eval bit for bit", pattn_model_name(m));
            PT_NEAR(o.loss, ls / n, 1e-12, 0);
            PT_NEAR(o.acc, hits / n, 0, 0);
            PT_CHECKF(rel_err_vec(gv, sgv, (size_t)d) < 1e-5, "%s: batch gv vs per-sample sum %.3g", pattn_model_name(m), rel_err_vec(gv, sgv, (size_t)d));
            if (hasp) PT_CHECKF(rel_err_vec(gp, sgp, (size_t)d) < 1e-5, "%s: batch gp vs per-sample sum %.3g", pattn_model_name(m), rel_err_vec(gp, sgp, (size_t)d));
            if (hasW) PT_CHECKF(rel_err_vec(gW, sgW, (size_t)d * d) < 1e-5, "%s: batch gW vs per-sample sum %.3g", pattn_model_name(m), rel_err_vec(gW, sgW, (size_t)d * d));
            /* a one-thread workspace gives the same bits */
            wb1 = pattn_model_work_size(m, T, d);
            w1 = malloc(wb1);
            memset(&o1, 0, sizeof o1);
            o1.gv = gv1; o1.gp = hasp ? gp1 : NULL; o1.gW = hasW ? gW1 : NULL;
#ifdef _OPENMP
            {
                int keep = omp_get_max_threads();
                omp_set_num_threads(1);
                wb1 = pattn_model_work_size(m, T, d); /* one slot */
                omp_set_num_threads(keep);
            }
#endif
            PT_CHECK(pattn_model_batch(m, &P, (pattn_loss)li, X, y, n, T, &o1, w1, wb1) == PATTN_OK, "batch, small workspace");
            PT_CHECKF(o1.loss == o.loss && !memcmp(gv1, gv, d * sizeof(float)) &&
                      (!hasp || !memcmp(gp1, gp, d * sizeof(float))) && (!hasW || !memcmp(gW1, gW, (size_t)d * d * sizeof(float))),
                      "%s: results independent of the number of workspace slots", pattn_model_name(m));
            free(w1);
            sprintf(tag, "p1 batch %s loss %d", pattn_model_name(m), li);
            pt_dump(tag, fo, n * sizeof(float));
            pt_dump(tag, ho, (size_t)n * d * sizeof(float));
            pt_dump(tag, gv, d * sizeof(float));
            if (hasp) pt_dump(tag, gp, d * sizeof(float));
            if (hasW) pt_dump(tag, gW, (size_t)d * d * sizeof(float));
            pt_dump(tag, &o.loss, sizeof o.loss);
        }
    /* prediction only: y NULL */
    memset(&o, 0, sizeof o);
    o.f = fo;
    PT_CHECK(pattn_model_batch(PATTN_PA, &P, PATTN_LOSS_LOGISTIC, X, NULL, n, T, &o, NULL, 0) == PATTN_OK && isnan(o.loss) && isnan(o.acc), "y NULL: predictions only, loss NaN");
    free(X); free(y); free(p); free(v); free(W); free(gp); free(gv); free(gW); free(gp1); free(gv1); free(gW1);
    free(fo); free(ho); free(hs); free(gps); free(gWs); free(sgp); free(sgv); free(sgW);
}

/* ---- the contract kernel and the batched PA kernel against a double reference ----------- */

/* reference f, h, df/dp for W = I */
static double ref_pa(const float *X, int T, int d, const float *p, const float *v, double *h, double *gp, double *umax)
{
    double *s = dvec((size_t)T), *a = dvec((size_t)T), *u = dvec((size_t)T), f = 0, mx = 0;
    int t, j;
    for (t = 0; t < T; ++t) {
        double ss = 0, uu = 0;
        for (j = 0; j < d; ++j) {
            ss += (double)X[t * d + j] * p[j];
            uu += (double)X[t * d + j] * v[j];
        }
        s[t] = ss;
        u[t] = uu;
        mx = fabs(uu) > mx ? fabs(uu) : mx;
    }
    ref_softmax(s, a, T);
    for (t = 0; t < T; ++t) f += a[t] * u[t];
    for (j = 0; j < d; ++j) h[j] = gp[j] = 0;
    for (t = 0; t < T; ++t)
        for (j = 0; j < d; ++j) {
            h[j] += a[t] * X[t * d + j];
            gp[j] += a[t] * (u[t] - f) * X[t * d + j];
        }
    *umax = mx;
    free(s); free(a); free(u);
    return f;
}

/* The logistic loss over a wide range of predictions, on small PA samples that go several at
   a time through the batch kernel (whose AVX2 path takes their losses four at a time): sample
   i is scaled by a factor from 1e-4 to 400, one is all zero (f = 0), so |y f| runs from 0 to
   beyond 690, where the four-lane form hands its group back to the scalar one. The loss
   must be the per-sample losses summed; the dump compares every build's bits. */
static void test_logistic_range(void)
{
    enum { n = 64, T = 4, d = 12 };
    float X[n * T * d], y[n], p[d], v[d], fo[n], gv[d], gp[d];
    pattn_params P;
    pattn_batch_out o;
    pattn_rng r;
    double ls = 0.0, big = 0.0, small = 1e300;
    int i, j, nbig = 0;
    pattn_rng_seed(&r, 91);
    pattn_rng_normal_f32(&r, X, n * T * d);
    pattn_rng_normal_f32(&r, p, d);
    pattn_rng_normal_f32(&r, v, d);
    for (i = 0; i < n; ++i) {
        float sc = i == 5 ? 0.0f : (float)(1e-4 * pow(4e6, (double)((i * 37) % n) / (n - 1)));
        for (j = 0; j < T * d; ++j) X[i * T * d + j] *= sc;
        y[i] = (pattn_rng_u64(&r) >> 63) ? 1.0f : -1.0f;
    }
    for (j = 0; j < d; ++j) p[j] *= 0.01f;
    memset(&P, 0, sizeof P);
    P.d = d; P.p = p; P.v = v;
    memset(&o, 0, sizeof o);
    o.f = fo; o.gv = gv; o.gp = gp;
    PT_CHECK(pattn_model_batch(PATTN_PA, &P, PATTN_LOSS_LOGISTIC, X, y, n, T, &o, NULL, 0) == PATTN_OK, "logistic range: batch");
    for (i = 0; i < n; ++i) {
        double a = fabs((double)fo[i]);
        ls += pattn_loss_value(PATTN_LOSS_LOGISTIC, fo[i], y[i], NULL);
        if (a > big) big = a;
        if (a < small) small = a;
        nbig += a > 690.0;
    }
    PT_CHECKF(small == 0.0 && big > 690.0 && nbig >= 1 && nbig <= n / 2, "logistic range: |f| spans 0 to %.3g (%d beyond 690)", big, nbig);
    PT_NEAR(o.loss, ls / n, 1e-13, 0);
    pt_dump("p1 logistic range", fo, sizeof fo);
    pt_dump("p1 logistic range gv", gv, sizeof gv);
    pt_dump("p1 logistic range gp", gp, sizeof gp);
    pt_dump("p1 logistic range loss", &o.loss, sizeof o.loss);
}

static void test_pa_kernels(void)
{
    /* (T, d, input scale, prompt scale, ramp): tails of every kind, a near one-hot softmax,
       a spread of ~1000 in the scores, T = 1, d = 1, large magnitudes. Then samples of more
       than 32768 floats, which the library takes in one pass of chunks: many chunks, a
       chunk of 8 long rows, one chunk shorter than 8 rows, T beyond the 4096-token blocks,
       and ramps (token t scaled by 0.2 + 2t/T, or the reverse), which put the largest
       scores in the last chunks, so the running maximum keeps moving, or in the first; and
       d = 1 and 2, whose chunks would be longer than a 4096-token block. */
    static const struct { int T, d; double xs, ps; int ramp; } cs[] = {
        {1, 1, 1, 1, 0}, {1, 8, 1, 1, 0}, {3, 5, 1, 1, 0}, {17, 33, 1, 1, 0}, {32, 64, 1, 1, 0}, {20, 200, 0.5, 0.3, 0},
        {9, 13, 1, 30, 0}, {40, 16, 1, 250, 0}, {64, 7, 100, 0.5, 0}, {8, 40, 1e-3, 1e3, 0}, {100, 3, 2, 0.01, 0},
        {600, 64, 1, 0.3, 0}, {40, 1000, 1, 0.05, 0}, {3, 12000, 1, 0.01, 0}, {5000, 8, 1, 0.5, 0},
        {2500, 16, 1, 3, 0}, {2500, 16, 1, 2, 1}, {700, 64, 1, 1, 1}, {700, 64, 1, 1, -1},
        {40000, 1, 1, 1, 0}, {20000, 2, 1, 1, 1}};
    pattn_rng r;
    double worst_f = 0, worst_h = 0, worst_g = 0, worst_bf = 0, worst_bh = 0, worst_bg = 0;
    size_t c;
    pattn_rng_seed(&r, 4242);
    for (c = 0; c < sizeof cs / sizeof cs[0]; ++c) {
        int T = cs[c].T, d = cs[c].d, rep;
        for (rep = 0; rep < 4; ++rep) {
            float *X = fvec((size_t)T * d), *p = fvec((size_t)d), *v = fvec((size_t)d), *h = fvec((size_t)d), *g = fvec((size_t)d);
            double *hr = dvec((size_t)d), *gr = dvec((size_t)d), umax, fr, ef, eh, eg, xmax;
            float f;
            pattn_params P;
            fill_normal(&r, X, (size_t)T * d, cs[c].xs);
            fill_normal(&r, p, (size_t)d, cs[c].ps);
            fill_normal(&r, v, (size_t)d, 1.0);
            if (cs[c].ramp) {
                int t, j;
                for (t = 0; t < T; ++t) {
                    float k = (float)(0.2 + 2.0 * (cs[c].ramp > 0 ? t : T - 1 - t) / T);
                    for (j = 0; j < d; ++j) X[(size_t)t * d + j] *= k;
                }
            }
            fr = ref_pa(X, T, d, p, v, hr, gr, &umax);
            xmax = max_abs_f(X, (size_t)T * d);
            /* errors relative to the natural scales: max|u_t| for f, max|x| for h, their
               product for grad_p (f, h, grad_p may themselves cancel to ~0) */
            f = pattn_pa_forward_backward_f32(X, T, d, p, v, h, g);
            ef = fabs((double)f - fr) / umax;
            eh = rel_err_vec(h, hr, (size_t)d) * max_abs_d(hr, (size_t)d) / xmax;
            eg = rel_err_vec(g, gr, (size_t)d) * max_abs_d(gr, (size_t)d) / (xmax * umax);
            worst_f = ef > worst_f ? ef : worst_f;
            worst_h = eh > worst_h ? eh : worst_h;
            worst_g = eg > worst_g ? eg : worst_g;
            PT_CHECKF(ef < 1e-4 && eh < 1e-4 && eg < 1e-4, "contract kernel T=%d d=%d case %d: errors f %.3g h %.3g grad_p %.3g", T, d, (int)c, ef, eh, eg);
            /* the library's own PA path (pattn_model_eval shares the batch kernel) */
            P.d = d; P.p = p; P.v = v; P.W = NULL;
            PT_CHECK(pattn_model_eval(PATTN_PA, &P, X, T, &f, h, g, NULL) == PATTN_OK, "eval");
            ef = fabs((double)f - fr) / umax;
            eh = rel_err_vec(h, hr, (size_t)d) * max_abs_d(hr, (size_t)d) / xmax;
            eg = rel_err_vec(g, gr, (size_t)d) * max_abs_d(gr, (size_t)d) / (xmax * umax);
            worst_bf = ef > worst_bf ? ef : worst_bf;
            worst_bh = eh > worst_bh ? eh : worst_bh;
            worst_bg = eg > worst_bg ? eg : worst_bg;
            PT_CHECKF(ef < 1e-4 && eh < 1e-4 && eg < 1e-4, "batched PA kernel T=%d d=%d case %d: errors f %.3g h %.3g grad_p %.3g", T, d, (int)c, ef, eh, eg);
            free(X); free(p); free(v); free(h); free(g); free(hr); free(gr);
        }
    }
    pt_info("PA vs double reference, worst scaled error: contract kernel f %.2g h %.2g grad_p %.2g; batch kernel f %.2g h %.2g grad_p %.2g",
            worst_f, worst_h, worst_g, worst_bf, worst_bh, worst_bg);
}

/* ---- the contextual mixture generator -------------------------------------------------- */

static pattn_cmm cmm_make(int d, int T, double zeta, double sigma, double qn, double vn, double rho, double eps, double a, int noise)
{
    pattn_cmm m;
    memset(&m, 0, sizeof m);
    m.d = d; m.T = T; m.zeta = zeta; m.sigma = sigma; m.q_norm = qn; m.v_norm = vn;
    m.rho = rho; m.eps = eps; m.dist_q = a; m.noise = noise;
    return m;
}

static void test_generator_stats(void)
{
    const int n = pt_quick() ? 1500 : 5000, d = 16, T = 20;
    pattn_cmm m = cmm_make(d, T, 0.25, 0.7, 2.0, 1.5, 0.8, 0.3, 0.4, PATTN_NOISE_ORTHO);
    const int k = 5;
    float *X = fvec((size_t)n * T * d), *y = fvec((size_t)n);
    uint8_t *mask = (uint8_t *)malloc((size_t)n * T);
    double ysum = 0, ndis = 0, nplain = 0, var1 = 0, mean_rel[16], mean_dis[16], c0ok = 1, yv;
    long nrel = 0, ndist = 0, kbad = 0, ybad = 0, i, t, j, cnt;
    memset(mean_rel, 0, sizeof mean_rel);
    memset(mean_dis, 0, sizeof mean_dis);
    PT_CHECK(pattn_cmm_sample(&m, NULL, 77, 0, n, X, y, mask) == PATTN_OK, "cmm_sample");
    for (i = 0; i < n; ++i) {
        ybad += !(y[i] == 1.0f || y[i] == -1.0f);
        ysum += y[i];
        cnt = 0;
        for (t = 0; t < T; ++t) {
            const float *x = X + ((size_t)i * T + t) * d;
            int ty = mask[i * T + t];
            yv = y[i];
            if (ty == 1) {
                ++cnt; ++nrel;
                /* relevant: q + y v* + z; the ORTHO noise has no q = e1 component */
                c0ok = c0ok && x[0] == 2.0f;
                for (j = 0; j < d; ++j) mean_rel[j] += (j == 1 ? yv * x[j] : x[j]);
            } else if (ty == 2) {
                ++ndist;
                c0ok = c0ok && x[0] == 0.8f; /* a |q| */
                for (j = 0; j < d; ++j) mean_dis[j] += (j == 1 ? yv * x[j] : x[j]);
            } else {
                ybad += ty != 0;
                c0ok = c0ok && x[0] == 0.0f;
                for (j = 2; j < d; ++j) var1 += (double)x[j] * x[j];
                nplain += 1;
            }
        }
        kbad += cnt != k;
    }
    ndis = (double)ndist;
    PT_CHECK(ybad == 0, "labels are +-1 and mask values in {0, 1, 2}");
    PT_CHECK(kbad == 0, "exactly k = lround(zeta T) relevant tokens in every sample");
    PT_CHECK(c0ok, "ORTHO noise: the q coordinate is exactly |q|, a|q| or 0");
    /* label balance within 4 SE */
    PT_CHECKF(fabs(ysum / n) < 4.0 / sqrt((double)n), "label mean %.4f", ysum / n);
    /* distractor rate among the T-k irrelevant tokens: binomial SE */
    {
        double N = (double)n * (T - k), rate = ndis / N, se = sqrt(0.3 * 0.7 / N);
        PT_CHECKF(fabs(rate - 0.3) < 4 * se, "distractor rate %.4f vs eps 0.3 (SE %.4f)", rate, se);
    }
    /* noise variance sigma^2 on coordinates orthogonal to q (chi-square SE) */
    {
        double N = nplain * (d - 2), var = var1 / N, se = 0.49 * sqrt(2.0 / N);
        PT_CHECKF(fabs(var - 0.49) < 4 * se, "noise variance %.5f vs 0.49 (SE %.5f)", var, se);
    }
    /* mean of relevant tokens = q + y v* (y-aligned on the v* coordinate), distractors
       a q - rho y v*: per coordinate within 4 SE (sd sigma) */
    {
        double se_r = 0.7 / sqrt((double)nrel), se_d = 0.7 / sqrt((double)ndist);
        int ok_r = 1, ok_d = 1;
        for (j = 1; j < d; ++j) {
            double wr = j == 1 ? 1.5 : 0.0, wd = j == 1 ? -0.8 * 1.5 : 0.0;
            ok_r &= fabs(mean_rel[j] / nrel - wr) < 4 * se_r;
            ok_d &= fabs(mean_dis[j] / ndist - wd) < 4 * se_d;
        }
        PT_CHECKF(ok_r, "mean relevant token = q + y v* (v* coordinate %.4f, want 1.5)", mean_rel[1] / nrel);
        PT_CHECKF(ok_d, "mean distractor = a q - rho y v* (v* coordinate %.4f, want -1.2)", mean_dis[1] / ndist);
    }
    pt_dump("p1 cmm X", X, (size_t)n * T * d * sizeof(float));
    pt_dump("p1 cmm y", y, (size_t)n * sizeof(float));
    pt_dump("p1 cmm mask", mask, (size_t)n * T);

    /* ISO noise: the q coordinate gets variance sigma^2 too */
    m.noise = PATTN_NOISE_ISO;
    m.eps = 0;
    PT_CHECK(pattn_cmm_sample(&m, NULL, 78, 0, n, X, y, mask) == PATTN_OK, "ISO");
    {
        double s2 = 0, N = 0;
        for (i = 0; i < n; ++i)
            for (t = 0; t < T; ++t)
                if (mask[i * T + t] == 0) {
                    double x0 = X[((size_t)i * T + t) * d];
                    s2 += x0 * x0;
                    N += 1;
                } else ybad += mask[i * T + t] != 1;
        PT_CHECK(ybad == 0, "eps = 0: no distractors");
        PT_CHECKF(fabs(s2 / N - 0.49) < 4 * 0.49 * sqrt(2.0 / N), "ISO q-coordinate variance %.4f", s2 / N);
    }
    pt_dump("p1 cmm X iso", X, (size_t)n * T * d * sizeof(float));
    free(X); free(y); free(mask);
}

static void test_generator_user_vectors(void)
{
    const int n = 300, d = 12, T = 10;
    pattn_cmm m = cmm_make(d, T, 0.3, 0.9, 1.0, 1.0, 1.0, 0.2, 0.3, PATTN_NOISE_ORTHO);
    pattn_cmm_ext ext;
    pattn_rng r;
    float q[12], vs[12], qh[12], *X = fvec((size_t)n * T * d), *y = fvec((size_t)n);
    uint8_t *mask = (uint8_t *)malloc((size_t)n * T);
    double qq = 0, qv = 0, worst = 0, mrel = 0, nrel = 0;
    int i, t, j;
    pattn_rng_seed(&r, 5);
    fill_normal(&r, q, d, 1.0);
    fill_normal(&r, vs, d, 1.0);
    for (j = 0; j < d; ++j) { qq += (double)q[j] * q[j]; qv += (double)q[j] * vs[j]; }
    for (j = 0; j < d; ++j) vs[j] = (float)(vs[j] - qv / qq * q[j]); /* Gram-Schmidt */
    for (j = 0; j < d; ++j) qh[j] = (float)(q[j] / sqrt(qq));
    memset(&ext, 0, sizeof ext);
    ext.q = q; ext.vstar = vs;
    PT_CHECK(pattn_cmm_sample(&m, &ext, 9, 0, n, X, y, mask) == PATTN_OK, "user q, v*");
    /* ORTHO: plain tokens are orthogonal to q; relevant ones have x.qhat = |q| */
    for (i = 0; i < n; ++i)
        for (t = 0; t < T; ++t) {
            const float *x = X + ((size_t)i * T + t) * d;
            double c = 0, xn = 0;
            for (j = 0; j < d; ++j) { c += (double)x[j] * qh[j]; xn += (double)x[j] * x[j]; }
            if (mask[i * T + t] == 0) worst = fabs(c) / sqrt(xn) > worst ? fabs(c) / sqrt(xn) : worst;
            if (mask[i * T + t] == 1) { mrel += c; nrel += 1; }
        }
    PT_CHECKF(worst < 1e-5, "ORTHO noise orthogonal to a user q: worst |cos| %.3g", worst);
    PT_NEAR(mrel / nrel, sqrt(qq), 1e-5, 0);
    /* the effective vectors */
    {
        float qo[12], vo[12];
        PT_CHECK(pattn_cmm_vectors(&m, &ext, qo, vo) == PATTN_OK && !memcmp(qo, q, sizeof q) && !memcmp(vo, vs, sizeof vs), "cmm_vectors returns the user vectors");
        PT_CHECK(pattn_cmm_vectors(&m, NULL, qo, vo) == PATTN_OK && qo[0] == 1.0f && vo[1] == 1.0f && qo[1] == 0.0f && vo[0] == 0.0f, "default vectors");
    }
    /* leading positions */
    ext.leading = 1;
    PT_CHECK(pattn_cmm_sample(&m, &ext, 9, 0, n, X, y, mask) == PATTN_OK, "leading");
    {
        int ok = 1;
        for (i = 0; i < n; ++i)
            for (t = 0; t < T; ++t) ok &= (mask[i * T + t] == 1) == (t < 3);
        PT_CHECK(ok, "leading: the first k tokens are the relevant ones");
    }
    /* not orthogonal: EINVAL, untouched */
    vs[0] += 0.5f;
    ext.leading = 0;
    fill_sent(X, (size_t)n * T * d);
    PT_CHECK(pattn_cmm_sample(&m, &ext, 9, 0, n, X, y, mask) == PATTN_EINVAL && all_sent(X, (size_t)n * T * d), "non-orthogonal q, v*: EINVAL");
    free(X); free(y); free(mask);
}

static void test_generator_reproducible(void)
{
    const int n = 150, d = 10, T = 12;
    pattn_cmm m = cmm_make(d, T, 0.25, 1.0, 3.0, 2.0, 1.0, 0.2, 0.2, PATTN_NOISE_ORTHO);
    size_t sz = (size_t)n * T * d;
    float *A = fvec(sz), *B = fvec(sz), *ya = fvec((size_t)n), *yb = fvec((size_t)n);
    uint8_t *ma = (uint8_t *)malloc((size_t)n * T), *mb = (uint8_t *)malloc((size_t)n * T);
    int splits[3] = {1, 64, 149}, s;
    PT_CHECK(pattn_cmm_sample(&m, NULL, 5, 0, n, A, ya, ma) == PATTN_OK, "gen");
    PT_CHECK(pattn_cmm_sample(&m, NULL, 5, 0, n, B, yb, mb) == PATTN_OK, "gen again");
    PT_CHECK(!memcmp(A, B, sz * 4) && !memcmp(ya, yb, n * 4) && !memcmp(ma, mb, (size_t)n * T), "same seed, same data");
    for (s = 0; s < 3; ++s) {
        int k = splits[s];
        memset(B, 0, sz * 4);
        PT_CHECK(pattn_cmm_sample(&m, NULL, 5, 0, k, B, yb, mb) == PATTN_OK, "first part");
        PT_CHECK(pattn_cmm_sample(&m, NULL, 5, (uint64_t)k, n - k, B + (size_t)k * T * d, yb + k, mb + (size_t)k * T) == PATTN_OK, "second part");
        PT_CHECKF(!memcmp(A, B, sz * 4) && !memcmp(ya, yb, n * 4) && !memcmp(ma, mb, (size_t)n * T), "[0,n) equals [0,%d) + [%d,n)", k, k);
    }
    PT_CHECK(pattn_cmm_sample(&m, NULL, 6, 0, n, B, yb, mb) == PATTN_OK && memcmp(A, B, sz * 4), "another seed, other data");
    /* [n, 2n) is not a copy of [0, n) */
    PT_CHECK(pattn_cmm_sample(&m, NULL, 5, (uint64_t)n, n, B, yb, mb) == PATTN_OK && memcmp(A, B, sz * 4), "consecutive ranges differ");
#ifdef _OPENMP
    {
        int keep = omp_get_max_threads();
        omp_set_num_threads(1);
        pattn_cmm_sample(&m, NULL, 5, 0, n, B, yb, mb);
        omp_set_num_threads(keep);
        PT_CHECK(!memcmp(A, B, sz * 4), "one thread gives the same data");
    }
#endif
    /* sigma = 0 is allowed: tokens are exactly the signal */
    m.sigma = 0;
    m.eps = 0;
    PT_CHECK(pattn_cmm_sample(&m, NULL, 5, 0, n, B, yb, mb) == PATTN_OK, "sigma 0");
    {
        int ok = 1, i, t, j;
        for (i = 0; i < n; ++i)
            for (t = 0; t < T; ++t)
                for (j = 0; j < d; ++j) {
                    float x = B[((size_t)i * T + t) * d + j], want = 0.0f;
                    if (mb[i * T + t] == 1) want = j == 0 ? 3.0f : j == 1 ? 2.0f * yb[i] : 0.0f;
                    ok &= x == want;
                }
        PT_CHECK(ok, "sigma = 0: relevant tokens q + y v*, the others 0");
    }
    free(A); free(B); free(ya); free(yb); free(ma); free(mb);
}

/* The feature law on generated data: under p = Gamma q/|q|^2 (ORTHO, a = 0) the feature is
   h = c q + y alpha_J v* + s g with c = k w_R, alpha_J = k w_R - rho J w_I, s as in docs/theory.md */
static void test_feature_law(void)
{
    const int n = pt_quick() ? 2000 : 6000, d = 32, T = 20, k = 4;
    const double G = 1.5, qn = 1.3, vn = 0.9, sig = 0.8, rho = 1.0, eps = 0.25;
    pattn_cmm m = cmm_make(d, T, 0.2, sig, qn, vn, rho, eps, 0.0, PATTN_NOISE_ORTHO);
    float *X = fvec((size_t)n * T * d), *y = fvec((size_t)n), *H = fvec((size_t)n * d), p[32];
    double Z = k * exp(G) + (T - k), wR = exp(G) / Z, wI = 1.0 / Z, c = k * wR;
    double Ea = k * wR - rho * eps * (T - k) * wI, s2 = sig * sig * (k * wR * wR + (T - k) * wI * wI);
    double sa = 0, sa2 = 0, sg = 0, cworst = 0;
    int i, j;
    memset(p, 0, sizeof p);
    p[0] = (float)(G / qn); /* Gamma q / |q|^2 with q = |q| e1 */
    PT_CHECK(pattn_cmm_sample(&m, NULL, 2024, 0, n, X, y, NULL) == PATTN_OK, "gen");
    PT_CHECK(pattn_pa_features(X, n, T, d, p, NULL, H) == PATTN_OK, "features");
    for (i = 0; i < n; ++i) {
        const float *h = H + (size_t)i * d;
        double ci = h[0] / qn, ai = y[i] * h[1] / vn;
        cworst = fabs(ci - c) > cworst ? fabs(ci - c) : cworst;
        sa += ai;
        sa2 += ai * ai;
        for (j = 2; j < d; ++j) sg += (double)h[j] * h[j];
    }
    {
        double ma = sa / n, sda = sqrt(sa2 / n - ma * ma), se_a = sda / sqrt((double)n);
        double ms2 = sg / ((double)n * (d - 2)), se_s2 = s2 * sqrt(2.0 / ((double)n * (d - 2)));
        PT_CHECKF(cworst < 2e-6, "c = k w_R in every sample (worst deviation %.3g)", cworst);
        PT_CHECKF(fabs(ma - Ea) < 4 * se_a, "E[alpha] %.5f vs theory %.5f (SE %.5f)", ma, Ea, se_a);
        PT_CHECKF(fabs(ms2 - s2) < 4 * se_s2, "s^2 %.6f vs theory %.6f (SE %.6f)", ms2, s2, se_s2);
        pt_info("feature law at Gamma = %.1f: c %.6f (theory %.6f), E[alpha] %.5f +- %.5f (theory %.5f), s %.5f (theory %.5f)",
                G, H[0] / qn, c, ma, se_a, Ea, sqrt(ms2), sqrt(s2));
    }
    pt_dump("p1 features", H, (size_t)n * d * sizeof(float));
    free(X); free(y); free(H);
}

/* ---- the ridge head --------------------------------------------------------------------- */

/* Gaussian elimination with partial pivoting: A (m x m) x = b, in double */
static void ref_solve(double *A, double *b, int m)
{
    int i, j, k;
    for (k = 0; k < m; ++k) {
        int piv = k;
        for (i = k + 1; i < m; ++i)
            if (fabs(A[i * m + k]) > fabs(A[piv * m + k])) piv = i;
        if (piv != k) {
            double t;
            for (j = 0; j < m; ++j) { t = A[k * m + j]; A[k * m + j] = A[piv * m + j]; A[piv * m + j] = t; }
            t = b[k]; b[k] = b[piv]; b[piv] = t;
        }
        for (i = k + 1; i < m; ++i) {
            double f = A[i * m + k] / A[k * m + k];
            for (j = k; j < m; ++j) A[i * m + j] -= f * A[k * m + j];
            b[i] -= f * b[k];
        }
    }
    for (k = m - 1; k >= 0; --k) {
        double s = b[k];
        for (j = k + 1; j < m; ++j) s -= A[k * m + j] * b[j];
        b[k] = s / A[k * m + k];
    }
}

/* primal reference (H'H/n + lambda I) w = H'y/n */
static void ref_ridge_primal(const float *H, const float *y, int n, int d, double lam, double *w)
{
    double *A = dvec((size_t)d * d);
    int i, j, t;
    for (i = 0; i < d; ++i) {
        for (j = 0; j < d; ++j) {
            double s = 0;
            for (t = 0; t < n; ++t) s += (double)H[t * d + i] * H[t * d + j];
            A[i * d + j] = s / n + (i == j ? lam : 0);
        }
        w[i] = 0;
        for (t = 0; t < n; ++t) w[i] += (double)H[t * d + i] * y[t] / n;
    }
    ref_solve(A, w, d);
    free(A);
}
/* dual reference w = H'(HH' + n lambda I)^{-1} y */
static void ref_ridge_dual(const float *H, const float *y, int n, int d, double lam, double *w)
{
    double *A = dvec((size_t)n * n), *a = dvec((size_t)n);
    int i, j, t;
    for (i = 0; i < n; ++i) {
        for (j = 0; j < n; ++j) {
            double s = 0;
            for (t = 0; t < d; ++t) s += (double)H[i * d + t] * H[j * d + t];
            A[i * n + j] = s + (i == j ? n * lam : 0);
        }
        a[i] = y[i];
    }
    ref_solve(A, a, n);
    for (t = 0; t < d; ++t) {
        w[t] = 0;
        for (i = 0; i < n; ++i) w[t] += (double)H[i * d + t] * a[i];
    }
    free(A); free(a);
}
static double rel_err_dd(const double *a, const double *b, int n)
{
    double e = 0, s = max_abs_d(b, (size_t)n);
    int i;
    for (i = 0; i < n; ++i) e = fabs(a[i] - b[i]) > e ? fabs(a[i] - b[i]) : e;
    return e / s;
}

static void test_ridge(void)
{
    pattn_rng r;
    int cases[4][2] = {{120, 20}, {20, 120}, {40, 40}, {7, 30}}, c, i, j;
    double lams[3] = {0.5, 1e-3, 0.0};
    pattn_rng_seed(&r, 3);
    for (c = 0; c < 4; ++c) {
        int n = cases[c][0], d = cases[c][1], li;
        float *H = fvec((size_t)n * d), *y = fvec((size_t)n);
        double *w = dvec((size_t)d), *wp = dvec((size_t)d), *wd = dvec((size_t)d);
        fill_normal(&r, H, (size_t)n * d, 1.0);
        fill_normal(&r, y, (size_t)n, 1.0);
        for (li = 0; li < 3; ++li) {
            double lam = lams[li];
            PT_CHECK(pattn_ridge_fit(H, y, n, d, lam, w) == PATTN_OK, "ridge");
            if (lam > 0 || n >= d) ref_ridge_primal(H, y, n, d, lam, wp);
            if (lam > 0 || n <= d) ref_ridge_dual(H, y, n, d, lam, wd);
            if (lam > 0 || n >= d) PT_CHECKF(rel_err_dd(w, wp, d) < 1e-8, "ridge n=%d d=%d lambda=%g vs primal reference: %.3g", n, d, lam, rel_err_dd(w, wp, d));
            if (lam > 0 || n <= d) PT_CHECKF(rel_err_dd(w, wd, d) < 1e-8, "ridge n=%d d=%d lambda=%g vs dual reference: %.3g", n, d, lam, rel_err_dd(w, wd, d));
            if (lam == 0 && n < d) {
                /* minimum-norm interpolation: H w = y, and w lies in the row space of H
                   (adding a null-space direction only lengthens it) */
                double res = 0, wn = 0, wn2 = 0;
                double *z = dvec((size_t)d), *zz = dvec((size_t)d);
                for (i = 0; i < n; ++i) {
                    double s = 0;
                    for (j = 0; j < d; ++j) s += (double)H[i * d + j] * w[j];
                    res = fabs(s - y[i]) > res ? fabs(s - y[i]) : res;
                }
                PT_CHECKF(res < 1e-9, "lambda = 0, n < d: interpolates (max residual %.3g)", res);
                /* a null-space vector: random z minus its projection on the row space */
                for (j = 0; j < d; ++j) z[j] = pattn_rng_normal_f64(&r);
                {
                    float *yz = fvec((size_t)n);
                    for (i = 0; i < n; ++i) {
                        double s = 0;
                        for (j = 0; j < d; ++j) s += (double)H[i * d + j] * z[j];
                        yz[i] = (float)s; /* the row-space part of z solves H x = Hz */
                    }
                    ref_ridge_dual(H, yz, n, d, 0.0, zz);
                    free(yz);
                }
                for (j = 0; j < d; ++j) {
                    double nz = z[j] - zz[j];
                    wn += w[j] * w[j];
                    wn2 += (w[j] + nz) * (w[j] + nz);
                }
                PT_CHECKF(wn < wn2, "minimum norm: |w|^2 %.6g < %.6g of another interpolant", wn, wn2);
                free(z); free(zz);
            }
        }
        free(H); free(y); free(w); free(wp); free(wd);
    }
    /* rank-deficient Gram at lambda = 0 (a duplicated column, n > d): the pseudo-inverse gives
       the minimum-norm least-squares solution, equal weights on the twins */
    {
        int n = 60, d = 6;
        float *H = fvec((size_t)n * d), *y = fvec((size_t)n);
        double w[6], g[6];
        fill_normal(&r, H, (size_t)n * d, 1.0);
        fill_normal(&r, y, (size_t)n, 1.0);
        for (i = 0; i < n; ++i) H[i * d + 5] = H[i * d + 2];
        PT_CHECK(pattn_ridge_fit(H, y, n, d, 0.0, w) == PATTN_OK, "singular Gram");
        PT_NEAR(w[2], w[5], 1e-8, 1e-10);
        for (j = 0; j < d; ++j) {
            g[j] = 0;
            for (i = 0; i < n; ++i) {
                double s = 0;
                int k;
                for (k = 0; k < d; ++k) s += (double)H[i * d + k] * w[k];
                g[j] += (double)H[i * d + j] * (s - y[i]);
            }
        }
        PT_CHECKF(max_abs_d(g, 6) < 1e-9 * n, "normal equations hold: H'(Hw - y) max %.3g", max_abs_d(g, 6));
        pt_dump("p1 ridge singular", w, sizeof w);
        free(H); free(y);
    }
}

/* ---- training ----------------------------------------------------------------------------- */

typedef struct { int calls, stop_at; } prog_ctx;
static int prog_cb(void *u, const pattn_train_rec *rec, long steps)
{
    prog_ctx *c = (prog_ctx *)u;
    (void)steps;
    c->calls++;
    return rec->step == c->stop_at;
}

static void test_training(void)
{
    const int n = 512, d = 16, T = 10;
    pattn_cmm m = cmm_make(d, T, 0.3, 0.8, 1.0, 1.0, 0.0, 0.0, 0.0, PATTN_NOISE_ORTHO);
    float *X = fvec((size_t)n * T * d), *y = fvec((size_t)n), p[16], v[16], W[256];
    pattn_params P;
    pattn_train_opts o;
    pattn_history hist;
    prog_ctx pc;
    int i;
    memset(&hist, 0, sizeof hist);
    pattn_cmm_sample(&m, NULL, 11, 0, n, X, y, NULL);
    P.d = d; P.p = p; P.v = v; P.W = NULL;

    /* full-batch GD on PA, logistic: the loss decreases */
    memset(p, 0, sizeof p); memset(v, 0, sizeof v);
    memset(&o, 0, sizeof o);
    o.model = PATTN_PA; o.loss = PATTN_LOSS_LOGISTIC; o.opt.steps = 40; o.opt.lr = 0.5;
    o.opt.optimizer = PATTN_OPT_GD; o.opt.schedule = PATTN_SCHED_CONSTANT;
    PT_CHECK(pattn_train(&o, &P, X, y, n, T, &hist) == PATTN_OK, "GD");
    PT_CHECKF(hist.len == 40 && hist.diverged_at == -1, "history length %ld", hist.len);
    PT_CHECK(hist.rec[0].step == 0 && hist.rec[39].step == 39 && hist.rec[5].lr == 0.5, "history steps and rates");
    PT_NEAR(hist.rec[0].loss, log(2.0), 1e-12, 0); /* zero init: f = 0 */
    PT_CHECKF(hist.rec[39].loss < 0.8 * hist.rec[0].loss, "GD decreases the loss: %.4f -> %.4f", hist.rec[0].loss, hist.rec[39].loss);
    {
        int mono = 1;
        for (i = 1; i < 40; ++i) mono &= hist.rec[i].loss <= hist.rec[i - 1].loss + 1e-12;
        PT_CHECK(mono, "small-step full-batch GD: monotone loss");
    }
    pt_dump_history("p1 train GD history", &hist);
    pt_dump("p1 train GD params", p, sizeof p);
    pt_dump("p1 train GD params v", v, sizeof v);
    pattn_history_free(&hist);
    PT_CHECK(hist.rec == NULL && hist.len == 0, "pattn_history_free empties the history");

    /* Adam on an easy instance converges */
    memset(p, 0, sizeof p); memset(v, 0, sizeof v);
    o.opt.optimizer = PATTN_OPT_ADAM; o.opt.lr = 0.05; o.opt.steps = 150;
    PT_CHECK(pattn_train(&o, &P, X, y, n, T, &hist) == PATTN_OK, "Adam");
    PT_CHECKF(hist.rec[149].acc >= 0.99 && hist.rec[149].loss < 0.1, "Adam converges: acc %.4f loss %.4f", hist.rec[149].acc, hist.rec[149].loss);
    pt_info("Adam on PA (n=%d, d=%d, T=%d): loss %.4f -> %.4f, accuracy %.3f", n, d, T, hist.rec[0].loss, hist.rec[149].loss, hist.rec[149].acc);
    pt_dump_history("p1 train Adam history", &hist);
    pattn_history_free(&hist);

    /* mini-batch GD with a progress callback that stops early */
    memset(p, 0, sizeof p); memset(v, 0, sizeof v);
    o.opt.optimizer = PATTN_OPT_GD; o.opt.lr = 0.5; o.opt.steps = 100; o.batch = 64; o.opt.seed = 3;
    pc.calls = 0; pc.stop_at = 29;
    o.opt.progress = prog_cb; o.opt.user = &pc; o.opt.progress_every = 1;
    PT_CHECK(pattn_train(&o, &P, X, y, n, T, &hist) == PATTN_OK, "mini-batch");
    PT_CHECKF(hist.len == 30 && pc.calls == 30, "callback stops training: %ld records, %d calls", hist.len, pc.calls);
    {
        double a = 0, b = 0;
        for (i = 0; i < 5; ++i) { a += hist.rec[i].loss; b += hist.rec[25 + i].loss; }
        PT_CHECKF(b < a, "mini-batch GD decreases the loss (%.4f -> %.4f)", a / 5, b / 5);
    }
    pt_dump_history("p1 train minibatch history", &hist);
    pattn_history_free(&hist);
    o.opt.progress = NULL; o.batch = 0; o.opt.progress_every = 0;

    /* SA trains W and v; LPA and LIN train too; squared loss */
    {
        static const pattn_model ms[3] = {PATTN_SA, PATTN_LPA, PATTN_LIN};
        int k;
        for (k = 0; k < 3; ++k) {
            memset(p, 0, sizeof p); memset(v, 0, sizeof v); memset(W, 0, sizeof W);
            for (i = 0; i < d; ++i) W[i * d + i] = 1.0f;
            P.W = ms[k] == PATTN_SA ? W : NULL;
            if (ms[k] == PATTN_LPA) for (i = 0; i < d; ++i) p[i] = 0.1f;
            o.model = ms[k]; o.loss = PATTN_LOSS_SQUARED; o.opt.steps = 25; o.opt.lr = ms[k] == PATTN_LPA ? 0.2 : 0.5;
            PT_CHECK(pattn_train(&o, &P, X, y, ms[k] == PATTN_SA ? 128 : n, T, &hist) == PATTN_OK, "train");
            PT_CHECKF(hist.rec[24].loss < hist.rec[0].loss, "%s: loss %.4f -> %.4f", pattn_model_name(ms[k]), hist.rec[0].loss, hist.rec[24].loss);
            if (ms[k] == PATTN_SA) {
                int moved = 0;
                for (i = 0; i < d * d; ++i) moved |= W[i] != (i % (d + 1) == 0 ? 1.0f : 0.0f);
                PT_CHECK(moved, "SA: W is trained");
                pt_dump("p1 train SA W", W, sizeof W);
            }
            pt_dump_history("p1 train history", &hist);
            pattn_history_free(&hist);
        }
        P.W = NULL;
    }
    /* divergence is reported */
    memset(p, 0, sizeof p); memset(v, 0, sizeof v);
    o.model = PATTN_LPA; o.opt.lr = 1e30; o.opt.steps = 50;
    for (i = 0; i < d; ++i) p[i] = 1.0f;
    pattn_clear_error();
    PT_CHECK(pattn_train(&o, &P, X, y, n, T, &hist) == PATTN_EDIVERGED, "divergence: PATTN_EDIVERGED");
    PT_CHECKF(hist.diverged_at >= 0 && hist.diverged_at < 50 && hist.len == hist.diverged_at + 1,
              "divergence: step recorded (diverged_at %ld, %ld records)", hist.diverged_at, hist.len);
    PT_CHECKF(strstr(pattn_last_error(), "pattn_train: diverged at step") != NULL, "divergence message: %s", pattn_last_error());
    {
        int fin = 1;
        for (i = 0; i < d; ++i) fin &= isfinite(p[i]) && isfinite(v[i]);
        PT_CHECK(fin, "divergence: P keeps the last finite iterate");
    }
    pattn_history_free(&hist);

    /* defaults: a zeroed options struct (or NULL) learns the README's recipe */
    {
        pattn_cmm r = cmm_make(32, 16, 0.25, 1.0, 3.0, 1.0, 0.0, 0.0, 0.0, PATTN_NOISE_ORTHO);
        const int nr = 2000, nte = 2000;
        float *Xr = fvec((size_t)nr * 16 * 32), *yr = fvec((size_t)nr), *Xt = fvec((size_t)nte * 16 * 32), *yt = fvec((size_t)nte);
        float pr[32], vr[32];
        pattn_params Pr;
        pattn_batch_out bo;
        pattn_cmm_sample(&r, NULL, 1, 0, nr, Xr, yr, NULL);
        pattn_cmm_sample(&r, NULL, 1, (uint64_t)nr, nte, Xt, yt, NULL);
        memset(pr, 0, sizeof pr); memset(vr, 0, sizeof vr);
        Pr.d = 32; Pr.p = pr; Pr.v = vr; Pr.W = NULL;
        PT_CHECK(pattn_train(NULL, &Pr, Xr, yr, nr, 16, &hist) == PATTN_OK, "defaults: train with o = NULL");
        PT_CHECKF(hist.len == 300, "defaults: 300 steps (%ld)", hist.len);
        memset(&bo, 0, sizeof bo);
        pattn_model_batch(PATTN_PA, &Pr, PATTN_LOSS_SQUARED, Xt, yt, nte, 16, &bo, NULL, 0);
        pt_info("defaults on the README recipe (d=32, T=16, n=2000): train loss %.4f -> %.4f, test accuracy %.4f", hist.rec[0].loss, hist.rec[hist.len - 1].loss, bo.acc);
        PT_CHECKF(bo.acc >= 0.95, "defaults learn the README recipe: test accuracy %.4f", bo.acc);
        pattn_history_free(&hist);
        free(Xr); free(yr); free(Xt); free(yt);
    }
    free(X); free(y);
}

/* ---- the three-step initial trajectory --------------------------------------------------- */

/* Closed-form population gradients of the three steps under the contextual model (ORTHO
   noise, distractors without context overlap, q = |q| e1, v* = |v| e2, W = I). Each loss is
   written through its derivative at f as dl = -c1 y + c2 f: squared (1, 1), correlation
   (1, 0), and logistic to first order in f (1/2, 1/4; the remainder is below |f|^3/48, so
   the logistic points use a head small enough for it to vanish beside the standard error). */
typedef struct traj_pop { int d, T, k; double qn, vn, sigma, rho, eps; } traj_pop;

static void loss_coefs(pattn_loss l, double *c1, double *c2)
{
    *c1 = l == PATTN_LOSS_LOGISTIC ? 0.5 : 1.0;
    *c2 = l == PATTN_LOSS_SQUARED ? 1.0 : l == PATTN_LOSS_LOGISTIC ? 0.25 : 0.0;
}

/* J ~ Bin(T - k, eps) distractors: E[J], E[J^2] */
static void traj_J(const traj_pop *m, double *EJ, double *EJ2)
{
    double N = m->T - m->k;
    *EJ = N * m->eps;
    *EJ2 = N * m->eps * (1 - m->eps) + *EJ * *EJ;
}

/* mean grad_v L at v, p = Gamma q/|q|^2 (Gamma = 0, v = 0 is step 1). With the feature law
   h = c q + y alpha_J v* + s g: E[y h] = E[alpha] v*, E[h h'] = c^2 qq' + E[alpha^2] v*v*' +
   s^2 (I - q^q^'), and grad = -c1 E[y h] + c2 E[h h'] v. */
static void pop_grad_v(const traj_pop *m, pattn_loss l, double Gamma, const double *v, double *g)
{
    double c1, c2, EJ, EJ2, Z = m->k * exp(Gamma) + (m->T - m->k), wR = exp(Gamma) / Z, wI = 1 / Z;
    double c = m->k * wR, Ea, Ea2, s2 = m->sigma * m->sigma * (m->k * wR * wR + (m->T - m->k) * wI * wI);
    int j;
    loss_coefs(l, &c1, &c2);
    traj_J(m, &EJ, &EJ2);
    Ea = c - m->rho * wI * EJ;
    Ea2 = c * c - 2 * c * m->rho * wI * EJ + m->rho * m->rho * wI * wI * EJ2;
    for (j = 0; j < m->d; ++j) g[j] = c2 * s2 * v[j];
    g[0] = c2 * c * c * m->qn * m->qn * v[0];
    g[1] += c2 * Ea2 * m->vn * m->vn * v[1] - c1 * Ea * m->vn;
}

/* mean grad_p L at p = 0, head v (step 2). With uniform attention df/dp = (1/T) X'(I - 11'/T) X v,
   so grad = -c1 E[y df/dp] + c2 E[f df/dp], where (m_t the token means, r_t relevance, e_t =
   r_t - rho [t distractor], A_t, B_t their centred values, a = q'v, b = v*'v)
     E[y df/dp] = (C/T)(q b + v* a),  C = E sum_t A_t B_t = k (T - k)(1 + rho eps)/T
     E[f df/dp] = (1/T){ q [rbar a^2 sum A_t^2 + b^2 E(ebar sum A_t B_t)]
                       + v* a b [rbar E sum B_t^2 + E(ebar sum A_t B_t)] + rbar a (T-1) sigma^2 (I - q^q^') v }
   (odd moments of the noise vanish; the noise cross terms have mean zero). */
static void pop_grad_p(const traj_pop *m, pattn_loss l, const double *v, double *g)
{
    double c1, c2, EJ, EJ2, T = m->T, k = m->k, rb = k / T, a = m->qn * v[0], b = m->vn * v[1];
    double C = k * (T - k) * (1 + m->rho * m->eps) / T, SA = k * (T - k) / T, Eu, Eu2, EeSAB, ESBB;
    int j;
    loss_coefs(l, &c1, &c2);
    traj_J(m, &EJ, &EJ2);
    Eu = k - m->rho * EJ; /* u = k - rho J = T ebar */
    Eu2 = k * k - 2 * k * m->rho * EJ + m->rho * m->rho * EJ2;
    EeSAB = k / (T * T) * (T * Eu - Eu2);
    ESBB = k + m->rho * m->rho * EJ - Eu2 / T;
    for (j = 0; j < m->d; ++j) g[j] = c2 / T * rb * a * (T - 1) * m->sigma * m->sigma * (j == 0 ? 0.0 : v[j]);
    g[0] += -c1 * C / T * m->qn * b + c2 / T * m->qn * (rb * a * a * SA + b * b * EeSAB);
    g[1] += -c1 * C / T * m->vn * a + c2 / T * m->vn * a * b * (rb * ESBB + EeSAB);
}

/* chunk means of a batch gradient over K chunks of nb samples: mean and standard error per
   coordinate (the spread of the chunk means, so no per-sample gradients are needed) */
static void grad_stats(pattn_loss l, const float *p, const float *v, int want_p, const float *X, const float *y,
                       int K, int nb, int T, int d, double *mean, double *se)
{
    float g[64], zero[64] = {0};
    pattn_params P;
    pattn_batch_out o;
    int c, j;
    double *s2 = dvec((size_t)d);
    for (j = 0; j < d; ++j) mean[j] = 0;
    P.d = d; P.p = p ? (float *)p : zero; P.v = (float *)v; P.W = NULL;
    for (c = 0; c < K; ++c) {
        memset(&o, 0, sizeof o);
        if (want_p) o.gp = g; else o.gv = g;
        pattn_model_batch(PATTN_PA, &P, l, X + (size_t)c * nb * T * d, y + (size_t)c * nb, nb, T, &o, NULL, 0);
        for (j = 0; j < d; ++j) {
            mean[j] += g[j] / (double)K;
            s2[j] += (double)g[j] * g[j] / K;
        }
    }
    for (j = 0; j < d; ++j) se[j] = sqrt(fmax(s2[j] - mean[j] * mean[j], 0.0) / (K - 1));
    free(s2);
}

/* 5 standard errors per coordinate: about 150 coordinates are compared, and at 4 SE one of
   them would fall outside by chance for about one seed in 50. `power` asks that the part of
   the formula that depends on f (c2) is resolved: it moves some coordinate by >= 10 SE. */
static void check_pop(const char *what, const double *mean, const double *se, const double *want,
                      const double *want_c1only, int d, int power)
{
    int j, ok = 1, jw = 0;
    double worst = 0, sep = 0;
    for (j = 0; j < d; ++j) {
        double z = fabs(mean[j] - want[j]) / (se[j] + 1e-7);
        /* + 1e-7: the float rounding of a chunk mean, for coordinates whose SE is 0 */
        ok &= fabs(mean[j] - want[j]) <= 5 * se[j] + 1e-7;
        if (z > worst) { worst = z; jw = j; }
        if (want_c1only) sep = fmax(sep, fabs(want[j] - want_c1only[j]) / (se[j] + 1e-7));
    }
    PT_CHECKF(ok, "%s: population gradient within 5 SE per coordinate (worst %.2f SE at %d: %.5f vs %.5f)", what, worst, jw, mean[jw], want[jw]);
    if (power) PT_CHECKF(sep >= 10, "%s: the f-dependent part of the formula is resolved (%.1f SE)", what, sep);
}

static void test_traj_population(void)
{
    enum { d = 12, T = 10, K = 40 };
    const int nb = pt_quick() ? 400 : 1200, N = K * nb;
    const traj_pop tp = {d, T, 3, 1.5, 1.2, 0.7, 0.8, 0.25};
    pattn_cmm m = cmm_make(d, T, 0.3, tp.sigma, tp.qn, tp.vn, tp.rho, tp.eps, 0.0, PATTN_NOISE_ORTHO);
    float *X = fvec((size_t)N * T * d), *y = fvec((size_t)N), vf[d], pf[d], zf[d];
    double mean[d], se[d], want[d], want1[d], vd[d], zd[d];
    static const double vdir[d] = {0.35, 0.9, 0.3, -0.2, 0.1, 0.0, -0.15, 0.05, 0.2, -0.1, 0.0, 0.25};
    int li, j;
    PT_CHECK(lround(m.zeta * T) == tp.k, "k = 3 relevant tokens");
    pattn_cmm_sample(&m, NULL, 77, 0, N, X, y, NULL);
    for (j = 0; j < d; ++j) { zf[j] = 0; zd[j] = 0; }
    for (li = 0; li < 3; ++li) {
        pattn_loss l = (pattn_loss)li;
        double scale = l == PATTN_LOSS_LOGISTIC ? 0.05 : 1.0, Gamma = 1.3;
        char what[96];
        for (j = 0; j < d; ++j) { vf[j] = (float)(scale * vdir[j]); vd[j] = vf[j]; }
        /* step 1: grad_v at p = v = 0 */
        grad_stats(l, NULL, zf, 0, X, y, K, nb, T, d, mean, se);
        pop_grad_v(&tp, l, 0.0, zd, want);
        snprintf(what, sizeof what, "loss %d: step 1, grad_v L(0, 0)", li);
        check_pop(what, mean, se, want, NULL, d, 0);
        /* step 2: grad_p at p = 0, v */
        grad_stats(l, NULL, vf, 1, X, y, K, nb, T, d, mean, se);
        pop_grad_p(&tp, l, vd, want);
        pop_grad_p(&tp, PATTN_LOSS_CORRELATION, vd, want1);
        if (l == PATTN_LOSS_LOGISTIC) for (j = 0; j < d; ++j) want1[j] *= 0.5;
        snprintf(what, sizeof what, "loss %d: step 2, grad_p L(0, v)", li);
        check_pop(what, mean, se, want, want1, d, l == PATTN_LOSS_SQUARED);
        /* step 3: grad_v at p = Gamma q/|q|^2, v */
        for (j = 0; j < d; ++j) pf[j] = j == 0 ? (float)(Gamma / tp.qn) : 0.0f;
        Gamma = (double)pf[0] * tp.qn;
        grad_stats(l, pf, vf, 0, X, y, K, nb, T, d, mean, se);
        pop_grad_v(&tp, l, Gamma, vd, want);
        pop_grad_v(&tp, PATTN_LOSS_CORRELATION, Gamma, vd, want1);
        if (l == PATTN_LOSS_LOGISTIC) for (j = 0; j < d; ++j) want1[j] *= 0.5;
        snprintf(what, sizeof what, "loss %d: step 3, grad_v L(Gamma q/|q|^2, v)", li);
        check_pop(what, mean, se, want, want1, d, l == PATTN_LOSS_SQUARED);
        if (li == 0) pt_info("population steps (squared): step-3 head gradient along v* %.5f +- %.5f, formula %.5f", mean[1], se[1], want[1]);
    }
    free(X); free(y);
}

typedef struct debias_ctx { const float *X; int n, calls; float scale; pattn_status st; } debias_ctx;
static pattn_status debias_scale(void *u, const float *X, const float *y, int n, int T, int d, const float *p2, float *v)
{
    debias_ctx *c = (debias_ctx *)u;
    int j;
    (void)y; (void)T; (void)p2;
    c->X = X; c->n = n; c->calls++;
    if (c->st != PATTN_OK) return c->st;
    for (j = 0; j < d; ++j) v[j] *= c->scale;
    return PATTN_OK;
}

/* pattn_traj3 is the composition of three batch gradients on S1, S2, S3, bit for bit, for
   every loss and step-3 variant; the hook sees S3 and the head */
static void test_traj_composition(void)
{
    enum { d = 8, T = 6 };
    const int n = 150, nte = 300;
    pattn_cmm m = cmm_make(d, T, 0.34, 0.8, 1.5, 1.2, 0.5, 0.2, 0.0, PATTN_NOISE_ORTHO);
    float *X = fvec((size_t)3 * n * T * d), *y = fvec((size_t)3 * n), *Xt = fvec((size_t)nte * T * d), *yt = fvec((size_t)nte);
    float zero[d] = {0}, g[d], e1[d], e2[d], e3[d], v1[d], p2[d], v3[d], *H = fvec((size_t)n * d);
    double w[d];
    const double ev = 0.7, ep = 2.5;
    size_t Td = (size_t)T * d;
    pattn_traj_opts o;
    pattn_traj_result r;
    pattn_params P;
    pattn_batch_out bo;
    int li, s3, j, ok = 1;
    pattn_cmm_sample(&m, NULL, 5, 0, 3 * n, X, y, NULL);
    pattn_cmm_sample(&m, NULL, 6, 0, nte, Xt, yt, NULL);
    P.d = d; P.W = NULL;
    for (li = 0; li < 3; ++li)
        for (s3 = 0; s3 < 4; ++s3) {
            pattn_loss l = (pattn_loss)li;
            int nosplit = s3 == 3; /* the fourth case: fresh step 3 without splitting */
            const float *S2 = nosplit ? X : X + n * Td, *S3 = nosplit ? X : X + 2 * n * Td;
            const float *y2 = nosplit ? y : y + n, *y3 = nosplit ? y : y + 2 * n;
            memset(&bo, 0, sizeof bo);
            P.p = zero; P.v = zero; bo.gv = g;
            pattn_model_batch(PATTN_PA, &P, l, X, y, n, T, &bo, NULL, 0);
            for (j = 0; j < d; ++j) e1[j] = (float)(0.0 - ev * (double)g[j]);
            P.v = e1; bo.gv = NULL; bo.gp = g;
            pattn_model_batch(PATTN_PA, &P, l, S2, y2, n, T, &bo, NULL, 0);
            for (j = 0; j < d; ++j) e2[j] = (float)(0.0 - ep * (double)g[j]);
            if (s3 == PATTN_STEP3_REFIT) {
                pattn_pa_features(S3, n, T, d, e2, NULL, H);
                pattn_ridge_fit(H, y3, n, d, 0.01, w);
                for (j = 0; j < d; ++j) e3[j] = (float)w[j];
            } else {
                P.p = e2; bo.gp = NULL; bo.gv = g;
                pattn_model_batch(PATTN_PA, &P, l, S3, y3, n, T, &bo, NULL, 0);
                for (j = 0; j < d; ++j) e3[j] = (float)((s3 == PATTN_STEP3_ANCHORED ? (double)e1[j] : 0.0) - ev * (double)g[j]);
            }
            memset(&o, 0, sizeof o);
            o.eta_v = ev; o.eta_p = ep; o.loss = l; o.lambda = 0.01;
            o.step3 = nosplit ? PATTN_STEP3_FRESH : (pattn_traj_step3)s3;
            o.no_split = nosplit;
            ok &= pattn_traj3(&o, X, y, n, T, d, NULL, Xt, yt, NULL, nte, v1, p2, v3, &r) == PATTN_OK;
            ok &= !memcmp(v1, e1, sizeof v1) && !memcmp(p2, e2, sizeof p2) && !memcmp(v3, e3, sizeof v3);
            P.p = e2; P.v = e3;
            memset(&bo, 0, sizeof bo);
            pattn_model_batch(PATTN_PA, &P, l, Xt, yt, nte, T, &bo, NULL, 0);
            ok &= r.acc == bo.acc && r.loss == bo.loss && isnan(r.mass_r) && r.gamma == (double)e2[0];
            if (!ok) { pt_info("traj3 composition differs: loss %d, variant %d", li, s3); break; }
        }
    PT_CHECK(ok, "traj3 = three batch gradients on S1, S2, S3 (or one set), bit for bit, 3 losses x {fresh, anchored, refit, unsplit}");

    {   /* the hook: S3 and the head, after step 3; its failure is traj3's, nothing written */
        debias_ctx c;
        float h3[d];
        memset(&o, 0, sizeof o);
        o.eta_v = ev; o.eta_p = ep;
        pattn_traj3(&o, X, y, n, T, d, NULL, Xt, yt, NULL, nte, NULL, NULL, v3, &r);
        memset(&c, 0, sizeof c);
        c.scale = 2.0f;
        o.debias = debias_scale; o.debias_user = &c;
        PT_CHECK(pattn_traj3(&o, X, y, n, T, d, NULL, Xt, yt, NULL, nte, NULL, NULL, h3, &r) == PATTN_OK &&
                     c.calls == 1 && c.X == X + 2 * n * Td && c.n == n, "debias hook called once with S3");
        for (j = 0; j < d; ++j) ok &= h3[j] == 2.0f * v3[j];
        PT_CHECK(ok, "the hook's head is the result");
        c.st = PATTN_ENUM;
        for (j = 0; j < d; ++j) h3[j] = SENT;
        pattn_clear_error();
        PT_CHECKF(pattn_traj3(&o, X, y, n, T, d, NULL, Xt, yt, NULL, nte, NULL, NULL, h3, &r) == PATTN_ENUM && all_sent(h3, d) &&
                      strstr(pattn_last_error(), "pattn_traj3") && strstr(pattn_last_error(), "debias"),
                  "a failing hook stops traj3 with its status, nothing written: \"%s\"", pattn_last_error());
        c.st = PATTN_OK;
        c.scale = NAN;
        PT_CHECK(pattn_traj3(&o, X, y, n, T, d, NULL, Xt, yt, NULL, nte, NULL, NULL, h3, &r) == PATTN_EINVAL && all_sent(h3, d), "a hook leaving NaN: EINVAL");
    }
    free(X); free(y); free(Xt); free(yt); free(H);
}

static void test_trajectory(void)
{
    const int d = 16, T = 20, nbig = pt_quick() ? 2000 : 6000, nte = 2000;
    const double zeta = 0.25, vn = 1.5, qn = 2.0;
    pattn_cmm m = cmm_make(d, T, zeta, 0.6, qn, vn, 0.0, 0.0, 0.0, PATTN_NOISE_ORTHO);
    float *X = fvec((size_t)3 * nbig * T * d), *y = fvec((size_t)3 * nbig), *Xt = fvec((size_t)nte * T * d), *yt = fvec((size_t)nte);
    uint8_t *mt = (uint8_t *)malloc((size_t)nte * T);
    float v1[16], p2[16], v3[16];
    pattn_traj_opts o;
    pattn_traj_result res, res_small;
    pattn_cmm_sample(&m, NULL, 1, 0, 3 * nbig, X, y, NULL);
    pattn_cmm_sample(&m, NULL, 2, 0, nte, Xt, yt, mt);

    /* the default: the paper's scheme (three sets of n, squared loss, fresh step 3); NULL
       options are the zero struct */
    PT_CHECK(pattn_traj3(NULL, X, y, nbig, T, d, NULL, Xt, yt, mt, nte, v1, p2, v3, &res) == PATTN_OK, "traj3 defaults");
    memset(&o, 0, sizeof o);
    PT_CHECK(pattn_traj3(&o, X, y, nbig, T, d, NULL, Xt, yt, mt, nte, NULL, NULL, NULL, &res_small) == PATTN_OK &&
             !memcmp(&res, &res_small, sizeof res), "traj3: NULL options = zero options");
    o.eta_p = 4.0;
    PT_CHECK(pattn_traj3(&o, X, y, nbig, T, d, NULL, Xt, yt, mt, nte, v1, p2, v3, &res) == PATTN_OK, "traj3 at eta_p = 4");
    PT_CHECKF(res.cos_pq > 0.97, "large n: cos(p2, q) = %.4f close to 1", res.cos_pq);
    {
        /* step 1 is eta_v (1/n) sum y x-bar, whose mean is eta_v zeta v* */
        double c1 = v1[1] / sqrt(pattn_dot_f32(v1, v1, d));
        PT_CHECKF(c1 > 0.97 && fabs(v1[1] - zeta * vn) < 0.05, "v1 along v*: cos %.4f, v1.e2 %.4f vs %.4f", c1, v1[1], zeta * vn);
    }
    PT_CHECKF(res.mass_r > zeta + 0.05 && res.acc > 0.85, "p2 attends to R: mass %.3f (uniform %.2f), test accuracy %.3f", res.mass_r, zeta, res.acc);
    PT_NEAR(res.gamma, p2[0], 1e-6, 0);
    pt_info("three-step default, n = %d per step: cos(p2,q) %.4f, Gamma %.3f, mass on R %.3f, test acc %.4f", nbig, res.cos_pq, res.gamma, res.mass_r, res.acc);
    pt_dump("p1 traj p2", p2, sizeof p2);
    pt_dump("p1 traj v3", v3, sizeof v3);
    pt_dump("p1 traj res", &res, sizeof res);

    /* small n: the prompt step is mostly noise, on average over seeds */
    {
        double cs = 0;
        int s;
        memset(&o, 0, sizeof o);
        for (s = 0; s < 10; ++s) {
            pattn_cmm_sample(&m, NULL, 100 + s, 0, 12, X, y, NULL);
            pattn_traj3(&o, X, y, 4, T, d, NULL, Xt, yt, mt, nte, NULL, NULL, NULL, &res_small);
            cs += res_small.cos_pq / 10;
        }
        PT_CHECKF(cs < res.cos_pq - 0.1, "small n aligns worse: mean cos %.3f vs %.3f", cs, res.cos_pq);
    }
    /* the ridge refit and the anchored step */
    pattn_cmm_sample(&m, NULL, 1, 0, 3 * nbig, X, y, NULL);
    memset(&o, 0, sizeof o);
    o.step3 = PATTN_STEP3_REFIT; o.lambda = 1e-3;
    PT_CHECK(pattn_traj3(&o, X, y, nbig, T, d, NULL, Xt, yt, mt, nte, NULL, p2, v3, &res) == PATTN_OK, "traj3 refit");
    PT_CHECKF(res.cos_pq > 0.95 && res.acc > 0.9, "refit: cos %.4f acc %.4f", res.cos_pq, res.acc);
    pt_dump("p1 traj refit", &res, sizeof res);
    o.step3 = PATTN_STEP3_ANCHORED; o.loss = PATTN_LOSS_LOGISTIC;
    PT_CHECK(pattn_traj3(&o, X, y, nbig, T, d, NULL, Xt, yt, mt, nte, NULL, p2, v3, &res) == PATTN_OK && res.acc > 0.85, "traj3 anchored, logistic");
    pt_dump("p1 traj anchored logistic", &res, sizeof res);
    free(X); free(y); free(Xt); free(yt); free(mt);
}

/* ---- bad inputs: EINVAL/ENUM, outputs untouched ----------------------------------------- */

static void test_bad_inputs(void)
{
    const int d = 8, T = 5, n = 10;
    float X[10 * 5 * 8], y[10], p[8], v[8], W[64], out[64 * 10 * 5 + 64], out2[64];
    float nanv[8];
    uint8_t mask[50];
    double w[8];
    pattn_params P, Pb;
    pattn_batch_out o;
    pattn_cmm m, b;
    pattn_cmm_ext ext;
    pattn_train_opts to;
    pattn_traj_opts jo;
    pattn_traj_result jr;
    pattn_history hist;
    pattn_rng r;
    int i;
    char buf[64];
    pattn_rng_seed(&r, 1);
    fill_normal(&r, X, sizeof X / 4, 1.0);
    for (i = 0; i < n; ++i) y[i] = i & 1 ? 1.0f : -1.0f;
    fill_normal(&r, p, 8, 0.3);
    fill_normal(&r, v, 8, 0.3);
    memset(W, 0, sizeof W);
    for (i = 0; i < 8; ++i) { W[i * 9] = 1.0f; nanv[i] = v[i]; }
    nanv[3] = NAN;
    memset(mask, 1, sizeof mask);
    P.d = d; P.p = p; P.v = v; P.W = W;

    /* pattn_model_eval */
#define EVAL_BAD(m_, P_, X_, T_, gp_, gW_, what)                                                  \
    do {                                                                                       \
        fill_sent(out, sizeof out / 4);                                                         \
        PT_CHECK(pattn_model_eval(m_, P_, X_, T_, out, out + 1, gp_ ? out + 20 : NULL, gW_ ? out + 40 : NULL) == PATTN_EINVAL && all_sent(out, sizeof out / 4), what); \
    } while (0)
    EVAL_BAD(PATTN_PA, NULL, X, T, 1, 0, "eval: NULL params");
    EVAL_BAD(PATTN_PA, &P, NULL, T, 1, 0, "eval: NULL X");
    EVAL_BAD(PATTN_PA, &P, X, 0, 1, 0, "eval: T = 0");
    EVAL_BAD((pattn_model)7, &P, X, T, 0, 0, "eval: unknown model");
    EVAL_BAD(PATTN_SA, &P, X, T, 1, 0, "eval: df/dp of SA");
    EVAL_BAD(PATTN_LIN, &P, X, T, 1, 0, "eval: df/dp of LIN");
    EVAL_BAD(PATTN_LIN, &P, X, T, 0, 1, "eval: df/dW of LIN");
    Pb = P; Pb.d = 0; EVAL_BAD(PATTN_PA, &Pb, X, T, 0, 0, "eval: d = 0");
    Pb = P; Pb.v = NULL; EVAL_BAD(PATTN_LIN, &Pb, X, T, 0, 0, "eval: NULL v");
    Pb = P; Pb.v = nanv; EVAL_BAD(PATTN_SA, &Pb, X, T, 0, 0, "eval: NaN in v");
    Pb = P; Pb.p = NULL; EVAL_BAD(PATTN_PA, &Pb, X, T, 0, 0, "eval: NULL p for PA");
    Pb = P; Pb.p = nanv; EVAL_BAD(PATTN_LPA, &Pb, X, T, 0, 0, "eval: NaN in p");
    W[10] = INFINITY; EVAL_BAD(PATTN_PA, &P, X, T, 0, 0, "eval: inf in W"); W[10] = 0.0f;
    /* SA and LIN do not need p */
    Pb = P; Pb.p = NULL;
    PT_CHECK(pattn_model_eval(PATTN_SA, &Pb, X, T, out, NULL, NULL, NULL) == PATTN_OK, "eval: SA without p is fine");

    /* pattn_model_batch */
#define BATCH_BAD(call, what)                                                                  \
    do {                                                                                       \
        fill_sent(out, sizeof out / 4);                                                         \
        memset(&o, 0, sizeof o);                                                               \
        o.loss = SENT; o.acc = SENT; o.gv = out; o.f = out + 8; o.h = out + 8 + n;             \
        PT_CHECK((call) == PATTN_EINVAL && all_sent(out, sizeof out / 4) && o.loss == SENT && o.acc == SENT, what); \
    } while (0)
    BATCH_BAD(pattn_model_batch(PATTN_PA, &P, PATTN_LOSS_SQUARED, X, y, 0, T, &o, NULL, 0), "batch: n = 0");
    BATCH_BAD(pattn_model_batch(PATTN_PA, &P, PATTN_LOSS_SQUARED, X, y, n, -1, &o, NULL, 0), "batch: T < 1");
    BATCH_BAD(pattn_model_batch(PATTN_PA, &P, PATTN_LOSS_SQUARED, NULL, y, n, T, &o, NULL, 0), "batch: NULL X");
    BATCH_BAD(pattn_model_batch(PATTN_PA, &P, PATTN_LOSS_SQUARED, X, NULL, n, T, &o, NULL, 0), "batch: gradient without y");
    BATCH_BAD(pattn_model_batch(PATTN_PA, &P, (pattn_loss)5, X, y, n, T, &o, NULL, 0), "batch: unknown loss");
    BATCH_BAD(pattn_model_batch(PATTN_PA, NULL, PATTN_LOSS_SQUARED, X, y, n, T, &o, NULL, 0), "batch: NULL params");
    BATCH_BAD(pattn_model_batch(PATTN_PA, &P, PATTN_LOSS_SQUARED, X, y, n, T, &o, out2, 8), "batch: workspace too small");
    y[3] = NAN;
    BATCH_BAD(pattn_model_batch(PATTN_PA, &P, PATTN_LOSS_SQUARED, X, y, n, T, &o, NULL, 0), "batch: NaN label");
    y[3] = 1.0f;
    Pb = P; Pb.v = nanv;
    BATCH_BAD(pattn_model_batch(PATTN_PA, &Pb, PATTN_LOSS_SQUARED, X, y, n, T, &o, NULL, 0), "batch: NaN in v");
    fill_sent(out, sizeof out / 4);
    memset(&o, 0, sizeof o);
    o.gp = out;
    PT_CHECK(pattn_model_batch(PATTN_SA, &P, PATTN_LOSS_SQUARED, X, y, n, T, &o, NULL, 0) == PATTN_EINVAL && all_sent(out, 8), "batch: gp of SA");
    o.gp = NULL; o.gW = out;
    PT_CHECK(pattn_model_batch(PATTN_LIN, &P, PATTN_LOSS_SQUARED, X, y, n, T, &o, NULL, 0) == PATTN_EINVAL && all_sent(out, 64), "batch: gW of LIN");
    PT_CHECK(pattn_model_batch(PATTN_PA, &P, PATTN_LOSS_SQUARED, X, y, n, T, NULL, NULL, 0) == PATTN_EINVAL, "batch: NULL out");
    PT_CHECK(pattn_model_work_size((pattn_model)9, T, d) == 0 && pattn_model_work_size(PATTN_PA, 0, d) == 0, "work size of bad arguments is 0");
    PT_CHECK(isnan(pattn_loss_value((pattn_loss)3, 0, 1, NULL)), "loss_value: unknown loss is NaN");
    {
        double dl;
        PT_CHECK(pattn_loss_value(PATTN_LOSS_CORRELATION, 0.75, -1, &dl) == 0.75 && dl == 1.0, "correlation loss -y f, derivative -y");
    }
    {
        double dl;
        /* logistic without overflow at huge margins */
        PT_NEAR(pattn_loss_value(PATTN_LOSS_LOGISTIC, -1e6, 1, &dl), 1e6, 1e-15, 0);
        PT_NEAR(dl, -1.0, 0, 0);
        PT_NEAR(pattn_loss_value(PATTN_LOSS_LOGISTIC, 700, 1, &dl), exp(-700.0), 1e-12, 0);
        PT_CHECK(dl < 0 && dl > -1e-300, "logistic derivative at a huge margin");
        PT_NEAR(pattn_loss_value(PATTN_LOSS_LOGISTIC, 0.3, -1, &dl), log1p(exp(0.3)), 1e-15, 0);
        PT_NEAR(dl, 1.0 / (1.0 + exp(-0.3)), 1e-15, 0);
    }

    /* pattn_cmm_sample: every field */
    m = cmm_make(d, T, 0.4, 1.0, 1.0, 1.0, 0.5, 0.1, 0.2, PATTN_NOISE_ORTHO);
#define GEN_BAD(field, val, what)                                                               \
    do {                                                                                        \
        b = m; b.field = val;                                                                   \
        fill_sent(out, sizeof out / 4);                                                          \
        memset(mask, 0xAB, sizeof mask);                                                        \
        PT_CHECK(pattn_cmm_sample(&b, NULL, 1, 0, n, out, out + n * T * d, mask) == PATTN_EINVAL && all_sent(out, sizeof out / 4) && mask[0] == 0xAB, what); \
    } while (0)
    GEN_BAD(d, 1, "gen: d < 2");
    GEN_BAD(T, 0, "gen: T < 1");
    GEN_BAD(zeta, 0.0, "gen: zeta = 0");
    GEN_BAD(zeta, 1.5, "gen: zeta > 1");
    GEN_BAD(zeta, 0.05, "gen: lround(zeta T) = 0");
    GEN_BAD(zeta, NAN, "gen: zeta NaN");
    GEN_BAD(sigma, -0.1, "gen: sigma < 0");
    GEN_BAD(sigma, INFINITY, "gen: sigma inf");
    GEN_BAD(q_norm, INFINITY, "gen: |q| inf");
    GEN_BAD(v_norm, -1.0, "gen: |v| < 0");
    GEN_BAD(rho, -0.5, "gen: rho < 0");
    GEN_BAD(eps, 1.01, "gen: eps > 1");
    GEN_BAD(eps, -0.01, "gen: eps < 0");
    GEN_BAD(dist_q, 1.0, "gen: dist_q = 1");
    GEN_BAD(dist_q, -0.1, "gen: dist_q < 0");
    GEN_BAD(dist_q, NAN, "gen: dist_q NaN");
    GEN_BAD(noise, 2, "gen: unknown noise mode");
    fill_sent(out, sizeof out / 4);
    PT_CHECK(pattn_cmm_sample(&m, NULL, 1, 0, 0, out, out + 500, mask) == PATTN_EINVAL && all_sent(out, sizeof out / 4), "gen: n = 0");
    PT_CHECK(pattn_cmm_sample(&m, NULL, 1, 0, n, NULL, out, mask) == PATTN_EINVAL && all_sent(out, sizeof out / 4), "gen: NULL X");
    PT_CHECK(pattn_cmm_sample(&m, NULL, 1, 0, n, out, NULL, mask) == PATTN_EINVAL && all_sent(out, sizeof out / 4), "gen: NULL y");
    PT_CHECK(pattn_cmm_sample(NULL, NULL, 1, 0, n, out, out + 500, mask) == PATTN_EINVAL && all_sent(out, sizeof out / 4), "gen: NULL model");
    memset(&ext, 0, sizeof ext);
    ext.q = nanv;
    PT_CHECK(pattn_cmm_sample(&m, &ext, 1, 0, n, out, out + 500, mask) == PATTN_EINVAL && all_sent(out, sizeof out / 4), "gen: NaN in user q");
    memset(out2, 0, sizeof out2);
    ext.q = out2;
    PT_CHECK(pattn_cmm_sample(&m, &ext, 1, 0, n, out, out + 500, mask) == PATTN_EINVAL && all_sent(out, sizeof out / 4), "gen: zero user q");
    ext.q = NULL; ext.vstar = p; /* p has a non-zero first coordinate: not orthogonal to e1 */
    PT_CHECK(pattn_cmm_sample(&m, &ext, 1, 0, n, out, out + 500, mask) == PATTN_EINVAL && all_sent(out, sizeof out / 4), "gen: user v* not orthogonal to the default q");
    PT_CHECK(pattn_cmm_vectors(&b, NULL, out, NULL) == PATTN_EINVAL && all_sent(out, 8), "cmm_vectors: bad model");

    /* features and mass */
    fill_sent(out, sizeof out / 4);
    PT_CHECK(pattn_pa_features(X, n, T, d, nanv, NULL, out) == PATTN_EINVAL && all_sent(out, sizeof out / 4), "features: NaN prompt");
    PT_CHECK(pattn_pa_features(X, 0, T, d, p, NULL, out) == PATTN_EINVAL && all_sent(out, sizeof out / 4), "features: n = 0");
    PT_CHECK(pattn_pa_features(NULL, n, T, d, p, NULL, out) == PATTN_EINVAL && all_sent(out, sizeof out / 4), "features: NULL X");
    W[0] = NAN;
    PT_CHECK(pattn_pa_features(X, n, T, d, p, W, out) == PATTN_EINVAL && all_sent(out, sizeof out / 4), "features: NaN in W");
    W[0] = 1.0f;
    w[0] = 99;
    PT_CHECK(pattn_pa_relevant_mass(X, NULL, n, T, d, p, NULL, w) == PATTN_EINVAL && w[0] == 99, "mass: NULL mask");
    PT_CHECK(pattn_pa_relevant_mass(X, mask, n, 0, d, p, NULL, w) == PATTN_EINVAL && w[0] == 99, "mass: T = 0");

    /* ridge */
    for (i = 0; i < 8; ++i) w[i] = 99;
    PT_CHECK(pattn_ridge_fit(X, y, n, d, -1e-3, w) == PATTN_EINVAL && w[0] == 99, "ridge: lambda < 0");
    PT_CHECK(pattn_ridge_fit(X, y, n, d, NAN, w) == PATTN_EINVAL && w[0] == 99, "ridge: lambda NaN");
    PT_CHECK(pattn_ridge_fit(X, y, 0, d, 0.1, w) == PATTN_EINVAL && w[0] == 99, "ridge: n = 0");
    PT_CHECK(pattn_ridge_fit(X, y, n, 0, 0.1, w) == PATTN_EINVAL && w[0] == 99, "ridge: d = 0");
    PT_CHECK(pattn_ridge_fit(NULL, y, n, d, 0.1, w) == PATTN_EINVAL && w[0] == 99, "ridge: NULL H");
    X[5] = NAN;
    PT_CHECK(pattn_ridge_fit(X, y, n, d, 0.1, w) == PATTN_EINVAL && w[0] == 99, "ridge: NaN in H");
    X[5] = 0.5f;
    y[2] = INFINITY;
    PT_CHECK(pattn_ridge_fit(X, y, n, d, 0.1, w) == PATTN_EINVAL && w[0] == 99, "ridge: inf in y");
    y[2] = 1.0f;

    /* training */
    memcpy(out2, p, sizeof p);
    memcpy(out2 + 8, v, sizeof v);
    memset(&to, 0, sizeof to);
    memset(&hist, 0, sizeof hist);
    to.model = PATTN_PA; to.opt.steps = 5; to.opt.lr = 0.1;
#define TRAIN_BAD(stmt, what)                                                                   \
    do {                                                                                        \
        pattn_train_opts t2 = to;                                                               \
        stmt;                                                                                   \
        PT_CHECK(pattn_train(&t2, &P, X, y, n, T, &hist) == PATTN_EINVAL && hist.rec == NULL && hist.len == 0 && !memcmp(out2, p, sizeof p) && !memcmp(out2 + 8, v, sizeof v), what); \
    } while (0)
    TRAIN_BAD(t2.opt.steps = -1, "train: steps < 0");
    TRAIN_BAD(t2.opt.lr = -1, "train: lr < 0");
    TRAIN_BAD(t2.opt.lr = NAN, "train: lr NaN");
    TRAIN_BAD(t2.batch = -1, "train: batch < 0");
    TRAIN_BAD(t2.model = (pattn_model)5, "train: unknown model");
    TRAIN_BAD(t2.loss = (pattn_loss)3, "train: unknown loss");
    TRAIN_BAD(t2.opt.optimizer = (pattn_optimizer)7, "train: unknown optimizer");
    TRAIN_BAD(t2.opt.schedule = (pattn_schedule)7, "train: unknown schedule");
    TRAIN_BAD(t2.opt.beta1 = 1.0, "train: beta1 = 1");
    TRAIN_BAD(t2.opt.beta2 = -0.1, "train: beta2 < 0");
    TRAIN_BAD(t2.opt.eps = -1, "train: Adam eps < 0");
    TRAIN_BAD(t2.opt.weight_decay = -1, "train: weight decay < 0");
    TRAIN_BAD((t2.model = PATTN_SA, t2.train = PATTN_TRAIN_P), "train: p of SA");
    TRAIN_BAD((t2.model = PATTN_LIN, t2.train = PATTN_TRAIN_W), "train: W of LIN");
    TRAIN_BAD(t2.train = 8, "train: unknown flag");
    P.W = NULL;
    TRAIN_BAD((t2.model = PATTN_SA, t2.train = PATTN_TRAIN_W), "train: W requested but NULL");
    P.W = W;
    PT_CHECK(pattn_train(&to, NULL, X, y, n, T, &hist) == PATTN_EINVAL && hist.rec == NULL, "train: NULL P");
    PT_CHECK(pattn_train(&to, &P, X, y, 0, T, &hist) == PATTN_EINVAL && hist.rec == NULL, "train: n = 0");
    y[0] = NAN;
    PT_CHECK(pattn_train(&to, &P, X, y, n, T, &hist) == PATTN_EINVAL && hist.rec == NULL && !memcmp(out2, p, sizeof p), "train: NaN label");
    y[0] = -1.0f;

    /* trajectory */
    memset(&jo, 0, sizeof jo);
    jo.eta_v = 1; jo.eta_p = 1; jo.no_split = 1; /* X holds n samples */
    memset(&jr, 0x5A, sizeof jr);
    memcpy(buf, &jr, sizeof jr < sizeof buf ? sizeof jr : sizeof buf);
    fill_sent(out, 24);
#define TRAJ_BAD(stmt, call, what)                                                              \
    do {                                                                                        \
        pattn_traj_opts j2 = jo;                                                                \
        stmt;                                                                                   \
        { pattn_status st_ = call; PT_CHECKF(st_ == PATTN_EINVAL && !memcmp(buf, &jr, sizeof jr < sizeof buf ? sizeof jr : sizeof buf) && all_sent(out, 24), "%s (status %d, %s)", what, (int)st_, pattn_last_error()); } \
    } while (0)
    TRAJ_BAD(j2.eta_v = -1, pattn_traj3(&j2, X, y, n, T, d, NULL, X, y, mask, n, out, out + 8, out + 16, &jr), "traj: eta_v < 0");
    TRAJ_BAD(j2.eta_p = -1, pattn_traj3(&j2, X, y, n, T, d, NULL, X, y, mask, n, out, out + 8, out + 16, &jr), "traj: eta_p < 0");
    TRAJ_BAD(j2.lambda = -1, pattn_traj3(&j2, X, y, n, T, d, NULL, X, y, mask, n, out, out + 8, out + 16, &jr), "traj: lambda < 0");
    TRAJ_BAD((void)0, pattn_traj3(&j2, X, y, 0, T, d, NULL, X, y, mask, n, out, out + 8, out + 16, &jr), "traj: n = 0");
    TRAJ_BAD(j2.loss = (pattn_loss)3, pattn_traj3(&j2, X, y, n, T, d, NULL, X, y, mask, n, out, out + 8, out + 16, &jr), "traj: unknown loss");
    TRAJ_BAD(j2.step3 = (pattn_traj_step3)3, pattn_traj3(&j2, X, y, n, T, d, NULL, X, y, mask, n, out, out + 8, out + 16, &jr), "traj: unknown step 3");
    TRAJ_BAD(j2.no_split = 0, pattn_traj3(&j2, X, y, 1 << 30, T, d, NULL, X, y, mask, n, out, out + 8, out + 16, &jr), "traj: 3n*T*d too large");
    TRAJ_BAD((void)0, pattn_traj3(&j2, X, y, n, T, d, nanv, X, y, mask, n, out, out + 8, out + 16, &jr), "traj: NaN q");
    TRAJ_BAD((void)0, pattn_traj3(&j2, X, y, n, T, d, NULL, X, y, mask, 0, out, out + 8, out + 16, &jr), "traj: no test data");
    TRAJ_BAD((void)0, pattn_traj3(&j2, NULL, y, n, T, d, NULL, X, y, mask, n, out, out + 8, out + 16, &jr), "traj: NULL X");
    PT_CHECK(pattn_traj3(&jo, X, y, n, T, d, NULL, X, y, mask, n, out, out + 8, out + 16, NULL) == PATTN_EINVAL && all_sent(out, 24), "traj: NULL result");
}

/* a sample too large for one int-sized noise call is rejected before anything is written */
static void test_generator_size_limit(void)
{
    pattn_cmm m;
    float X[16], y[2];
    int i, same = 1;
    memset(&m, 0, sizeof m);
    m.d = 40000; m.T = 60000; m.zeta = 0.5; m.sigma = 1.0; m.q_norm = 1.0; m.v_norm = 1.0;
    for (i = 0; i < 16; ++i) X[i] = 7.0f;
    y[0] = y[1] = 7.0f;
    PT_CHECK(pattn_cmm_sample(&m, NULL, 1, 0, 1, X, y, NULL) == PATTN_EINVAL, "cmm_sample: T*d > INT_MAX gives EINVAL");
    for (i = 0; i < 16; ++i) same &= X[i] == 7.0f;
    PT_CHECK(same && y[0] == 7.0f, "cmm_sample: T*d > INT_MAX writes nothing");
}

void suite_p1_models(void)
{
    test_gradients_one(13, 7, 0);
    test_gradients_one(13, 7, 1);
    test_gradients_one(40, 4, 1);
    test_gradients_one(8, 1, 1);
    test_batch_loss_gradients(11, 6, 0);
    test_batch_loss_gradients(11, 6, 1);
    test_batch_vs_samples();
    test_pa_kernels();
    test_logistic_range();
    test_generator_stats();
    test_generator_user_vectors();
    test_generator_reproducible();
    test_feature_law();
    test_ridge();
    test_training();
    test_traj_population();
    test_traj_composition();
    test_trajectory();
    test_bad_inputs();
    test_generator_size_limit();
}
