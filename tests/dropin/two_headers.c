/* The two-header build: prompt_attn.h and stb_ds.h side by side, stb_ds's implementation
   compiled here through PATTN_STB_DS_IMPLEMENTATION, linked with libm alone (no -lstb). */
#define PATTN_IMPLEMENTATION
#define PATTN_STB_DS_IMPLEMENTATION
#include "prompt_attn.h"
#include <stdio.h>
#ifdef __cplusplus
#define ZERO {}
#else
#define ZERO {0}
#endif

int main(void)
{
    float X[16 * 8 * 6], y[16], p[6] = {0}, v[6] = {0};
    pattn_cmm m = ZERO;
    pattn_params P;
    pattn_train_opts o = ZERO;
    pattn_history h = ZERO;
    m.d = 6; m.T = 8; m.zeta = 0.25; m.sigma = 0.5; m.q_norm = 2;
    if (pattn_cmm_sample(&m, NULL, 7, 0, 16, X, y, NULL) != PATTN_OK) return 1;
    P.d = 6; P.p = p; P.v = v; P.W = NULL;
    o.opt.steps = 200; /* the history grows through several reallocations */
    if (pattn_train(&o, &P, X, y, 16, 8, &h) != PATTN_OK || h.len != 200) return 2;
    printf("two headers: %ld records, loss %.4f -> %.4f, simd %s\n", h.len, h.rec[0].loss, h.rec[h.len - 1].loss, pattn_simd_path());
    pattn_history_free(&h);
    return 0;
}
