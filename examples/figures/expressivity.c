/* expressivity: the attention models of paper 1 on the same contextual data, learning curves
   for each, and which gaps stay however much data a baseline gets.

   Data: T = 20 tokens in d = 16; k = zeta T relevant tokens q + y v* + z, the others
   noise z or, with probability eps, distractors a q - rho y v* + z; ORTHO noise, sigma = 1,
   |q| = 3, |v*| = 2. Models, each trained by Adam on the logistic loss from a small
   random start (the self-attentions from W = 0, i.e. uniform attention):
     PA  v'X' softmax(Xp)                 LPA       v'X'(Xp)/T
     SA-mean  mean_t v'X' softmax(XWx_t)  SA-query  v'X' softmax(XWx_1)   LIN  v' mean_t x_t
   Scenarios, and the mechanism that breaks a baseline (docs/expressivity.md has the bounds):
   (a) plain (zeta = 0.25, no distractors): every model reads the label.
   (b) cancelling distractors, rho eps (1 - zeta) = zeta: the uniform average carries
       y (k - rho J)/T v* with J ~ Bin(T-k, eps) symmetric about k/rho, so the mean token has
       the same law for both labels: LIN is at chance for any head and any amount of data.
   (c) context-correlated distractors, a = dist_q = 0.5, eps = 1, rho = 0.5: LPA weighs each
       token by its score, linearly, and a distractor's label term is -a rho times a relevant
       token's for any prompt and head; k = a rho (T - k) makes f's law the same for both
       labels: LPA is at chance. Softmax weighs the two groups by e^Gamma against e^(a Gamma).
   (d) tiny zeta (k = 1 of 20) with cancelling distractors: LIN at chance as in (b).
   (e) noise queries: zeta = 0.1 and eps = 0.2 (cancelling), so the first token is a plain
       noise token in 72% of samples. Such a query scores the relevant keys by
       (q + y v*)'W z_1, whose sign is random: SA-query puts its weight on the relevant
       tokens in only part of those samples, whatever W is, and plateaus far below PA.
       SA-mean averages all T queries and keeps the ones that find the relevant tokens: it
       closes the gap with data.
   Learning curves: n_train = 100 .. 4000 (--full: .. 30000), the same protocol for every
   model (restarts below), nested training sets, one large test set per seed.
   PA's Bayes limit is the best over prompts p = Gamma q/|q|^2 of 1 - Bayes error of the
   attention feature (pattn_head_risk_theory).
   Output: out/expressivity_curves.csv (scenario,model,n_train,test_acc,test_acc_se), one row
   per point; out/expressivity.csv (the largest n, a row per scenario); out/expressivity.gp
   (a panel per scenario). Default run ~1 min on 2 cores (3 seeds); --full (or PATTN_FULL=1):
   4 seeds up to 30000 samples, about 20 minutes. */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NMODEL 5
