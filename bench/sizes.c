#define _POSIX_C_SOURCE 200809L /* clock_gettime, posix_memalign */
/* bench-sizes: the batch kernel (W1: prompt-attention forward + backward, logistic loss,
   pattn_model_batch) and the generator (W2: pattn_cmm_sample) over a grid of sample shapes
   T x d, on 1 and 2 threads, against a read-bandwidth roofline measured in the same process
   over the same bytes.

   Each W1 batch holds 2^24 floats of X (64 MB, beyond the caches), so the kernel's figure is
   the bytes of X it reads per second. The roofline probe sums the same buffer with 32
   independent accumulators (vectorised, one pass), on the same threads: the most this
   machine reads. roofline_fraction = W1's GB/s / the probe's. W2 writes its samples (2^22
   floats a batch); its fraction is against a streaming write of the same buffer (memset),
   and is a compute figure more than a memory one: every float is a Gaussian draw.

   W3 is one Adam step of in-context regression (fresh prompts drawn inside the step, two
   tasks) over a grid of context lengths n and dimensions d, for the reduced model (task
   prompts, JT) and the full LinearAttn (prompt + heads, DEC). In the CSV its T column is n,
   a sample is one prompt of (n + 1)(d + 1) floats (context, labels, query, target), each
   step draws about 2^21 of them, and ns_per_sample is the step time over the prompts. Its
   fraction is against the write roofline, like W2's: a step writes its prompts once and
   then reads them from cache; the full model's work grows as n (d + 1)^2 per prompt.

   Output: one `bench=` line per point, build/bench_sizes.csv
   (workload,T,d,threads,ns_per_sample,gbs,roofline_fraction) and build/bench_sizes.gp
   (GB/s against bytes per sample, with the rooflines). Medians of BENCH_REPEATS runs. */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include "bench.h"
#include <string.h>

#define W1_FLOATS ((size_t)1 << 24)
#define W2_FLOATS ((size_t)1 << 22)

