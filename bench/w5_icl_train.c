#define _POSIX_C_SOURCE 200809L /* clock_gettime, posix_memalign */
/* W5: train the reduced model with task prompts (joint training), Adam lr 1e-3, no weight
   decay, 2000 steps, batch 3072 per task, n = 20, d = 10, W and prompts from 0. Figures: the
   wall time of the run (median of 5 runs) and the final test loss on a fresh set of 200000
   samples per task (the JT optimum for this mixture is pattn_icl_theory's jt, 7.65443). */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include "bench.h"
#include <string.h>
#include "icl_common.h"

typedef struct { const pattn_icl_gen *g; pattn_icl_model *mdl; double loss; } ctx_t;

static void train(void *q)
{
    ctx_t *c = (ctx_t *)q;
    pattn_icl_train_opts o;
    memset(&o, 0, sizeof o);
    o.regime = PATTN_ICL_JT; o.batch = 3072; o.opt.steps = 2000; o.opt.lr = 1e-3; o.opt.seed = 5;
    o.opt.schedule = PATTN_SCHED_CONSTANT; o.scaling = PATTN_LR_UNIFORM; /* the authors' setting */
    memset(c->mdl->theta, 0, sizeof(double) * (size_t)c->mdl->np);
    if (pattn_icl_train(c->g, c->mdl, 20, &o, NULL) != PATTN_OK) abort();
}

int main(void)
{
    icl_bench_mix b;
    pattn_icl_gen *g = NULL;
    pattn_icl_risks th;
    ctx_t c;
    double t[5], se;
    int i;
    bench_header("w5_icl_train");
    icl_bench_mix_init(&b);
    if (pattn_icl_gen_create(&b.m, &g) != PATTN_OK || pattn_icl_model_create(&b.m, PATTN_ICL_REDUCED, 0, &c.mdl) != PATTN_OK)
        return 1;
    c.g = g;
    bench_set_threads(bench_max_threads() < 2 ? bench_max_threads() : 2);
    for (i = 0; i < 5; ++i) {
        double t0 = bench_now();
        train(&c);
        t[i] = bench_now() - t0;
    }
    qsort(t, 5, sizeof t[0], bench_cmp);
    pattn_icl_test_loss(g, c.mdl, 20, 200000, 77, NULL, &c.loss, &se);
    pattn_icl_theory(&b.m, 20, &th);
    bench_print("w5_icl_train_s", t[2], "s");
    bench_print("w5_icl_train_loss", c.loss, "MSE");
    printf("# w5_icl_train: median %.3f s, min %.3f, max %.3f; test loss %.4f +- %.4f, L_JT %.5f, L_PT %.5f\n", t[2],
           t[0], t[4], c.loss, se, th.jt, th.pt);
    pattn_icl_model_free(c.mdl);
    pattn_icl_gen_free(g);
    return 0;
}
