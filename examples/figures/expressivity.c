/* expressivity: the four attention models of paper 1 on the same contextual data, and where
   each baseline breaks while softmax prompt-attention does not.

   Data: T = 20 tokens in d = 16; k = zeta T relevant tokens q + y v* + z, the others
   noise z or, with probability eps, distractors a q - rho y v* + z; ORTHO noise, sigma = 1,
   |q| = 3, |v*| = 2. Models, each trained by Adam on the logistic loss from a small
   random start (SA from W = 0, i.e. uniform attention):
     PA  v'X' softmax(Xp)         LPA  v'X'(Xp)/T
     SA  mean_t v'X' softmax(XWx_t)     LIN  v' mean_t x_t
   Scenarios, and the mechanism that breaks a baseline:
   (a) plain (zeta = 0.25, no distractors): every model reads the label.
   (b) cancelling distractors, rho eps (1 - zeta) = zeta: the uniform average carries
       y (k - rho J)/T v* with J ~ Bin(T-k, eps) symmetric about k/rho, so LIN sees the same
       law for both labels: chance. Attention can look at the relevant tokens only.
   (c) context-correlated distractors, a = dist_q = 0.5, eps = 1 (every irrelevant token is
       one), rho = 0.5: LPA weighs each token by its score, linearly, and for any prompt and
       head a distractor's label term is -a rho times a relevant token's, so its signal is
       proportional to k - a rho (T-k) = 0 and both labels give the same law of f: chance.
       Softmax weighs the two groups by e^Gamma against e^(a Gamma) and can make either one
       dominate; PA typically learns Gamma < 0 here and reads the distractors, which carry
       the label too. (eps = 1 fixes J = T-k, so the cancellation is exact in every sample;
       with eps < 1 it holds on average, J a rho > k in some samples and < k in others, and
       LPA fails as well, less cleanly.)
   (d) tiny zeta (k = 1 of 20) with cancelling distractors: SA pools T queries, and a query
       that is not itself relevant has no feature that singles out the relevant key (its
       scores x_s'W z_t are driven by its own noise), so most of SA's output is near-uniform
       averages; SA degrades while PA still finds the one relevant token. LIN is at chance
       as in (b).
   PA's Bayes accuracy is the best over prompts p = Gamma q/|q|^2 of 1 - Bayes error of the
   attention feature (pattn_head_risk_theory, docs/theory.md oracles): a trained PA cannot beat it
   with such a prompt, and should come close.
   Every model gets the same protocol (restarts below), so a failure is the model's, not the
   optimiser's. Default run ~7 s on 2 cores (3 seeds, 800 training samples; SA's T x (d x d)
   gradient is most of it); --full (or PATTN_FULL=1): 10 seeds, 4000 training samples, longer
   training. */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NMODEL 4
