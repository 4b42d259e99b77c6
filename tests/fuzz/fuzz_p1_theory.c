/* Paper 1 training and theory: pattn_train and pattn_traj3 on tiny problems, the feature
   law, the ridge limits, the oracles, the attention law, the fixed point, the head risk. */
#define PATTN_IMPLEMENTATION
#define PATTN_STB_DS_IMPLEMENTATION
#include "fuzz.h"

static void fz_cmm(fz *f, pattn_cmm *m)
{
    memset(m, 0, sizeof *m);
    m->d = fz_size(f); m->T = fz_u8(f) < 220 ? fz_size(f) : (fz_size(f) % 100) * 1000;
    m->zeta = fz_u8(f) < 200 ? (double)(fz_u8(f) % 16 + 1) / 16.0 : fz_d(f);
    m->sigma = fz_pos(f); m->q_norm = fz_u8(f) < 128 ? 0.0 : fz_d(f); m->v_norm = fz_u8(f) < 128 ? 0.0 : fz_d(f);
    m->rho = fz_u8(f) < 128 ? 0.0 : fz_pos(f); m->eps = (double)(fz_u8(f) % 5) / 4.0;
    m->dist_q = fz_u8(f) < 192 ? 0.0 : fz_d(f); m->noise = (pattn_noise)(fz_u8(f) % 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size, 0};
    int op = fz_u8(&f) % 8, i;
    pattn_status st;
    pattn_clear_error();
    switch (op) {
    case 0: { /* the oracles and the closed forms on an atomic law */
        int n = fz_u8(&f) % 9, u = 7;
        double pi[8], b[8], sum = 0.0, t = -1.0, r[4];
        fz_fill_d(&f, b, 8);
        for (i = 0; i < 8; ++i) { pi[i] = fz_pos(&f); sum += pi[i]; }
        if (fz_u8(&f) & 1) for (i = 0; i < 8; ++i) pi[i] /= sum; /* usually a probability vector */
        (void)pattn_bayes_error(n, pi, b);
        (void)pattn_ls_pop_error(n, pi, b, fz_d(&f));
        (void)pattn_best_linear_error(n, pi, b, &u, &t);
        (void)pattn_ridge_err_lambda_inf(n, pi, b, fz_d(&f));
        pattn_ridge_resolvent(fz_d(&f), fz_d(&f), r, r + 1, r + 2, r + 3);
        pattn_ridge_nodist_risk(fz_d(&f), fz_d(&f), fz_d(&f), r, r + 1);
        pattn_ridgeless_nodist_risk(fz_d(&f), fz_d(&f), r, r + 1);
        (void)pattn_ridgeless_kappa_star(fz_d(&f), fz_d(&f));
        {
            pattn_ridge_limits L;
            memset(&L, 0xA5, sizeof L);
            st = pattn_ridge_limits_eval(n, pi, b, fz_d(&f), fz_d(&f), fz_d(&f), fz_size(&f), fz_d(&f), fz_d(&f), &L);
            FZ_STATUS("pattn_ridge_limits_eval", st, FZ_OUT(&L, sizeof L));
        }
        {
            pattn_ridge_fp fp;
            double s[8];
            fz_fill_d(&f, s, 8);
            memset(&fp, 0xA5, sizeof fp);
            st = pattn_ridge_fixed_point(n, pi, b, s, fz_d(&f), fz_d(&f), &fp);
            FZ_STATUS("pattn_ridge_fixed_point", st, FZ_OUT(&fp, sizeof fp));
        }
        break;
    }
    case 1: case 2: { /* feature law, attention law, head risk */
        pattn_cmm m;
        double g = fz_d(&f);
        fz_cmm(&f, &m);
        if (op == 1) {
            pattn_feature_law law;
            memset(&law, 0xA5, sizeof law);
            st = pattn_feature_law_eval(&m, g, &law);
            FZ_STATUS("pattn_feature_law_eval", st, FZ_OUT(&law, sizeof law));
            if (st == PATTN_OK && law.n_atoms > 0 && law.n_atoms <= 1 << 16) {
                double *pi = (double *)fz_buf((size_t)law.n_atoms * 8), *b = (double *)fz_buf((size_t)law.n_atoms * 8);
                (void)pattn_feature_law_atoms(&law, pi, b);
                free(pi); free(b);
            }
            {
                pattn_head_risk R;
                memset(&R, 0xA5, sizeof R);
                st = pattn_head_risk_theory(&m, g, fz_d(&f), fz_d(&f), &R);
                FZ_STATUS("pattn_head_risk_theory", st, FZ_OUT(&R, sizeof R));
            }
        } else {
            int na = pattn_attention_law_size(&m, g), cnt = -1;
            if (na > 0 && na <= 200000) {
                double *p = (double *)fz_buf((size_t)na * 8), *a = (double *)fz_buf((size_t)na * 8),
                       *s = (double *)fz_buf((size_t)na * 8), *c = (double *)fz_buf((size_t)na * 8);
                st = pattn_attention_law(&m, g, p, a, s, fz_u8(&f) & 1 ? c : NULL, &cnt);
                FZ_STATUS("pattn_attention_law", st, FZ_OUT(p, (size_t)na * 8));
                free(p); free(a); free(s); free(c);
            }
        }
        break;
    }
    default: { /* training on a tiny problem */
        int n = fz_u8(&f) % 12 + 1, T = fz_u8(&f) % 6 + 1, d = fz_u8(&f) % 6 + 1;
        float *X = (float *)fz_buf((size_t)n * T * d * 4), *y = (float *)fz_buf((size_t)n * 4),
              *p = (float *)fz_buf((size_t)d * 4), *v = (float *)fz_buf((size_t)d * 4), *W = (float *)fz_buf((size_t)d * d * 4);
        fz_fill_f(&f, X, (size_t)n * T * d); fz_fill_f(&f, y, (size_t)n);
        fz_fill_f(&f, p, (size_t)d); fz_fill_f(&f, v, (size_t)d); fz_fill_f(&f, W, (size_t)d * d);
        if (op < 6) {
            pattn_train_opts o;
            pattn_params P;
            pattn_history h;
            memset(&o, 0, sizeof o);
            memset(&h, 0, sizeof h);
            o.opt.steps = fz_u8(&f) % 20; o.opt.lr = fz_d(&f); o.opt.lr_final = fz_u8(&f) & 1 ? fz_d(&f) : 0.0;
            o.opt.optimizer = (pattn_optimizer)(fz_u8(&f) % 3); o.opt.schedule = (pattn_schedule)(fz_u8(&f) % 4);
            o.opt.weight_decay = fz_u8(&f) & 1 ? fz_d(&f) : 0.0; o.opt.beta1 = fz_u8(&f) & 1 ? fz_d(&f) : 0.0;
            o.model = (pattn_model)(fz_u8(&f) % 6); o.loss = (pattn_loss)(fz_u8(&f) % 4);
            o.train = fz_u8(&f) % 8; o.batch = fz_size(&f);
            P.d = d; P.p = p; P.v = v; P.W = fz_u8(&f) & 1 ? W : NULL;
            st = pattn_train(&o, &P, X, y, n, T, fz_u8(&f) & 1 ? &h : NULL);
            if (st != PATTN_OK) fz_failed_msg("pattn_train");
            pattn_history_free(&h);
        } else {
            pattn_traj_opts o;
            pattn_traj_result res;
            float *v1 = (float *)fz_buf((size_t)d * 4), *p2 = (float *)fz_buf((size_t)d * 4), *v3 = (float *)fz_buf((size_t)d * 4);
            memset(&o, 0, sizeof o);
            o.eta_v = fz_d(&f); o.eta_p = fz_d(&f); o.no_split = fz_u8(&f) & 1; o.lambda = fz_d(&f);
            o.step3 = (pattn_traj_step3)(fz_u8(&f) % 4); o.loss = (pattn_loss)(fz_u8(&f) % 4);
            memset(&res, 0xA5, sizeof res);
            /* X holds n samples: n per step without splitting, n/3 per subset with it */
            st = pattn_traj3(&o, X, y, o.no_split ? n : n / 3, T, d, fz_u8(&f) & 1 ? p : NULL, X, y, NULL, n, v1, p2, v3, &res);
            FZ_STATUS("pattn_traj3", st, FZ_OUT(v1, (size_t)d * 4), FZ_OUT(p2, (size_t)d * 4), FZ_OUT(v3, (size_t)d * 4), FZ_OUT(&res, sizeof res));
            free(v1); free(p2); free(v3);
        }
        free(X); free(y); free(p); free(v); free(W);
    }
    }
    return 0;
}
