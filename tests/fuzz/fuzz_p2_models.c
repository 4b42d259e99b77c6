/* Paper 2 generator and models: gen_create, icl_sample, model_create/init, loss_grad, the
   FULL constructions from reduced and PGD predictors. */
#define PATTN_IMPLEMENTATION
#define PATTN_STB_DS_IMPLEMENTATION
#include "fuzz_p2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size, 0};
    fz_mix x;
    pattn_icl_gen *g = NULL;
    pattn_icl_model *mdl = NULL;
    pattn_status st;
    int n = fz_u8(&f) < 240 ? fz_u8(&f) % 12 + 1 : fz_size(&f), B = fz_u8(&f) % 70 + 1, task = (int)(fz_u8(&f) % 6) - 1;
    pattn_icl_type type = (pattn_icl_type)(fz_u8(&f) % 5);
    int mp = fz_u8(&f) % 4;
    pattn_clear_error();
    fz_mix_make(&f, &x);
    if (!x.ok) { /* structural errors only */
        st = pattn_icl_gen_create(&x.m, &g);
        if (st == PATTN_OK) FZ_FAIL("gen_create accepted d = %d, K = %d without arrays", x.m.d, x.m.K);
        return 0;
    }
    st = pattn_icl_gen_create(&x.m, &g);
    if (st != PATTN_OK) { fz_failed_msg("pattn_icl_gen_create"); if (g) FZ_FAIL("gen_create failed but set *out"); }
    if (st == PATTN_OK && n >= 1 && n <= 64) {
        int d = x.m.d;
        float *X = (float *)fz_buf((size_t)B * n * d * 4), *y = (float *)fz_buf((size_t)B * n * 4),
              *xq = (float *)fz_buf((size_t)B * d * 4), *yq = (float *)fz_buf((size_t)B * 4), *beta = (float *)fz_buf((size_t)B * d * 4);
        int *tk = (int *)fz_buf((size_t)B * sizeof(int));
        st = pattn_icl_sample(g, task, n, B, fz_u64(&f), X, y, xq, yq, tk, fz_u8(&f) & 1 ? beta : NULL);
        FZ_STATUS("pattn_icl_sample", st, FZ_OUT(X, (size_t)B * n * d * 4), FZ_OUT(y, (size_t)B * n * 4), FZ_OUT(tk, (size_t)B * sizeof(int)));
        if (st != PATTN_OK) { fz_fill_f(&f, X, (size_t)B * n * d); fz_fill_f(&f, y, (size_t)B * n); fz_fill_f(&f, xq, (size_t)B * d); fz_fill_f(&f, yq, (size_t)B); memset(tk, 0, (size_t)B * sizeof(int)); }
        st = pattn_icl_model_create(&x.m, type, type == PATTN_ICL_FULL ? mp : (fz_u8(&f) < 250 ? 0 : mp), &mdl);
        if (st != PATTN_OK) fz_failed_msg("pattn_icl_model_create");
        if (st == PATTN_OK) {
            double loss = -1.0, *grad = (double *)fz_buf((size_t)mdl->np * 8), *yh = (double *)fz_buf((size_t)B * 8);
            if (fz_u8(&f) & 1) (void)pattn_icl_model_init(mdl, n, fz_u64(&f));
            else fz_fill_d(&f, mdl->theta, (size_t)mdl->np);
            st = pattn_icl_loss_grad(mdl, n, B, X, y, xq, yq, fz_u8(&f) & 1 ? tk : NULL, NULL, yh, &loss, grad);
            FZ_STATUS("pattn_icl_loss_grad", st, FZ_OUT(grad, (size_t)mdl->np * 8), FZ_OUT(yh, (size_t)B * 8));
            if (mdl->type == PATTN_ICL_FULL) {
                double *W = (double *)fz_buf((size_t)d * d * 8), *b = (double *)fz_buf((size_t)x.m.K * d * 8);
                fz_fill_d(&f, W, (size_t)d * d); fz_fill_d(&f, b, (size_t)x.m.K * d);
                st = pattn_icl_full_from_reduced(mdl, W, fz_u8(&f) & 1 ? b : NULL);
                if (st != PATTN_OK) fz_failed_msg("pattn_icl_full_from_reduced");
                st = pattn_icl_full_from_pgd(mdl, W);
                if (st != PATTN_OK) fz_failed_msg("pattn_icl_full_from_pgd");
                free(W); free(b);
            }
            free(grad); free(yh);
        }
        pattn_icl_model_free(mdl);
        free(X); free(y); free(xq); free(yq); free(beta); free(tk);
    } else if (st == PATTN_OK && n < 1) {
        float buf[16];
        memset(buf, 0xA5, sizeof buf);
        st = pattn_icl_sample(g, task, n, B, 1, buf, buf, buf, buf, NULL, NULL);
        if (st == PATTN_OK) FZ_FAIL("icl_sample accepted n = %d", n);
        if (!fz_untouched(buf, sizeof buf)) FZ_FAIL("icl_sample failed but wrote");
    }
    pattn_icl_gen_free(g);
    fz_mix_free(&x);
    return 0;
}