typedef struct {
    float *X, *y, *p, *v, *gp, *gv;
    int n, T, d;
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

int main(void)
{
    static const int TS[] = {8, 32, 128, 512, 2048, 4096}, DS[] = {16, 64, 256};
    static ctx_t c;
    int a, b, th, top = bench_max_threads() < 2 ? bench_max_threads() : 2;
    double roof_r[3], roof_w[3];
    FILE *csv, *gp;
    char name[96];
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
    for (th = 1; th <= top; ++th) {
        bench_stat s;
        bench_set_threads(th);
        c.floats = W1_FLOATS;
        s = bench_time(run_read, &c);
        roof_r[th] = W1_FLOATS * 4.0 / s.median * 1e-9;
        snprintf(name, sizeof name, "sizes_roofline_read_%dt", th);
        bench_print(name, roof_r[th], "GB/s");
        c.floats = W2_FLOATS;
        s = bench_time(run_write, &c);
        roof_w[th] = W2_FLOATS * 4.0 / s.median * 1e-9;
        snprintf(name, sizeof name, "sizes_roofline_write_%dt", th);
        bench_print(name, roof_w[th], "GB/s");
    }
    csv = fopen("bench_sizes.csv", "w");
    if (!csv) { fprintf(stderr, "bench-sizes: cannot write build/bench_sizes.csv\n"); return 1; }
    fprintf(csv, "workload,T,d,threads,ns_per_sample,gbs,roofline_fraction\n");
    for (a = 0; a < (int)(sizeof TS / sizeof TS[0]); ++a)
        for (b = 0; b < (int)(sizeof DS / sizeof DS[0]); ++b) {
            int T = TS[a], d = DS[b], w;
            for (w = 1; w <= 2; ++w)
                for (th = 1; th <= top; ++th) {
                    bench_stat s;
                    double bytes, gbs, frac, ns;
                    bench_set_threads(th);
                    c.T = T; c.d = d;
                    c.n = (int)((w == 1 ? W1_FLOATS : W2_FLOATS) / ((size_t)T * d));
                    if (c.n < 1) continue;
                    if (w == 1) {
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
                    bytes = (double)c.n * T * d * 4.0;
                    gbs = bytes / s.median * 1e-9;
                    ns = s.median / c.n * 1e9;
                    frac = gbs / (w == 1 ? roof_r[th] : roof_w[th]);
                    snprintf(name, sizeof name, "sizes_w%d_T%d_d%d_%dt", w, T, d, th);
                    bench_print(name, ns, "ns/sample");
                    fprintf(csv, "w%d,%d,%d,%d,%.2f,%.3f,%.3f\n", w, T, d, th, ns, gbs, frac);
                    fflush(csv);
                }
        }
    {
        static const int NS[] = {10, 50, 200, 1000}, D3[] = {5, 10, 40, 100};
        static const char *wl[2] = {"w3", "w3full"};
        int ty;
        for (ty = 0; ty < 2; ++ty)
            for (a = 0; a < (int)(sizeof NS / sizeof NS[0]); ++a)
                for (b = 0; b < (int)(sizeof D3 / sizeof D3[0]); ++b)
                    for (th = 1; th <= top; ++th) {
                        int n = NS[a], d = D3[b], prompts = 0;
                        double sec, bytes, gbs, ns;
                        bench_set_threads(th);
                        sec = time_w3(&c, ty ? PATTN_ICL_FULL : PATTN_ICL_REDUCED, n, d, &prompts);
                        if (sec <= 0) { fprintf(stderr, "bench-sizes: W3 setup failed at n=%d d=%d\n", n, d); return 1; }
                        bytes = (double)prompts * (n + 1) * (d + 1) * 4.0;
                        gbs = bytes / sec * 1e-9;
                        ns = sec / prompts * 1e9;
                        snprintf(name, sizeof name, "sizes_%s_n%d_d%d_%dt", wl[ty], n, d, th);
                        bench_print(name, ns, "ns/sample");
                        fprintf(csv, "%s,%d,%d,%d,%.2f,%.3f,%.3f\n", wl[ty], n, d, th, ns, gbs, gbs / roof_w[th]);
                        fflush(csv);
                    }
    }
    fclose(csv);
    gp = fopen("bench_sizes.gp", "w");
    if (!gp) { fprintf(stderr, "bench-sizes: cannot write build/bench_sizes.gp\n"); return 1; }
    fprintf(gp, "# cd build && gnuplot bench_sizes.gp -> bench_sizes.svg (written by bench/sizes.c)\n"
                "set terminal svg size 900,500 font 'sans,12' background rgb 'white'\n"
                "set output 'bench_sizes.svg'\nset datafile separator ','\n"
                "set title 'Throughput against sample size (%s)'\n"
                "set logscale x 4\nset format x '%%.0s%%cB'\nset xlabel 'bytes per sample (W1, W2: 4 T d; W3: 4 (n+1)(d+1))'\nset ylabel 'GB/s'\nset grid\nset key outside right\n"
                "set yrange [0:*]\n"
                "lab(w) = w eq 'w1' ? 'W1 batch kernel' : w eq 'w2' ? 'W2 generator' : w eq 'w3' ? 'W3 ICL step, reduced' : 'W3 ICL step, full'\n"
                "bytes(w) = (w eq 'w3' || w eq 'w3full') ? ($2 + 1) * ($3 + 1) * 4 : $2 * $3 * 4\n"
                "plot for [w in 'w1 w2 w3 w3full'] for [t=1:%d] 'bench_sizes.csv' u ((strcol(1) eq w && $4 == t) ? bytes(w) : 1/0):6 "
                "w p pt (w eq 'w1' ? 7 : w eq 'w2' ? 5 : w eq 'w3' ? 9 : 11) ps 1 t sprintf('%%s, %%d thread(s)', lab(w), t), \\\n"
                "  %.2f w l dt 2 lc rgb 'black' t 'read roofline, 1 thread'%s",
            pattn_simd_path(), top, roof_r[1], top >= 2 ? ", \\\n" : "\n");
    if (top >= 2) fprintf(gp, "  %.2f w l dt 3 lc rgb 'black' t 'read roofline, 2 threads'\n", roof_r[2]);
    fclose(gp);
    printf("# wrote build/bench_sizes.csv and build/bench_sizes.gp\n");
    free(c.X); free(c.y); free(c.p);
    return c.sink == 12345.0;
}
