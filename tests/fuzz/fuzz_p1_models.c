/* Paper 1 models and generator: model_eval, work sizes, the batch kernel, cmm_sample and
   cmm_vectors, PA features, relevant mass, the ridge fit. */
#define PATTN_IMPLEMENTATION
#define PATTN_STB_DS_IMPLEMENTATION
#include "fuzz.h"

static void fz_cmm(fz *f, pattn_cmm *m)
{
    memset(m, 0, sizeof *m);
    m->d = fz_size(f); m->T = fz_size(f);
    m->zeta = fz_u8(f) < 200 ? (double)(fz_u8(f) % 16 + 1) / 16.0 : fz_d(f);
    m->sigma = fz_pos(f); m->q_norm = fz_u8(f) < 128 ? 0.0 : fz_d(f); m->v_norm = fz_u8(f) < 128 ? 0.0 : fz_d(f);
    m->rho = fz_u8(f) < 128 ? 0.0 : fz_d(f); m->eps = (double)(fz_u8(f) % 5) / 4.0;
    m->dist_q = fz_u8(f) < 192 ? 0.0 : fz_d(f); m->noise = (pattn_noise)(fz_u8(f) % 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size, 0};
    int op = fz_u8(&f) % 6, n = fz_size(&f), T = fz_size(&f), d = fz_size(&f), ovf = 0, skip = 0;
    pattn_model mdl = (pattn_model)(fz_u8(&f) % 6);
    size_t bX, bd, bdd, bn, bnd, bnT;
    float *X, *y, *p, *v, *W, *o1, *o2, *o3, *o4;
    uint8_t *mask;
    pattn_params P;
    pattn_status st;
    pattn_clear_error();
    if (op == 0) { /* work size alone: any size, no buffers */
        size_t ws = pattn_model_work_size(mdl, T, d);
        if (!ws) fz_failed_msg("pattn_model_work_size");
        return 0;
    }
    /* the buffers each call reads or writes: n is not one of model_eval's sizes */
    bd = fz_need(&skip, &ovf, d, 1, 1, 4);
    bdd = fz_need(&skip, &ovf, d, d, 1, 4);
    bX = fz_need(&skip, &ovf, op == 1 ? 1 : n, T, d, 4);
    bn = op == 1 ? 4 : fz_need(&skip, &ovf, n, 1, 1, 4);
    bnd = fz_need(&skip, &ovf, op == 1 ? 1 : n, d, 1, 4);
    bnT = op == 1 ? 1 : fz_need(&skip, &ovf, n, T, 1, 1);
    if (skip) return 0;
    /* SA keeps the T x T attention matrix: a valid T of 40,000 asks for gigabytes, which the
       memory cap would report. That is SA's documented cost, not a defect; skip it here. */
    if (mdl == PATTN_SA && T > 2048 && !ovf) return 0;
    X = (float *)fz_buf(bX); y = (float *)fz_buf(bn); p = (float *)fz_buf(bd); v = (float *)fz_buf(bd);
    W = (float *)fz_buf(bdd); o1 = (float *)fz_buf(bnd > bdd ? bnd : bdd); o2 = (float *)fz_buf(bdd);
    o3 = (float *)fz_buf(bn); o4 = (float *)fz_buf(bnd); mask = (uint8_t *)fz_buf(bnT);
    if (!ovf) {
        fz_fill_f(&f, X, bX / 4); fz_fill_f(&f, y, bn / 4); fz_fill_f(&f, p, bd / 4);
        fz_fill_f(&f, v, bd / 4); fz_fill_f(&f, W, bdd / 4);
        memset(mask, fz_u8(&f) % 3, bnT);
    }
    memset(&P, 0, sizeof P);
    P.d = d; P.p = fz_u8(&f) < 240 ? p : NULL; P.v = v; P.W = fz_u8(&f) & 1 ? W : NULL;
    switch (op) {
    case 1:
        st = pattn_model_eval(mdl, &P, X, T, o3, o4, fz_u8(&f) & 1 ? o1 : NULL, fz_u8(&f) & 1 ? o2 : NULL);
        FZ_STATUS("pattn_model_eval", st, FZ_OUT(o3, 4), FZ_OUT(o4, bd), FZ_OUT(o1, bd), FZ_OUT(o2, bdd));
        break;
    case 2: {
        pattn_batch_out out;
        memset(&out, 0, sizeof out);
        out.f = fz_u8(&f) & 1 ? o3 : NULL; out.h = fz_u8(&f) & 1 ? o4 : NULL;
        out.gv = fz_u8(&f) & 1 ? o1 : NULL; out.gW = fz_u8(&f) & 1 ? o2 : NULL;
        out.gp = fz_u8(&f) & 1 ? (float *)fz_buf(bd) : NULL;
        st = pattn_model_batch(mdl, &P, (pattn_loss)(fz_u8(&f) % 4), X, fz_u8(&f) < 230 ? y : NULL, n, T, &out, NULL, 0);
        FZ_STATUS("pattn_model_batch", st, FZ_OUT(out.f, bn), FZ_OUT(out.h, bnd), FZ_OUT(out.gv, bd), FZ_OUT(out.gW, bdd), FZ_OUT(out.gp, bd));
        free(out.gp);
        break;
    }
    case 3: {
        pattn_cmm m;
        size_t bs;
        int ovf2 = 0;
        fz_cmm(&f, &m);
        bs = fz_bytes(n, m.T, m.d, 4, &ovf2);
        if (!ovf2 && (!bs || !fz_bytes(m.d, 1, 1, 4, &ovf2) || !fz_bytes(n, m.T, 1, 1, &ovf2))) break;
        {
            float *Xs = (float *)fz_buf(bs), *ys = (float *)fz_buf(bn), *q = (float *)fz_buf(fz_bytes(m.d, 1, 1, 4, &ovf2)),
                  *vs = (float *)fz_buf(fz_bytes(m.d, 1, 1, 4, &ovf2));
            uint8_t *ms = (uint8_t *)fz_buf(fz_bytes(n, m.T, 1, 1, &ovf2));
            st = pattn_cmm_sample(&m, NULL, fz_u64(&f), fz_u64(&f), n, Xs, ys, fz_u8(&f) & 1 ? ms : NULL);
            FZ_STATUS("pattn_cmm_sample", st, FZ_OUT(Xs, bs), FZ_OUT(ys, bn), FZ_OUT(ms, 64));
            st = pattn_cmm_vectors(&m, NULL, q, vs);
            FZ_STATUS("pattn_cmm_vectors", st, FZ_OUT(q, 64), FZ_OUT(vs, 64));
            free(Xs); free(ys); free(q); free(vs); free(ms);
        }
        break;
    }
    case 4: {
        double mass = -1.0;
        st = pattn_pa_features(X, n, T, d, p, P.W, o4);
        FZ_STATUS("pattn_pa_features", st, FZ_OUT(o4, bnd));
        st = pattn_pa_relevant_mass(X, mask, n, T, d, p, P.W, &mass);
        if (st != PATTN_OK && mass != -1.0) FZ_FAIL("relevant mass failed but wrote");
        if (st == PATTN_OK && !(mass >= 0.0 && mass <= 1.0) && mass == mass) FZ_FAIL("relevant mass %g outside [0, 1]", mass);
        break;
    }
    default: {
        size_t bw = fz_bytes(d, 1, 1, 8, &ovf);
        double *w = (double *)fz_buf(bw);
        st = pattn_ridge_fit(X, y, n, d, fz_d(&f), w); /* X holds at least n*d floats */
        FZ_STATUS("pattn_ridge_fit", st, FZ_OUT(w, bw));
        free(w);
    }
    }
    free(X); free(y); free(p); free(v); free(W); free(o1); free(o2); free(o3); free(o4); free(mask);
    return 0;
}
