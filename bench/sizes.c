#define _POSIX_C_SOURCE 200809L /* clock_gettime, posix_memalign */
/* bench-sizes: the batch kernel (W1: prompt-attention forward + backward, logistic loss,
   pattn_model_batch) and the generator (W2: pattn_cmm_sample) over a grid of sample shapes
   T x d, and the in-context regression step (W3) over n x d, on 1 and 2 threads, against
   read and write rooflines measured in the same process over the same bytes.

   Each W1 batch holds 2^24 floats of X (64 MB, beyond the caches), so the kernel's figure is
   the bytes of X it reads per second. The roofline probe sums the same buffer with 32
   independent accumulators (vectorised, one pass), on the same threads: the most this
   machine reads. roofline_fraction = W1's GB/s / the probe's. W2 writes its samples (2^22
   floats a batch); its fraction is against a streaming write of the same buffer (memset),
   and is a compute figure more than a memory one: every float is a Gaussian draw.

   w1cache is W1 again, on 1 thread, on a batch of 512 KB that stays in L2 across calls
   (shapes up to T d = 2^17 floats): the kernel's speed with memory out of the way, its
   compute ceiling on this core (a little under it where the batch is a few samples, as each
   call's fixed cost counts). Where it is not well above the read roofline, W1 cannot reach
   the roofline from memory either. Its fraction is against the read roofline too.

   W3 is one Adam step of in-context regression (fresh prompts drawn inside the step, two
   tasks) over a grid of context lengths n and dimensions d, for the reduced model (task
   prompts, JT) and the full LinearAttn (prompt + heads, DEC). In the CSV its T column is n,
   a sample is one prompt of (n + 1)(d + 1) floats (context, labels, query, target), each
   step draws about 2^21 of them, and ns_per_sample is the step time over the prompts. Its
   fraction is against the write roofline, like W2's: a step writes its prompts once and
   then reads them from cache. The full model passes over a prompt's tokens four times to
   the reduced model's once.

   Output: one `bench=` line per point, build/bench_sizes.csv
   (workload,T,d,threads,ns_per_sample,gbs,roofline_fraction) and build/bench_sizes.gp
   (GB/s against bytes per sample, with the rooflines). Each point is the median of
   BENCH_REPEATS runs; the whole grid is swept BENCH_SIZES_PASSES times (default 5, at most
   MAX_PASSES), and the CSV holds each point's median over the passes. */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include "bench.h"
#include <string.h>

#define W1_FLOATS ((size_t)1 << 24)
#define W2_FLOATS ((size_t)1 << 22)
/* w1cache: W1 on a batch of 2^17 floats (512 KB) that stays in L2 between W1C_REPS calls */
#define W1C_FLOATS ((size_t)1 << 17)
#define W1C_REPS 16
#define MAX_PASSES 15
#define MAX_POINTS 256
static const char *const WNAME[4] = {"", "w1", "w2", "w1cache"};

typedef struct {
    float *X, *y, *p, *v, *gp, *gv;
    int n, T, d, reps;
    pattn_params P;
    pattn_batch_out out;
    void *work;
    size_t work_bytes, floats;
    double sink;
    pattn_cmm m;
    pattn_icl_trainer *tr;
} ctx_t;

static void run_w1(void *q)
{
    ctx_t *c = (ctx_t *)q;
    int k;
    for (k = 0; k < c->reps; ++k)
        if (pattn_model_batch(PATTN_PA, &c->P, PATTN_LOSS_LOGISTIC, c->X, c->y, c->n, c->T, &c->out, c->work,
                              c->work_bytes) != PATTN_OK)
            abort();
}

static void run_w2(void *q)
{
    ctx_t *c = (ctx_t *)q;
    if (pattn_cmm_sample(&c->m, NULL, 7, 0, c->n, c->X, c->y, NULL) != PATTN_OK) abort();
}

static void run_w3(void *q)
{
    ctx_t *c = (ctx_t *)q;
    if (pattn_icl_trainer_step(c->tr, NULL) != PATTN_OK) abort();
}

/* W3 at (n, d): the benchmarks' two-task mixture (weights 0.3/0.7, means 1.4*1 and -0.6*1,
   covariances I and 2I) at dimension d; a step's batch per task keeps about 2^20 floats of
   prompts. Returns the median seconds per step, or -1 if the setup fails. */