#define TEST0 ((uint64_t)1 << 40) /* test samples' global indices, disjoint from training */
#define CK(call) do { pattn_status st_ = (call); if (st_ != PATTN_OK) { \
    fprintf(stderr, "\nexpressivity: %s failed: %s\n", #call, pattn_status_str(st_)); exit(1); } } while (0)

typedef struct scenario {
    const char *tag, *what;
    double zeta, rho, eps, a;
} scenario;

static const scenario SCEN[4] = {
    {"a", "plain, zeta = 0.25", 0.25, 0.0, 0.0, 0.0},
    {"b", "cancelling distractors", 0.20, 0.5, 0.5, 0.0},
    {"c", "context-correlated distractors", 0.20, 0.5, 1.0, 0.5},
    {"d", "tiny zeta with distractors", 0.05, 1.0 / 9.5, 0.5, 0.0},
};

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
    P.d = d; P.p = buf; P.v = buf + d; P.W = mdl == PATTN_SA ? buf + 2 * d : NULL;
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
    int full = (argc > 1 && !strcmp(argv[1], "--full")) || (getenv("PATTN_FULL") && !strcmp(getenv("PATTN_FULL"), "1"));
    int seeds = full ? 10 : 3, ntr = full ? 4000 : 800, nte = full ? 20000 : 5000;
    int iters = full ? 500 : 300, d = 16, T = 20, s, c, k, job, njobs, done = 0;
    double acc[4][NMODEL][10], gam[4][10], bayes[4], gbest[4];
    FILE *csv, *gp;

    for (c = 0; c < 4; ++c) {
        pattn_cmm m = scenario_model(c);
        bayes[c] = pa_bayes(&m, &gbest[c]);
    }
    /* The (scenario, seed, model) runs are independent: one thread each, the longest (SA)
       first. The library's own loops then run single-threaded inside each job, which for
       batches this small beats forking threads every training step. */
    njobs = 4 * seeds * NMODEL;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (job = 0; job < njobs; ++job) {
        int jk = (PATTN_SA + job / (4 * seeds)) % NMODEL, jc = job % 4, js = (job / 4) % seeds;
        pattn_cmm m = scenario_model(jc);
        uint64_t seed = 1000 * (uint64_t)jc + (uint64_t)js;
        float *X = (float *)malloc((size_t)ntr * T * d * sizeof(float)), *y = (float *)malloc((size_t)ntr * sizeof(float));
        float *Xt = (float *)malloc((size_t)nte * T * d * sizeof(float)), *yt = (float *)malloc((size_t)nte * sizeof(float));
        if (!X || !y || !Xt || !yt) { fprintf(stderr, "expressivity: out of memory\n"); exit(1); }
        /* training and test sets: one stream per seed, disjoint sample indices */
        CK(pattn_cmm_sample(&m, NULL, seed, 0, ntr, X, y, NULL));
        CK(pattn_cmm_sample(&m, NULL, seed, TEST0, nte, Xt, yt, NULL));
        acc[jc][jk][js] = fit((pattn_model)jk, &m, X, y, ntr, Xt, yt, nte, iters, seed + 77,
                              jk == PATTN_PA ? &gam[jc][js] : NULL);
        free(X); free(y); free(Xt); free(yt);
#ifdef _OPENMP
#pragma omp critical
#endif
        fprintf(stderr, "\rexpressivity: %3d/%d trainings done", ++done, njobs);
    }
    fprintf(stderr, "\r%60s\r", "");

    printf("Test accuracy (mean +- SE over %d seeds; %d training, %d test samples; d = %d, T = %d)\n",
           seeds, ntr, nte, d, T);
    printf("%-36s %-15s %-15s %-15s %-15s %-8s %s\n", "scenario", "PA", "LPA", "SA", "LIN", "PA Bayes", "PA's p.q");
    csv = fopen("out/expressivity.csv", "w");
    if (!csv) { fprintf(stderr, "expressivity: cannot write out/ (run from the repository root)\n"); return 1; }
    fprintf(csv, "scenario,PA,PA_se,LPA,LPA_se,SA,SA_se,LIN,LIN_se,PA_bayes,PA_gamma\n");
    for (c = 0; c < 4; ++c) {
        char label[64];
        double gm = 0;
        snprintf(label, sizeof label, "(%s) %s", SCEN[c].tag, SCEN[c].what);
        printf("%-36s", label);
        fprintf(csv, "\"(%s)\"", SCEN[c].tag);
        for (k = 0; k < NMODEL; ++k) {
            double mu = 0, v = 0;
            for (s = 0; s < seeds; ++s) mu += acc[c][k][s] / seeds;
            for (s = 0; s < seeds; ++s) v += (acc[c][k][s] - mu) * (acc[c][k][s] - mu) / (seeds - 1);
            printf(" %6.2f%% +-%5.2f", 100 * mu, 100 * sqrt(v / seeds));
            fprintf(csv, ",%.6f,%.6f", mu, sqrt(v / seeds));
        }
        for (s = 0; s < seeds; ++s) gm += gam[c][s] / seeds;
        printf(" %7.2f%%  %+6.2f\n", 100 * bayes[c], gm);
        fprintf(csv, ",%.6f,%.4f\n", bayes[c], gm);
    }
    fclose(csv);
    printf("PA's Bayes accuracy: best over prompts Gamma q/|q|^2 of the theory's Bayes error of the\n"
           "attention feature (best Gamma: %g, %g, %g, %g); p.q: the margin PA's prompt learned.\n",
           gbest[0], gbest[1], gbest[2], gbest[3]);

    gp = fopen("out/expressivity.gp", "w");
    if (!gp) { fprintf(stderr, "expressivity: cannot write out/expressivity.gp\n"); return 1; }
    fprintf(gp, "# cd out && gnuplot expressivity.gp  ->  expressivity.svg (written by examples/expressivity.c)\n"
                "set terminal svg size 900,420 enhanced font 'sans,12' background rgb 'white'\n"
                "set output 'expressivity.svg'\n"
                "set encoding utf8\n"
                "set datafile separator ','\n"
                "set title 'Test accuracy of the four models (mean ± SE over %d seeds)'\n"
                "set ylabel 'test accuracy (%%)'\n"
                "set yrange [40:102]\n"
                "set grid ytics\n"
                "set key outside right\n"
                "set boxwidth 0.16\n"
                "set style fill solid 0.7 border -1\n"
                "set xtics ('(a) plain' 0, '(b) cancelling' 1, '(c) context-correlated' 2, '(d) tiny ζ' 3)\n"
                "set xrange [-0.6:3.6]\n"
                "plot 'expressivity.csv' every ::1 u ($0-0.3):(100*$2):(100*$3) w boxerrorbars lc 1 t 'PA', \\\n"
                "     '' every ::1 u ($0-0.1):(100*$4):(100*$5) w boxerrorbars lc 2 t 'LPA', \\\n"
                "     '' every ::1 u ($0+0.1):(100*$6):(100*$7) w boxerrorbars lc 3 t 'SA', \\\n"
                "     '' every ::1 u ($0+0.3):(100*$8):(100*$9) w boxerrorbars lc 4 t 'LIN', \\\n"
                "     '' every ::1 u ($0-0.3):(100*$10) w points pt 7 ps 1 lc black t 'PA Bayes', \\\n"
                "     50 w l dt 2 lc rgb 'gray' t 'chance'\n", seeds);
    fclose(gp);
    printf("wrote out/expressivity.csv, out/expressivity.gp\n");
    return 0;
}
