/* Paper 2 training and theory: the closed forms (theory, iso, optimum, risk, risk_pgd), the
   trainer on a few steps, the test loss. */
#define PATTN_IMPLEMENTATION
#define PATTN_STB_DS_IMPLEMENTATION
#include "fuzz_p2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size, 0};
    fz_mix x;
    pattn_status st;
    int op = fz_u8(&f) % 3, n = fz_u8(&f) < 230 ? fz_u8(&f) % 40 + 1 : fz_size(&f), k, d, K;
    pattn_clear_error();
    fz_mix_make(&f, &x);
    if (!x.ok) {
        pattn_icl_risks R;
        memset(&R, 0xA5, sizeof R);
        st = pattn_icl_theory(&x.m, n, &R);
        if (st == PATTN_OK) FZ_FAIL("icl_theory accepted d = %d, K = %d without arrays", x.m.d, x.m.K);
        FZ_STATUS("pattn_icl_theory", st, FZ_OUT(&R, sizeof R));
        return 0;
    }
    d = x.m.d; K = x.m.K;
    if (op == 0) {
        pattn_icl_risks R;
        double *W = (double *)fz_buf((size_t)K * d * d * 8), *b = (double *)fz_buf((size_t)K * d * 8), rk[4], risk = -1.0;
        double s[4], mk[4];
        memset(&R, 0xA5, sizeof R);
        st = pattn_icl_mix_check(&x.m);
        if (st != PATTN_OK) fz_failed_msg("pattn_icl_mix_check");
        st = pattn_icl_theory(&x.m, n, &R);
        FZ_STATUS("pattn_icl_theory", st, FZ_OUT(&R, sizeof R));
        st = pattn_icl_optimum(&x.m, n, (pattn_icl_regime)(fz_u8(&f) % 6), W, fz_u8(&f) & 1 ? b : NULL);
        if (st != PATTN_OK) fz_failed_msg("pattn_icl_optimum");
        fz_fill_d(&f, W, (size_t)K * d * d);
        st = pattn_icl_risk(&x.m, n, W, fz_u8(&f) & 1 ? b : NULL, rk, &risk);
        if (st != PATTN_OK && risk != -1.0) FZ_FAIL("icl_risk failed but wrote");
        st = pattn_icl_risk_pgd(&x.m, n, W, fz_u8(&f) % 3, rk, &risk);
        if (st != PATTN_OK) fz_failed_msg("pattn_icl_risk_pgd");
        for (k = 0; k < 4; ++k) { s[k] = fz_pos(&f); mk[k] = fz_d(&f); }
        memset(&R, 0xA5, sizeof R);
        st = pattn_icl_theory_iso(fz_u8(&f) < 240 ? d : fz_size(&f), n, K, x.pi, fz_u8(&f) & 1 ? mk : NULL, s, fz_d(&f), &R);
        FZ_STATUS("pattn_icl_theory_iso", st, FZ_OUT(&R, sizeof R));
        free(W); free(b);
    } else {
        pattn_icl_gen *g = NULL;
        pattn_icl_model *mdl = NULL;
        if (pattn_icl_gen_create(&x.m, &g) == PATTN_OK &&
            pattn_icl_model_create(&x.m, (pattn_icl_type)(fz_u8(&f) % 4), 0, &mdl) == PATTN_OK) {
            pattn_icl_train_opts o;
            pattn_history h;
            memset(&o, 0, sizeof o);
            memset(&h, 0, sizeof h);
            o.opt.steps = fz_u8(&f) % 6 + 1; o.opt.lr = fz_u8(&f) & 1 ? fz_d(&f) : 0.0;
            o.opt.optimizer = (pattn_optimizer)(fz_u8(&f) % 3); o.opt.schedule = (pattn_schedule)(fz_u8(&f) % 4);
            o.opt.seed = fz_u64(&f); o.regime = (pattn_icl_regime)(fz_u8(&f) % 6); o.batch = fz_u8(&f) % 16;
            o.scaling = (pattn_lr_scaling)(fz_u8(&f) % 3);
            if (op == 1) {
                st = pattn_icl_train(g, mdl, n > 64 ? 64 : n, fz_u8(&f) & 1 ? &o : NULL, &h);
                if (st != PATTN_OK) fz_failed_msg("pattn_icl_train");
            } else {
                double lk[4], l = -1.0, se = -1.0;
                st = pattn_icl_test_loss(g, mdl, n > 64 ? 64 : n, fz_u8(&f) % 40, fz_u64(&f), lk, &l, &se);
                if (st != PATTN_OK && (l != -1.0 || se != -1.0)) FZ_FAIL("icl_test_loss failed but wrote");
                if (st != PATTN_OK) fz_failed_msg("pattn_icl_test_loss");
            }
            pattn_history_free(&h);
        }
        pattn_icl_model_free(mdl);
        pattn_icl_gen_free(g);
    }
    fz_mix_free(&x);
    return 0;
}