static double time_w3(ctx_t *c, int type, int n, int d, int *prompts)
{
    double pi[2] = {0.3, 0.7}, *mu = (double *)calloc((size_t)(2 * d + 2 * d * d), sizeof(double)), *cov, sec = -1;
    pattn_icl_mix mix;
    pattn_icl_gen *g = NULL;
    pattn_icl_model *mdl = NULL;
    pattn_icl_train_opts o;
    int i, per = (int)(((size_t)1 << 20) / ((size_t)(n + 1) * (size_t)(d + 1)));
    if (!mu) return -1;
    cov = mu + 2 * d;
    for (i = 0; i < d; ++i) {
        mu[i] = 1.4; mu[d + i] = -0.6;
        cov[i * d + i] = 1.0; cov[d * d + i * d + i] = 2.0;
    }
    memset(&mix, 0, sizeof mix);
    mix.d = d; mix.K = 2; mix.pi = pi; mix.mu = mu; mix.cov_beta = cov;
    memset(&o, 0, sizeof o);
    o.regime = type == PATTN_ICL_FULL ? PATTN_ICL_DEC : PATTN_ICL_JT;
    o.batch = per < 8 ? 8 : per;
    o.opt.steps = 1000000; o.opt.lr = 1e-4; o.opt.seed = 3;
    o.opt.schedule = PATTN_SCHED_CONSTANT; o.scaling = PATTN_LR_UNIFORM;
    c->tr = NULL;
    if (pattn_icl_gen_create(&mix, &g) == PATTN_OK &&
        pattn_icl_model_create(&g->mix, type, type == PATTN_ICL_FULL ? 1 : 0, &mdl) == PATTN_OK &&
        pattn_icl_model_init(mdl, n, 1) == PATTN_OK && pattn_icl_trainer_create(g, mdl, n, &o, &c->tr) == PATTN_OK)
        sec = bench_time(run_w3, c).median;
    *prompts = 2 * o.batch;
    pattn_icl_trainer_free(c->tr);
    pattn_icl_model_free(mdl);
    pattn_icl_gen_free(g);
    free(mu);
    return sec;
}

/* one pass over c->floats floats with 32 independent accumulators per thread */
static void run_read(void *q)
{
    ctx_t *c = (ctx_t *)q;
    long nb = (long)(c->floats / 4096), b;
    double tot = 0;
#ifdef _OPENMP
#pragma omp parallel for reduction(+ : tot) schedule(static)
#endif
    for (b = 0; b < nb; ++b) {
        const float *x = c->X + (size_t)b * 4096;
        float acc[32];
        int i, j;
        for (j = 0; j < 32; ++j) acc[j] = 0.0f;
        for (i = 0; i < 4096; i += 32)
            for (j = 0; j < 32; ++j) acc[j] += x[i + j];
        for (j = 0; j < 32; ++j) tot += acc[j];
    }
    c->sink += tot;
}

static void run_write(void *q)
{
    ctx_t *c = (ctx_t *)q;
    long nb = (long)(c->floats / 65536), b;
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (b = 0; b < nb; ++b) memset(c->X + (size_t)b * 65536, 0, 65536 * sizeof(float));
}

/* One point of the grid: its figures from every pass, the median reported. */
typedef struct {
    const char *wl;
    int T, d, th;
    double ns[MAX_PASSES], gbs[MAX_PASSES], frac[MAX_PASSES];
} point_t;

