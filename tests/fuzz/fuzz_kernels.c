/* Kernels: dot, axpy, scale, exp, softmax, matvec, the PA kernel, the RNG. */
#define PATTN_IMPLEMENTATION
#define PATTN_STB_DS_IMPLEMENTATION
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size, 0};
    int op = fz_u8(&f) % 8, T = fz_size(&f), d = fz_size(&f), ovf = 0;
    size_t bx = fz_bytes(T, d, 1, sizeof(float), &ovf), bt = fz_bytes(T, 1, 1, sizeof(float), &ovf),
           bd = fz_bytes(d, 1, 1, sizeof(float), &ovf);
    float *X, *a, *b, *c, *g;
    pattn_clear_error();
    if (!ovf && (!bx || !bt || !bd)) return 0; /* fits, but beyond what we allocate */
    X = (float *)fz_buf(bx); a = (float *)fz_buf(bt > bd ? bt : bd); b = (float *)fz_buf(bd);
    c = (float *)fz_buf(bt > bd ? bt : bd); g = (float *)fz_buf(bd);
    if (!ovf) {
        fz_fill_f(&f, X, bx / sizeof(float));
        fz_fill_f(&f, a, (bt > bd ? bt : bd) / sizeof(float));
        fz_fill_f(&f, b, bd / sizeof(float));
    }
    switch (op) {
    case 0: if (!ovf && d >= 0) (void)pattn_dot_f32(a, b, d); break;
    case 1: if (!ovf && d >= 0) { pattn_axpy_f32(d, fz_f(&f), b, a); pattn_scale_f32(d, fz_f(&f), b); } break;
    case 2: if (!ovf && T >= 0) { pattn_exp_f32(a, fz_u8(&f) & 1 ? a : c, T); (void)pattn_expf(fz_f(&f)); } break;
    case 3:
        if (ovf) { pattn_softmax_rows_f32(X, c, T, d); if (!fz_untouched(c, 64)) FZ_FAIL("softmax_rows wrote on overflow"); }
        else if (T >= 0 && d >= 0) { pattn_softmax_rows_f32(X, fz_u8(&f) & 1 ? X : X, T, d); pattn_softmax_f32(a, c, T); }
        break;
    case 4:
        if (ovf) { pattn_matvec_f32(X, T, d, b, c); if (!fz_untouched(c, 64)) FZ_FAIL("matvec wrote on overflow"); }
        else if (T >= 0 && d >= 0) { pattn_matvec_f32(X, T, d, b, c); pattn_matvec_t_f32(X, T, d, a, g); }
        break;
    case 5: case 6: {
        /* 0: separate outputs; 1: h == p (allowed: h is written after every read); 2: h ==
           grad_p (refused); 3: no gradient */
        int alias = fz_u8(&f) % 4;
        float *h = alias == 1 ? a : (alias == 2 ? g : c), *gp = alias == 3 ? NULL : g, r;
        r = pattn_pa_forward_backward_f32(X, T, d, a, b, op == 5 ? h : NULL, op == 5 ? gp : NULL);
        if (r != r && !strstr(pattn_last_error(), "pattn_pa_forward_backward_f32") && pattn_last_error()[0])
            FZ_FAIL("PA kernel message does not name it");
        if (ovf && !(r != r)) FZ_FAIL("PA kernel accepted an overflowing size");
        break;
    }
    default: {
        pattn_rng r;
        pattn_rng8 r8;
        int n = T > 0 && !ovf ? T : 0;
        pattn_rng_seed(&r, fz_u64(&f));
        pattn_rng_stream(&r, fz_u64(&f), fz_u64(&f));
        (void)pattn_rng_below(&r, fz_u64(&f));
        (void)pattn_rng_normal_f64(&r);
        pattn_rng_normal_f32(&r, c, n);
        pattn_rng8_seed(&r8, fz_u64(&f), fz_u64(&f));
        pattn_rng8_normal_f32(&r8, c, n);
        pattn_rng8_uniform_f32(&r8, c, n);
        (void)pattn_binom_log_pmf(fz_size(&f), fz_size(&f), fz_d(&f));
        (void)pattn_norm_cdf(fz_d(&f));
    }
    }
    free(X); free(a); free(b); free(c); free(g);
    return 0;
}