#define TEST0 ((uint64_t)1 << 40) /* test samples' global indices, disjoint from training */
#define CK(call) do { pattn_status st_ = (call); if (st_ != PATTN_OK) { \
    fprintf(stderr, "\nexpressivity: %s failed: %s\n", #call, pattn_status_str(st_)); exit(1); } } while (0)

typedef struct scenario {
    const char *tag, *what;
    double zeta, rho, eps, a;
} scenario;

#define NSCEN 5
static const scenario SCEN[NSCEN] = {
    {"a", "plain, zeta = 0.25", 0.25, 0.0, 0.0, 0.0},
    {"b", "cancelling distractors", 0.20, 0.5, 0.5, 0.0},
    {"c", "context-correlated distractors", 0.20, 0.5, 1.0, 0.5},
    {"d", "tiny zeta with distractors", 0.05, 1.0 / 9.5, 0.5, 0.0},
    {"e", "noise queries, cancelling", 0.10, 0.1 / (0.2 * 0.9), 0.2, 0.0},
};
/* models in the order of the tables: the library's ids and the names the CSV uses */
static const pattn_model MODELS[NMODEL] = {PATTN_PA, PATTN_LPA, PATTN_SA, PATTN_SA_QUERY, PATTN_LIN};
static const char *MNAME[NMODEL] = {"PA", "LPA", "SA-mean", "SA-query", "LIN"};

/* Train one model: RESTARTS random small starts, each trained for PILOT iterations; the one
   with the lowest training loss is trained on to `iters`. (From a small start the prompt's
   first moves have no preferred sign when the distractors cancel the mean, and PA can settle
   in a basin that attends away from the context; every model gets the same protocol.)
   Returns the test accuracy, and PA's learned margin p.q. */
#define RESTARTS 3
#define PILOT 40
static double fit(pattn_model mdl, const pattn_cmm *m, const float *X, const float *y, int n,
                  const float *Xt, const float *yt, int nt, int iters, uint64_t seed, double *gamma)
{
    int d = m->d, np = d * (d + 2), i, r;
    float *buf = (float *)calloc(2 * (size_t)np, sizeof(float)), *best = buf + np;
    double best_loss = INFINITY;
    pattn_params P;
    pattn_train_opts o;
    pattn_batch_out bo;
    pattn_history hist;
    if (!buf) { fprintf(stderr, "expressivity: out of memory\n"); exit(1); }
    P.d = d; P.p = buf; P.v = buf + d; P.W = mdl == PATTN_SA || mdl == PATTN_SA_QUERY ? buf + 2 * d : NULL;
    memset(&o, 0, sizeof o);
    o.model = mdl;
    o.loss = PATTN_LOSS_LOGISTIC;
    o.opt.optimizer = PATTN_OPT_ADAM;
    o.opt.lr = 0.1;
    o.opt.schedule = PATTN_SCHED_CONSTANT;
    for (r = 0; r < RESTARTS; ++r) {
        pattn_rng rng;
        pattn_rng_seed(&rng, seed + 1000003 * (uint64_t)r);
        memset(buf, 0, (size_t)np * sizeof(float)); /* W = 0: SA starts uniform */
        for (i = 0; i < d; ++i) {
            P.p[i] = (float)(0.01 * pattn_rng_normal_f64(&rng));
            P.v[i] = (float)(0.01 * pattn_rng_normal_f64(&rng));
        }
        o.opt.steps = PILOT;
        memset(&hist, 0, sizeof hist);
        CK(pattn_train(&o, &P, X, y, n, m->T, &hist));
        if (hist.rec[PILOT - 1].loss < best_loss) {
            best_loss = hist.rec[PILOT - 1].loss;
            memcpy(best, buf, (size_t)np * sizeof(float));
        }
        pattn_history_free(&hist);
    }
    memcpy(buf, best, (size_t)np * sizeof(float));
    o.opt.steps = iters - PILOT;
    CK(pattn_train(&o, &P, X, y, n, m->T, NULL));
    memset(&bo, 0, sizeof bo);
    CK(pattn_model_batch(mdl, &P, PATTN_LOSS_LOGISTIC, Xt, yt, nt, m->T, &bo, NULL, 0));
    if (gamma) *gamma = (double)P.p[0] * m->q_norm; /* q = |q| e1 */
    free(buf);
    return bo.acc;
}

/* the best Bayes accuracy of the PA feature over prompts along q (theory, docs/theory.md) */
static double pa_bayes(const pattn_cmm *m, double *gbest)
{
    double best = 1.0, G;
    *gbest = NAN;
    for (G = -20.0; G <= 20.0; G += 0.25) {
        pattn_head_risk hr = {0};
        if (pattn_head_risk_theory(m, G, 1.0, 1.0, &hr) == PATTN_OK && hr.bayes < best) {
            best = hr.bayes;
            *gbest = G;
        }
    }
    return 1.0 - best;
}

static pattn_cmm scenario_model(int c)
{
    pattn_cmm m;
    memset(&m, 0, sizeof m);
    m.d = 16; m.T = 20; m.sigma = 1.0; m.q_norm = 3.0; m.v_norm = 2.0; m.noise = PATTN_NOISE_ORTHO;
    m.zeta = SCEN[c].zeta; m.rho = SCEN[c].rho; m.eps = SCEN[c].eps; m.dist_q = SCEN[c].a;
    return m;
}

int main(int argc, char **argv)
{
    static const int NS_DEMO[] = {100, 300, 1000, 4000}, NS_FULL[] = {100, 300, 1000, 3000, 10000, 30000};
    int full = (argc > 1 && !strcmp(argv[1], "--full")) || (getenv("PATTN_FULL") && !strcmp(getenv("PATTN_FULL"), "1"));
    const int *NS = full ? NS_FULL : NS_DEMO;
    int nn = full ? 6 : 4, seeds = full ? 4 : 3, nte = full ? 20000 : 5000;
    int iters = 300, d = 16, T = 20, s, c, k, b, job, njobs, done = 0;
    static double acc[NSCEN][NMODEL][6][10], gam[NSCEN][10];
    double bayes[NSCEN], gbest[NSCEN], mean[NMODEL][6], se[NMODEL][6];
    FILE *csv, *gp;
    const char *only = getenv("EXPR_ONLY"); /* a scenario tag, to study one */

    for (c = 0; c < NSCEN; ++c) {
        pattn_cmm m = scenario_model(c);
        bayes[c] = pa_bayes(&m, &gbest[c]);
    }
    /* The (scenario, model, n, seed) runs are independent: one thread each, the longest
       (SA-mean, largest n) first. The library's own loops then run single-threaded inside
       each job, which for batches this small beats forking threads every training step. */
    njobs = NSCEN * NMODEL * nn * seeds;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (job = 0; job < njobs; ++job) {
        int jb = nn - 1 - job / (NSCEN * NMODEL * seeds), rest = job % (NSCEN * NMODEL * seeds);
        int jk = (2 + rest / (NSCEN * seeds)) % NMODEL, jc = rest % NSCEN, js = (rest / NSCEN) % seeds;
        pattn_cmm m = scenario_model(jc);
        uint64_t seed = 1000 * (uint64_t)jc + (uint64_t)js;
        int n = NS[jb];
        float *X, *y, *Xt, *yt;
        if (only && strcmp(only, SCEN[jc].tag)) continue;
        X = (float *)malloc((size_t)n * T * d * sizeof(float)); y = (float *)malloc((size_t)n * sizeof(float));
        Xt = (float *)malloc((size_t)nte * T * d * sizeof(float)); yt = (float *)malloc((size_t)nte * sizeof(float));
        if (!X || !y || !Xt || !yt) { fprintf(stderr, "expressivity: out of memory\n"); exit(1); }
        /* nested training sets (the first n samples of the seed's stream), one test set */
        CK(pattn_cmm_sample(&m, NULL, seed, 0, n, X, y, NULL));
        CK(pattn_cmm_sample(&m, NULL, seed, TEST0, nte, Xt, yt, NULL));
        acc[jc][jk][jb][js] = fit(MODELS[jk], &m, X, y, n, Xt, yt, nte, iters, seed + 77,
                                  jk == 0 && jb == nn - 1 ? &gam[jc][js] : NULL);
        free(X); free(y); free(Xt); free(yt);
#ifdef _OPENMP
#pragma omp critical
#endif
        fprintf(stderr, "\rexpressivity: %4d/%d trainings done", ++done, njobs);
    }
    fprintf(stderr, "\r%60s\r", "");

    csv = fopen("out/expressivity_curves.csv", "w");
    if (!csv) { fprintf(stderr, "expressivity: cannot write out/ (run from the repository root)\n"); return 1; }
    fprintf(csv, "scenario,model,n_train,test_acc,test_acc_se\n");
    printf("Learning curves: test accuracy (%%, mean +- SE over %d seeds; %d test samples; d = %d, T = %d)\n", seeds, nte, d, T);
    for (c = 0; c < NSCEN; ++c) {
        if (only && strcmp(only, SCEN[c].tag)) continue;
        printf("\n(%s) %s: zeta %.2f, rho %.3f, eps %.2f, a %.1f; PA's Bayes limit %.2f%%\n%8s", SCEN[c].tag, SCEN[c].what,
               SCEN[c].zeta, SCEN[c].rho, SCEN[c].eps, SCEN[c].a, 100 * bayes[c], "n_train");
        for (k = 0; k < NMODEL; ++k) printf("  %-15s", MNAME[k]);
        printf("\n");
        for (k = 0; k < NMODEL; ++k)
            for (b = 0; b < nn; ++b) {
                double mu = 0, v = 0;
                for (s = 0; s < seeds; ++s) mu += acc[c][k][b][s] / seeds;
                for (s = 0; s < seeds; ++s) v += (acc[c][k][b][s] - mu) * (acc[c][k][b][s] - mu) / (seeds - 1);
                mean[k][b] = mu;
                se[k][b] = sqrt(v / seeds);
                /* one model's curve on consecutive rows, so that a plot draws it as a line */
                fprintf(csv, "\"(%s)\",%s,%d,%.6f,%.6f\n", SCEN[c].tag, MNAME[k], NS[b], mu, se[k][b]);
            }
        for (b = 0; b < nn; ++b) {
            printf("%8d", NS[b]);
            for (k = 0; k < NMODEL; ++k) printf("  %6.2f +- %5.2f", 100 * mean[k][b], 100 * se[k][b]);
            printf("\n");
        }
    }
    fclose(csv);

    /* the largest n, one row per scenario (as before the curves existed) */
    csv = fopen("out/expressivity.csv", "w");
    if (!csv) { fprintf(stderr, "expressivity: cannot write out/expressivity.csv\n"); return 1; }
    fprintf(csv, "scenario,n_train");
    for (k = 0; k < NMODEL; ++k) fprintf(csv, ",%s,%s_se", MNAME[k], MNAME[k]);
    fprintf(csv, ",PA_bayes,PA_gamma\n");
    for (c = 0; c < NSCEN; ++c) {
        double gm = 0;
        if (only && strcmp(only, SCEN[c].tag)) continue;
        fprintf(csv, "\"(%s)\",%d", SCEN[c].tag, NS[nn - 1]);
        for (k = 0; k < NMODEL; ++k) {
            double mu = 0, v = 0;
            for (s = 0; s < seeds; ++s) mu += acc[c][k][nn - 1][s] / seeds;
            for (s = 0; s < seeds; ++s) v += (acc[c][k][nn - 1][s] - mu) * (acc[c][k][nn - 1][s] - mu) / (seeds - 1);
            fprintf(csv, ",%.6f,%.6f", mu, sqrt(v / seeds));
        }
        for (s = 0; s < seeds; ++s) gm += gam[c][s] / seeds;
        fprintf(csv, ",%.6f,%.4f\n", bayes[c], gm);
    }
    fclose(csv);
    printf("PA's Bayes limit: the best over prompts Gamma q/|q|^2 of the theory's Bayes accuracy of the\n"
           "attention feature (best Gamma: %g, %g, %g, %g, %g).\n", gbest[0], gbest[1], gbest[2], gbest[3], gbest[4]);

    gp = fopen("out/expressivity.gp", "w");
    if (!gp) { fprintf(stderr, "expressivity: cannot write out/expressivity.gp\n"); return 1; }
    fprintf(gp, "# cd out && gnuplot expressivity.gp  ->  expressivity.svg (written by examples/figures/expressivity.c)\n"
                "set terminal svg size 1500,420 font 'sans,11' background rgb 'white'\n"
                "set output 'expressivity.svg'\n"
                "set datafile separator ','\n"
                "set multiplot layout 1,%d title 'Learning curves: test accuracy against training samples (mean and SE over %d seeds)'\n"
                "set logscale x\nset grid\nset yrange [40:102]\nset xlabel 'training samples'\nset key bottom right font ',9'\n",
            NSCEN, seeds);
    for (c = 0; c < NSCEN; ++c) {
        fprintf(gp, "set title '(%s) %s'\n%s", SCEN[c].tag, SCEN[c].what, c == 0 ? "set ylabel 'test accuracy (%)'\n" : "unset ylabel\n");
        fprintf(gp, "plot ");
        for (k = 0; k < NMODEL; ++k)
            fprintf(gp, "'expressivity_curves.csv' u ((strcol(1) eq '\"(%s)\"' || strcol(1) eq '(%s)') && strcol(2) eq '%s' ? $3 : 1/0):(100*$4):(100*$5) "
                        "w yerrorlines pt %d lw 2 t '%s', ", SCEN[c].tag, SCEN[c].tag, MNAME[k], 5 + 2 * k, MNAME[k]);
        fprintf(gp, "%.4f w l dt 2 lc rgb 'black' t 'PA Bayes', 50 w l dt 3 lc rgb 'gray' t 'chance'\n", 100 * bayes[c]);
    }
    fprintf(gp, "unset multiplot\n");
    fclose(gp);
    printf("wrote out/expressivity_curves.csv, out/expressivity.csv, out/expressivity.gp\n");
    return 0;
}
