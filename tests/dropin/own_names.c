/* A user file with its own arrlen, arrput and hmget (stb_ds's short names) includes the
   header, implementation and all: none of stb_ds may reach it. Training with a history
   proves the implementation's stb_ds arrays still work. */
#include <stdio.h>
#include <string.h>

static int arrlen(const int *a, int n) { return n > 0 ? a[n - 1] : 0; }
#define arrput(a, v) ((a)[0] = (v))
static int hmget(int k) { return 2 * k; }

#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"

#if defined(arrfree) || defined(arrlenu) || defined(hmput) || defined(STBDS_NO_SHORT_NAMES)
#error "stb_ds's short names (or its switch) leaked into the including file"
#endif

int main(void)
{
    int a[3] = {1, 2, 3};
    float X[4 * 8 * 4], y[4], p[4] = {0}, v[4] = {0};
    pattn_cmm m = {0};
    pattn_params P;
    pattn_train_opts o = {0};
    pattn_history h = {0};
    arrput(a, 7);
    m.d = 4; m.T = 8; m.zeta = 0.25; m.sigma = 0.5;
    if (pattn_cmm_sample(&m, NULL, 1, 0, 4, X, y, NULL) != PATTN_OK) return 1;
    P.d = 4; P.p = p; P.v = v; P.W = NULL;
    o.opt.steps = 5;
    if (pattn_train(&o, &P, X, y, 4, 8, &h) != PATTN_OK || h.len != 5) return 2;
    printf("own names: arrlen %d, hmget %d, history %ld records, loss %.4f -> %.4f\n", arrlen(a, 3), hmget(2), h.len,
           h.rec[0].loss, h.rec[4].loss);
    pattn_history_free(&h);
    return h.rec == NULL ? 0 : 3;
}
