/* A user who includes stb_ds with STBDS_NO_SHORT_NAMES, before or after the header, gets a
   working build: the implementation uses only the stbds_ names. */
#define STBDS_NO_SHORT_NAMES
#include "stb_ds.h"
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include <stdio.h>

int main(void)
{
    int *mine = NULL;
    float X[4 * 8 * 4], y[4], p[4] = {0}, v[4] = {0};
    pattn_cmm m = {0};
    pattn_params P;
    pattn_train_opts o = {0};
    pattn_history h = {0};
    stbds_arrput(mine, 42);
    m.d = 4; m.T = 8; m.zeta = 0.25; m.sigma = 0.5;
    if (pattn_cmm_sample(&m, NULL, 1, 0, 4, X, y, NULL) != PATTN_OK) return 1;
    P.d = 4; P.p = p; P.v = v; P.W = NULL;
    o.opt.steps = 3;
    if (pattn_train(&o, &P, X, y, 4, 8, &h) != PATTN_OK || h.len != 3) return 2;
    printf("no short names: own array %d, history %ld records\n", mine[0], h.len);
    stbds_arrfree(mine);
    pattn_history_free(&h);
    return 0;
}
