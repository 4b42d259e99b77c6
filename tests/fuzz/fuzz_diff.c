/* Differential: in a dispatching build both twins are compiled; the AVX2 one (with its
   AVX-512 kernels where the CPU has them) and the scalar one must give the same bits on
   whatever the bytes decode to (a NaN need only meet a NaN). Build without -mavx2. */
#define PATTN_IMPLEMENTATION
#define PATTN_STB_DS_IMPLEMENTATION
#include "fuzz.h"

#if !PATTN__DISPATCH
#error "fuzz_diff needs the dispatching build: compile it for x86-64 without -mavx2"
#endif

/* the same bits, except that a NaN need only be a NaN: its sign and payload come from the
   hardware (x86's default NaN is negative, ARM's positive), not from the library */
static void same(const void *a, const void *b, size_t bytes, const char *what)
{
    const float *x = (const float *)a, *y = (const float *)b;
    size_t i;
    for (i = 0; i < bytes / 4; ++i)
        if (memcmp(x + i, y + i, 4) && !(x[i] != x[i] && y[i] != y[i]))
            FZ_FAIL("%s: the AVX2 and scalar twins differ at float %lu: %.9g vs %.9g", what, (unsigned long)i, x[i], y[i]);
}
static void same_d(double a, double b, const char *what)
{
    if (memcmp(&a, &b, 8) && !(a != a && b != b)) FZ_FAIL("%s: the twins differ: %.17g vs %.17g", what, a, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size, 0};
    int op = fz_u8(&f) % 6, n = fz_u8(&f) % 20 + 1, T = fz_u8(&f) % 40 + 1, d = fz_u8(&f) % 40 + 1;
    size_t nx = (size_t)n * T * d;
    size_t na = nx + (size_t)n + 2 * (size_t)d + 16; /* model_batch's f, h, gv, gp fit too */
    float *X = (float *)fz_buf(nx * 4), *A = (float *)fz_buf(na * 4), *B = (float *)fz_buf(na * 4);
    float *p = (float *)fz_buf((size_t)d * 4), *v = (float *)fz_buf((size_t)d * 4), *W = (float *)fz_buf((size_t)d * d * 4);
    float *y = (float *)fz_buf((size_t)n * 4);
    if (!pattn__cpu_avx2()) return 0;
    fz_fill_f(&f, X, nx); fz_fill_f(&f, p, (size_t)d); fz_fill_f(&f, v, (size_t)d); fz_fill_f(&f, W, (size_t)d * d);
    fz_fill_f(&f, y, (size_t)n);
    switch (op) {
    case 0: {
        float a = pattn_dot_f32_avx2(X, p, d), b = pattn_dot_f32_scalar(X, p, d);
        same(&a, &b, 4, "dot");
        pattn_exp_f32_avx2(X, A, (int)nx); pattn_exp_f32_scalar(X, B, (int)nx); same(A, B, nx * 4, "exp");
        pattn_softmax_rows_f32_avx2(X, A, n * T, d); pattn_softmax_rows_f32_scalar(X, B, n * T, d); same(A, B, nx * 4, "softmax rows");
        pattn_softmax_f32_avx2(X, A, (int)nx); pattn_softmax_f32_scalar(X, B, (int)nx); same(A, B, nx * 4, "softmax");
        break;
    }
    case 1: {
        float a = pattn_pa_forward_backward_f32_avx2(X, n * T, d, p, v, A, A + d);
        float b = pattn_pa_forward_backward_f32_scalar(X, n * T, d, p, v, B, B + d);
        same(&a, &b, 4, "PA kernel f"); same(A, B, 2 * (size_t)d * 4, "PA kernel h, grad");
        pattn_matvec_f32_avx2(X, n * T, d, p, A); pattn_matvec_f32_scalar(X, n * T, d, p, B); same(A, B, (size_t)n * T * 4, "matvec");
        break;
    }
    case 2: {
        pattn_params P;
        pattn_batch_out oa, ob;
        pattn_model m = (pattn_model)(fz_u8(&f) % 5);
        pattn_loss l = (pattn_loss)(fz_u8(&f) % 2);
        float *ga = (float *)fz_buf((size_t)d * d * 4), *gb = (float *)fz_buf((size_t)d * d * 4);
        pattn_status sa, sb;
        P.d = d; P.p = p; P.v = v; P.W = fz_u8(&f) & 1 ? W : NULL;
        memset(&oa, 0, sizeof oa); memset(&ob, 0, sizeof ob);
        oa.f = A; ob.f = B; oa.h = A + n; ob.h = B + n;
        oa.gv = A + n + (size_t)n * d; ob.gv = B + n + (size_t)n * d;
        if (m != PATTN_LIN) { oa.gW = ga; ob.gW = gb; }
        if (m <= PATTN_LPA) { oa.gp = oa.gv + d; ob.gp = ob.gv + d; }
        sa = pattn_model_batch_avx2(m, &P, l, X, y, n, T, &oa, NULL, 0);
        sb = pattn_model_batch_scalar(m, &P, l, X, y, n, T, &ob, NULL, 0);
        if (sa != sb) FZ_FAIL("model_batch status %d vs %d", (int)sa, (int)sb);
        same(A, B, ((size_t)n + (size_t)n * d + 2 * (size_t)d) * 4, "model_batch f, h, gv, gp");
        if (m != PATTN_LIN) same(ga, gb, (size_t)d * d * 4, "model_batch gW");
        same_d(oa.loss, ob.loss, "model_batch loss");
        free(ga); free(gb);
        break;
    }
    case 3: {
        pattn_cmm m;
        pattn_status sa, sb;
        memset(&m, 0, sizeof m);
        m.d = d < 2 ? 2 : d; m.T = T; m.zeta = (double)(fz_u8(&f) % 8 + 1) / 8.0; m.sigma = fz_pos(&f);
        m.rho = fz_u8(&f) & 1 ? fz_pos(&f) : 0.0; m.eps = (double)(fz_u8(&f) % 5) / 4.0; m.noise = (pattn_noise)(fz_u8(&f) % 2);
        m.dist_q = fz_u8(&f) < 200 ? 0.0 : 0.5;
        if ((size_t)n * T * m.d > nx) break;
        {
            uint64_t seed = fz_u64(&f), first = fz_u64(&f) >> 8;
            sa = pattn_cmm_sample_avx2(&m, NULL, seed, first, n, A, y, NULL);
            memcpy(p, y, 4);
            sb = pattn_cmm_sample_scalar(&m, NULL, seed, first, n, B, y, NULL);
            if (sa != sb) FZ_FAIL("cmm_sample status %d vs %d", (int)sa, (int)sb);
            same(A, B, (size_t)n * T * m.d * 4, "cmm_sample X");
        }
        break;
    }
    default: {
        float s8a[200], s8b[200];
        pattn_rng8 ra, rb;
        uint64_t s = fz_u64(&f), st = fz_u64(&f);
        pattn_rng8_seed_avx2(&ra, s, st); pattn_rng8_seed_scalar(&rb, s, st);
        pattn_rng8_normal_f32_avx2(&ra, s8a, 200); pattn_rng8_normal_f32_scalar(&rb, s8b, 200); same(s8a, s8b, sizeof s8a, "rng8 normal");
        pattn_rng8_uniform_f32_avx2(&ra, s8a, 200); pattn_rng8_uniform_f32_scalar(&rb, s8b, 200); same(s8a, s8b, sizeof s8a, "rng8 uniform");
    }
    }
    free(X); free(A); free(B); free(p); free(v); free(W); free(y);
    return 0;
}