static double median_of(const double *x, int n)
{
    double t[MAX_PASSES];
    int i;
    for (i = 0; i < n; ++i) t[i] = x[i];
    qsort(t, (size_t)n, sizeof t[0], bench_cmp);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static void record(point_t *pt, int pass, const char *wl, int T, int d, int th, double ns, double gbs, double frac)
{
    char name[96];
    pt->wl = wl; pt->T = T; pt->d = d; pt->th = th;
    pt->ns[pass] = ns; pt->gbs[pass] = gbs; pt->frac[pass] = frac;
    snprintf(name, sizeof name, "sizes_%s_T%d_d%d_%dt_pass%d", wl, T, d, th, pass + 1);
    bench_print(name, ns, "ns/sample");
}

int main(void)
{
    static const int TS[] = {8, 32, 128, 512, 2048, 4096}, DS[] = {16, 64, 256};
    static const int NS[] = {10, 50, 200, 1000}, D3[] = {5, 10, 40, 100};
    static ctx_t c;
    static point_t pts[MAX_POINTS];
    int a, b, th, top = bench_max_threads() < 2 ? bench_max_threads() : 2, pass, np = 0, passes = 5, i;
    double roof_r[3][MAX_PASSES], roof_w[3][MAX_PASSES], rr[3], rw[3];
    const char *env = getenv("BENCH_SIZES_PASSES");
    FILE *csv, *gp;
    char name[96];
    if (env && atoi(env) >= 1) passes = atoi(env) < MAX_PASSES ? atoi(env) : MAX_PASSES;
    bench_header("sizes");
    c.X = (float *)bench_alloc(sizeof(float) * W1_FLOATS);
    c.y = (float *)bench_alloc(sizeof(float) * W1_FLOATS / 128);
    c.p = (float *)bench_alloc(sizeof(float) * 4 * 256);
    c.v = c.p + 256; c.gp = c.v + 256; c.gv = c.gp + 256;
    if (!c.X || !c.y || !c.p) { fprintf(stderr, "bench-sizes: out of memory\n"); return 1; }
    {
        pattn_rng r;
        pattn_rng_seed(&r, 1);
        pattn_rng_normal_f32(&r, c.X, (int)W1_FLOATS);
        pattn_rng_normal_f32(&r, c.p, 2 * 256);
        for (a = 0; a < 256; ++a) c.p[a] *= 0.125f;
        for (a = 0; a < (int)(W1_FLOATS / 128); ++a) c.y[a] = (pattn_rng_u64(&r) >> 63) ? 1.0f : -1.0f;
    }
    /* Whole passes over the grid, each with its own roofline probe: on a shared machine the
       bandwidth on offer drifts over minutes, so each fraction is taken against the probe of
       its own pass, and every figure reported is the median over the passes. */
    for (pass = 0; pass < passes; ++pass) {
        printf("# pass %d of %d\n", pass + 1, passes);
        for (th = 1; th <= top; ++th) {
            bench_stat s;
            bench_set_threads(th);
            c.floats = W1_FLOATS;
            s = bench_time(run_read, &c);
            roof_r[th][pass] = W1_FLOATS * 4.0 / s.median * 1e-9;
            c.floats = W2_FLOATS;
            s = bench_time(run_write, &c);
            roof_w[th][pass] = W2_FLOATS * 4.0 / s.median * 1e-9;
        }
        np = 0;
        for (a = 0; a < (int)(sizeof TS / sizeof TS[0]); ++a)
            for (b = 0; b < (int)(sizeof DS / sizeof DS[0]); ++b) {
                int T = TS[a], d = DS[b], w;
                for (w = 1; w <= 3; ++w)
                    for (th = 1; th <= (w == 3 ? 1 : top); ++th) { /* w1cache: one core's ceiling */
                        bench_stat s;
                        double bytes, gbs;
                        bench_set_threads(th);
                        c.T = T; c.d = d;
                        c.n = (int)((w == 1 ? W1_FLOATS : w == 2 ? W2_FLOATS : W1C_FLOATS) / ((size_t)T * d));
                        c.reps = w == 3 ? W1C_REPS : 1;
                        if (c.n < 1) continue;
                        if (w != 2) {
                            c.P.d = d; c.P.p = c.p; c.P.v = c.v; c.P.W = NULL;
                            memset(&c.out, 0, sizeof c.out);
                            c.out.gp = c.gp; c.out.gv = c.gv;
                            c.work_bytes = pattn_model_work_size(PATTN_PA, T, d);
                            c.work = bench_alloc(c.work_bytes);
                            s = bench_time(run_w1, &c);
                            free(c.work);
                        } else {
                            memset(&c.m, 0, sizeof c.m);
                            c.m.d = d; c.m.T = T; c.m.zeta = 0.25; c.m.sigma = 1.0; c.m.q_norm = 3.0; c.m.v_norm = 2.0;
                            s = bench_time(run_w2, &c);
                        }
                        bytes = (double)c.n * c.reps * T * d * 4.0;
                        gbs = bytes / s.median * 1e-9;
                        record(&pts[np++], pass, WNAME[w], T, d, th, s.median / ((double)c.n * c.reps) * 1e9, gbs,
                               gbs / (w == 2 ? roof_w[th][pass] : roof_r[th][pass]));
                    }
            }
        {
            static const char *wl[2] = {"w3", "w3full"};
            int ty;
            for (ty = 0; ty < 2; ++ty)
                for (a = 0; a < (int)(sizeof NS / sizeof NS[0]); ++a)
                    for (b = 0; b < (int)(sizeof D3 / sizeof D3[0]); ++b)
                        for (th = 1; th <= top; ++th) {
                            int n = NS[a], d = D3[b], prompts = 0;
                            double sec, gbs;
                            bench_set_threads(th);
                            sec = time_w3(&c, ty ? PATTN_ICL_FULL : PATTN_ICL_REDUCED, n, d, &prompts);
                            if (sec <= 0) { fprintf(stderr, "bench-sizes: W3 setup failed at n=%d d=%d\n", n, d); return 1; }
                            gbs = (double)prompts * (n + 1) * (d + 1) * 4.0 / sec * 1e-9;
                            record(&pts[np++], pass, wl[ty], n, d, th, sec / prompts * 1e9, gbs, gbs / roof_w[th][pass]);
                        }
        }
    }
    for (th = 1; th <= top; ++th) {
        rr[th] = median_of(roof_r[th], passes);
        rw[th] = median_of(roof_w[th], passes);
        snprintf(name, sizeof name, "sizes_roofline_read_%dt", th);
        bench_print(name, rr[th], "GB/s");
        snprintf(name, sizeof name, "sizes_roofline_write_%dt", th);
        bench_print(name, rw[th], "GB/s");
    }
    csv = fopen("bench_sizes.csv", "w");
    if (!csv) { fprintf(stderr, "bench-sizes: cannot write build/bench_sizes.csv\n"); return 1; }
    fprintf(csv, "workload,T,d,threads,ns_per_sample,gbs,roofline_fraction\n");
    {
        double lo = 1e300;
        const point_t *lp = NULL;
        for (i = 0; i < np; ++i) {
            const point_t *q = &pts[i];
            double fr = median_of(q->frac, passes);
            snprintf(name, sizeof name, "sizes_%s_T%d_d%d_%dt", q->wl, q->T, q->d, q->th);
            bench_print(name, median_of(q->ns, passes), "ns/sample");
            fprintf(csv, "%s,%d,%d,%d,%.2f,%.3f,%.3f\n", q->wl, q->T, q->d, q->th, median_of(q->ns, passes),
                    median_of(q->gbs, passes), fr);
            if (!strcmp(q->wl, "w1") && fr < lo) { lo = fr; lp = q; }
        }
        if (lp) printf("# smallest W1 roofline fraction: %.3f at T=%d d=%d, %d thread(s) (median of %d pass%s)\n", lo, lp->T, lp->d, lp->th, passes, passes == 1 ? "" : "es");
    }
    fclose(csv);
    gp = fopen("bench_sizes.gp", "w");
    if (!gp) { fprintf(stderr, "bench-sizes: cannot write build/bench_sizes.gp\n"); return 1; }
    /* left: W1 per d and thread count, its in-L2 ceiling, the read rooflines; right: the
       compute-bound generators (W2, W3) in GB/s of samples produced */
    fprintf(gp, "# cd build && gnuplot bench_sizes.gp -> bench_sizes.svg (written by bench/sizes.c)\n"
                "set terminal svg size 1200,640 font 'sans,12' background rgb 'white'\n"
                "set output 'bench_sizes.svg'\nset datafile separator ','\n"
                "set multiplot layout 1,2 title 'Throughput against sample size (%s, median of %d pass%s)'\n"
                "set logscale x 4\nset format x '%%.0s%%cB'\nset ylabel 'GB/s'\nset grid\nset key outside below horizontal maxrows 4 font ',10'\n"
                "set yrange [0:*]\n"
                "set title 'W1: prompt-attention batch kernel, forward + backward'\n"
                "set xlabel 'bytes of X per sample (4 T d)'\n"
                "plot for [dd in '16 64 256'] for [t=1:%d] 'bench_sizes.csv' u ((strcol(1) eq 'w1' && $3 == dd + 0 && $4 == t) ? $2*$3*4 : 1/0):6 "
                "w p pt (dd eq '16' ? 7 : dd eq '64' ? 5 : 9) ps 1.2 lc t t sprintf('d = %%s, %%d thread(s)', dd, t), \\\n"
                "  for [dd in '16 64 256'] 'bench_sizes.csv' u ((strcol(1) eq 'w1cache' && $3 == dd + 0) ? $2*$3*4 : 1/0):6 "
                "w p pt (dd eq '16' ? 6 : dd eq '64' ? 4 : 8) ps 1.2 lc 3 t sprintf('d = %%s, batch in L2, 1 thread', dd), \\\n"
                "  %.2f w l dt 2 lc rgb 'black' t 'read roofline, 1 thread'%s",
            pattn_simd_path(), passes, passes == 1 ? "" : "es", top, rr[1], top >= 2 ? ", \\\n" : "\n");
    if (top >= 2) fprintf(gp, "  %.2f w l dt 3 lc rgb 'black' t 'read roofline, 2 threads'\n", rr[2]);
    fprintf(gp, "set title 'W2 generator and W3 ICL step: samples produced'\n"
                "set xlabel 'bytes per sample (W2: 4 T d; W3: 4 (n+1)(d+1))'\n"
                "lab(w) = w eq 'w2' ? 'W2 generator' : w eq 'w3' ? 'W3 step, reduced' : 'W3 step, full'\n"
                "bytes(w) = w eq 'w2' ? $2 * $3 * 4 : ($2 + 1) * ($3 + 1) * 4\n"
                "plot for [w in 'w2 w3 w3full'] for [t=1:%d] 'bench_sizes.csv' u ((strcol(1) eq w && $4 == t) ? bytes(w) : 1/0):6 "
                "w p pt (w eq 'w2' ? 5 : w eq 'w3' ? 9 : 11) ps 1.2 lc t t sprintf('%%s, %%d thread(s)', lab(w), t)\n"
                "unset multiplot\n",
            top);
    fclose(gp);
    printf("# wrote build/bench_sizes.csv and build/bench_sizes.gp\n");
    free(c.X); free(c.y); free(c.p);
    return c.sink == 12345.0;
}
