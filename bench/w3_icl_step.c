#define _POSIX_C_SOURCE 200809L /* clock_gettime, posix_memalign */
/* W3: one Adam step of in-context regression training, fresh data generated inside the step:
   batch 3072 per task, n = 50, d = 10, two tasks. Reduced model with task prompts (JT), and
   the full LinearAttn (D = 11, one prompt token per task, task heads). Figure: ms per step. */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include "bench.h"
#include <string.h>
#include "icl_common.h"

static void step(void *q)
{
    if (pattn_icl_trainer_step((pattn_icl_trainer *)q, NULL) != PATTN_OK) abort();
}

static void one(const pattn_icl_gen *g, int type, int regime, const char *name)
{
    pattn_icl_model *mdl = NULL;
    pattn_icl_trainer *t = NULL;
    pattn_icl_train_opts o;
    int th, top = bench_max_threads() < 2 ? bench_max_threads() : 2;
    char nm[64];
    memset(&o, 0, sizeof o);
    o.regime = regime; o.batch = 3072; o.opt.steps = 1000000; o.opt.lr = 1e-3; o.opt.seed = 3;
    o.opt.schedule = PATTN_SCHED_CONSTANT; o.scaling = PATTN_LR_UNIFORM;
    if (pattn_icl_model_create(&g->mix, type, type == PATTN_ICL_FULL ? 1 : 0, &mdl) != PATTN_OK ||
        pattn_icl_model_init(mdl, 50, 1) != PATTN_OK || pattn_icl_trainer_create(g, mdl, 50, &o, &t) != PATTN_OK)
        abort();
    for (th = 1; th <= top; ++th) {
        bench_stat s;
        bench_set_threads(th);
        s = bench_time(step, t);
        snprintf(nm, sizeof nm, "%s_%dt", name, th);
        bench_print(nm, s.median * 1e3, "ms");
        if (th == top) {
            bench_print(name, s.median * 1e3, "ms");
            printf("# %s: median %.3f ms, min %.3f, max %.3f\n", name, s.median * 1e3, s.min * 1e3, s.max * 1e3);
        }
    }
    pattn_icl_trainer_free(t);
    pattn_icl_model_free(mdl);
}

int main(void)
{
    icl_bench_mix b;
    pattn_icl_gen *g = NULL;
    bench_header("w3_icl_step");
    icl_bench_mix_init(&b);
    if (pattn_icl_gen_create(&b.m, &g) != PATTN_OK) return 1;
    one(g, PATTN_ICL_REDUCED, PATTN_ICL_JT, "w3_icl_step_reduced_ms");
    one(g, PATTN_ICL_FULL, PATTN_ICL_DEC, "w3_icl_step_full_ms");
    pattn_icl_gen_free(g);
    return 0;
}
