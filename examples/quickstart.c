/* quickstart: the one-define usage. Draw a few sequences from the contextual mixture model
   (a quarter of the tokens carry the context q plus the label direction y v*, the rest are
   noise), point the prompt along the context, and watch softmax attention find the relevant
   tokens: the attention mass on them and the output f = v' X' softmax(X p), whose sign is
   the label.
       cc -O2 quickstart.c -I/usr/include/stb -lstb -lm */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include <stdio.h>
#include <string.h>

enum { N = 6, T = 16, D = 32 };

int main(void)
{
    static float X[N * T * D];
    float y[N], p[D], v[D], s[T], a[T];
    double w_rel, w_irr;
    unsigned char mask[N * T];
    pattn_cmm m = {0}; /* zero = defaults: ORTHO noise, no distractors */
    int i, t;

    m.d = D; m.T = T;
    m.zeta = 0.25;                /* k = 4 relevant tokens of 16 */
    m.sigma = 1.0;
    m.q_norm = 3.0; m.v_norm = 1.0; /* default q = 3 e1, v* = e2 */
    if (pattn_cmm_sample(&m, NULL, 42, 0, N, X, y, mask) != PATTN_OK) {
        fprintf(stderr, "quickstart: %s\n", pattn_last_error()); /* names the argument and the rule */
        return 1;
    }

    /* prompt p = Gamma q/|q|^2: relevant tokens score Gamma, the others 0 */
    memset(p, 0, sizeof p);
    memset(v, 0, sizeof v);
    p[0] = 3.0f / 3.0f;           /* Gamma = 3 */
    v[1] = 1.0f;                  /* read out along v* */

    /* with ORTHO noise the scores are exactly Gamma and 0, so the mass is k e^G/(k e^G + T-k) */
    pattn_cmm_attention_weights(T, 4, 3.0, &w_rel, &w_irr);
    printf("label      f   attention on relevant tokens (uniform: %.2f, theory: %.3f)\n", 4.0 / T, 4 * w_rel);
    for (i = 0; i < N; ++i) {
        const float *Xi = X + (size_t)i * T * D;
        float f = pattn_pa_forward_backward_f32(Xi, T, D, p, v, NULL, NULL), mass = 0;
        pattn_matvec_f32(Xi, T, D, p, s);
        pattn_softmax_f32(s, a, T);
        for (t = 0; t < T; ++t)
            if (mask[i * T + t] == 1) mass += a[t];
        printf("%+4.0f  %+7.3f   %.3f%s\n", (double)y[i], (double)f, (double)mass, f * y[i] > 0 ? "" : "   (wrong sign)");
    }
    return 0;
}
