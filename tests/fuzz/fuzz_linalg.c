/* Dense linear algebra: Cholesky, its solve, the symmetric eigensolver. */
#define PATTN_IMPLEMENTATION
#define PATTN_STB_DS_IMPLEMENTATION
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size, 0};
    int op = fz_u8(&f) % 3, n = fz_size(&f), nrhs = fz_size(&f), ovf = 0, i, j;
    size_t bA = fz_bytes(n, n, 1, sizeof(double), &ovf), bB = fz_bytes(n, nrhs, 1, sizeof(double), &ovf);
    double *A, *B, *w, *V, scale = fz_pos(&f);
    pattn_status st;
    pattn_clear_error();
    if (!ovf && (!bA || !bB)) return 0;
    if (n > 0 && (double)n * n > 2147483647.0) ovf = 1; /* must be refused */
    A = (double *)fz_buf(ovf ? 64 : bA); B = (double *)fz_buf(ovf ? 64 : bB);
    w = (double *)fz_buf(ovf ? 64 : fz_bytes(n, 1, 1, 8, &ovf)); V = (double *)fz_buf(ovf ? 64 : bA);
    if (!ovf && n > 0) {
        fz_fill_d(&f, A, (size_t)n * n);
        if (fz_u8(&f) & 1) /* a symmetric (often SPD) matrix at some scale */
            for (i = 0; i < n; ++i)
                for (j = 0; j <= i; ++j) {
                    A[i * n + j] = A[j * n + i] = (i == j ? (double)n + fabs(A[i * n + j]) : A[i * n + j]) * scale;
                }
        if (nrhs > 0) fz_fill_d(&f, B, (size_t)n * nrhs);
    }
    switch (op) {
    case 0: {
        size_t big = (bA > bB ? bA : bB) + 64;
        double *A0 = (double *)malloc(big);
        if (!A0) abort();
        memcpy(A0, A, ovf ? 64 : bA);
        st = pattn_chol(A, n);
        if (st != PATTN_OK && memcmp(A0, A, ovf ? 64 : bA)) FZ_FAIL("chol failed (%d) but changed A", (int)st);
        if (st != PATTN_OK) fz_failed_msg("pattn_chol");
        if (st == PATTN_OK) {
            memset(B, 0xA5, ovf ? 64 : bB);
            if (!ovf && nrhs > 0) fz_fill_d(&f, B, (size_t)n * nrhs);
            memcpy(A0, B, ovf ? 64 : (bB < 64 ? 64 : bB));
            st = pattn_chol_solve(A, n, B, nrhs);
            if (st != PATTN_OK && memcmp(A0, B, ovf ? 64 : (bB < 64 ? 64 : bB))) FZ_FAIL("chol_solve failed but wrote B");
        }
        free(A0);
        break;
    }
    case 1: {
        double *B0 = (double *)malloc(ovf ? 64 : (bB < 64 ? 64 : bB));
        if (!B0) abort();
        memcpy(B0, B, ovf ? 64 : (bB < 64 ? 64 : bB));
        st = pattn_chol_solve(A, n, B, nrhs);
        if (st != PATTN_OK && memcmp(B0, B, ovf ? 64 : (bB < 64 ? 64 : bB))) FZ_FAIL("chol_solve failed but wrote B");
        if (st != PATTN_OK) fz_failed_msg("pattn_chol_solve");
        free(B0);
        break;
    }
    default:
        st = pattn_sym_eig(A, n, w, fz_u8(&f) & 1 ? V : NULL);
        FZ_STATUS("pattn_sym_eig", st, FZ_OUT(w, 64), FZ_OUT(V, 64));
        if (st == PATTN_OK)
            for (i = 0; i < n; ++i)
                if (w[i] != w[i]) FZ_FAIL("sym_eig returned OK with a NaN eigenvalue");
    }
    free(A); free(B); free(w); free(V);
    return 0;
}
