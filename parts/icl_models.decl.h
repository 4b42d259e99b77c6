/* ==== paper 2: task mixture (contract, api.md) ============================================ */

/* Paper 2: task mixture. Matrices row-major. NULL cov_x = identity, NULL noise_var = all 0,
   NULL mu = all 0; pi and cov_beta are required. cov_x SPD, cov_beta[k] symmetric PSD. */
typedef struct pattn_icl_mix {
    int d, K;
    const double *pi;        /* K */
    const double *mu;        /* K*d */
    const double *cov_beta;  /* K*d*d */
    const double *noise_var; /* K, sigma_k^2 */
    const double *cov_x;     /* d*d */
} pattn_icl_mix;

/* ==== paper 2: multi-task ICL generator ==================================================== */

/* A prepared task mixture: the factors of S = cov_x (Cholesky) and of each Sigma_k
   (Sigma_k = F_k F_k', F_k = V diag(sqrt(max(w, 0))) from the eigen-decomposition, or the
   square root of the diagonal when Sigma_k is diagonal, so a semidefinite or zero Sigma_k is
   fine) are computed once, with float copies for sampling.
   Read-only after pattn_icl_gen_create. `mix` points at the generator's own copies, so it
   can be handed to the closed forms (pattn_icl_theory(&g->mix, ...)). */
typedef struct pattn_icl_gen {
    int d, K;
    int x_identity;          /* S = I: inputs are the raw normals */
    pattn_icl_mix mix;       /* the mixture, pointing at the copies below */
    double *pi, *mu, *cov_beta, *noise_var, *cov_x; /* copies (cov_x: identity if NULL) */
    double *chol_x;          /* d*d, lower L with L L' = S */
    double *fac_beta;        /* K*d*d, F_k with F_k F_k' = Sigma_k */
    double *cum_pi;          /* K, cumulative weights (last = 1) */
    /* float copies for sampling, rows zero-padded to a multiple of 8 (internal) */
    float *f_mu, *f_fac, *f_diag, *f_chol, *f_sigma;
    int *diag;               /* K flags: Sigma_k diagonal (F_k = diag(f_diag)) */
} pattn_icl_gen;

/* the task argument of pattn_icl_sample: draw each sample's task from pi */
#define PATTN_ICL_MIXTURE (-1)

/* Validate the mixture (EINVAL structural, ENUM numerical, as pattn_icl_mix_check) and
   factor it. *out is set only on success; free with pattn_icl_gen_free. */
PATTN_DEF pattn_status pattn_icl_gen_create(const pattn_icl_mix *m, pattn_icl_gen **out);
PATTN_DEF void pattn_icl_gen_free(pattn_icl_gen *g);

/* A batch of `batch` prompts with n context pairs each, from `seed`:
   X batch*n*d (sample i, token t, coordinate c at X[(i*n + t)*d + c]), y batch*n,
   xq batch*d (queries), yq batch (query targets); task_out (batch ints) and beta (batch*d,
   the task vectors) may be NULL. task >= 0 draws every sample from that task,
   PATTN_ICL_MIXTURE draws the task of each sample from pi. Samples come in fixed blocks of
   PATTN_ICL_BLOCK, block j from pattn_rng8_seed(seed, j): the batch is a prefix-stable,
   thread-count- and SIMD-path-independent function of (seed, task, n). A mixture block
   first draws PATTN_ICL_BLOCK task uniforms (one pattn_rng8_uniform_f32 call); then per sample
   one call of pattn_rng8_normal_f32 for z_beta (d; beta = mu_k + F_k z), the n context inputs
   (coordinate-major: coordinate c of token t is normal d + c*n + t of the call; x = L g),
   the query input (d), and only when sigma_k > 0 the n + 1 noises (n context, 1 query). */
#define PATTN_ICL_BLOCK 64
PATTN_DEF pattn_status pattn_icl_sample(const pattn_icl_gen *g, int task, int n, int batch,
                                        uint64_t seed, float *X, float *y, float *xq, float *yq,
                                        int *task_out, float *beta);

/* ==== paper 2: models ====================================================================== */

/* Model types (icl_prompts.md sec. 2). No 1/n anywhere.
   REDUCED   yhat = x' W (X'y + b_k)                                   W d*d, b K*d
   PGD       yhat = x'mu_k + x' W X'(y - X mu_k), one shared W          W d*d
   PGD_TASK  the same with one W_k per task                              W K*d*d
   FULL      yhat = (1/sqrt(D)) [x;0]' Wq' Wk (sum_j z_j z_j') Wv' h_k, D = d+1, the sum over
             the n context tokens z = [x_i; y_i] and the task's m prompt tokens [p_x; p_y]
             (cross-attention: the query is not in the sequence). Wq, Wk, Wv D*D; P K*m*D
             (token j of task k at P + (k*m + j)*D); h K*D (a fixed head is h_k = e_D).
   The means mu_k of PGD are the mixture's (known), not parameters. */
enum { PATTN_ICL_REDUCED = 0, PATTN_ICL_PGD = 1, PATTN_ICL_PGD_TASK = 2, PATTN_ICL_FULL = 3 };

typedef struct pattn_icl_model {
    int type, d, K;
    int m;           /* FULL: prompt tokens per task; 0 otherwise */
    int np;          /* number of parameters = length of theta */
    double *theta;   /* every parameter, contiguous; the pointers below point into it */
    double *W, *b;                 /* REDUCED: W, b; PGD, PGD_TASK: W (b NULL) */
    double *Wq, *Wk, *Wv, *P, *h;  /* FULL */
    double *mu;      /* K*d, the mixture's task means (used by PGD) */
} pattn_icl_model;

/* A model for the mixture m (d, K and mu taken from it). m_prompts: FULL only, number of
   prompt tokens per task (0 means 1); must be 0 for the other types. Initial values: REDUCED
   and PGD zero; FULL Wq = Wk = Wv = I, every prompt token e_D, heads e_D (see
   pattn_icl_model_init for a start that suits training). */
PATTN_DEF pattn_status pattn_icl_model_create(const pattn_icl_mix *m, int type, int m_prompts,
                                              pattn_icl_model **out);
PATTN_DEF void pattn_icl_model_free(pattn_icl_model *mdl);
/* Starting point for training at context length n from `seed`: REDUCED and PGD all zero
   (as the W5 benchmark); FULL Wq = Wk = c (I + 0.01 G), Wv = I + 0.01 G with
   c^2 = sqrt(D)/(n+1) (so that Q = Wq'Wk/sqrt(D) starts at the scale of the optimal W),
   prompt token j = e_D + 0.1 g_j, heads e_D; G, g_j standard normal. */
PATTN_DEF pattn_status pattn_icl_model_init(pattn_icl_model *mdl, int n, uint64_t seed);

/* Predictions, loss and gradient of a batch, in double: L = sum_i w_{task_i} (yhat_i - yq_i)^2
   (squared error, no 1/2; with w_k = pi_k / (samples of task k) this estimates the risk
   sum_k pi_k E_k (yhat - y)^2 of icl_prompts.md). wk: K weights, NULL = 1/batch for every
   sample. task: the task of each sample (NULL = all task 0). yhat (batch), loss, grad (np,
   laid out as theta) may each be NULL. Data as written by pattn_icl_sample. */
PATTN_DEF pattn_status pattn_icl_loss_grad(const pattn_icl_model *mdl, int n, int batch,
                                           const float *X, const float *y, const float *xq,
                                           const float *yq, const int *task, const double *wk,
                                           double *yhat, double *loss, double *grad);

/* icl_prompts.md sec. 5: set a FULL model to reproduce a reduced predictor exactly:
   Wq = sqrt(D) blk(W, 0)', Wk = Wv = I, heads e_D, prompt token 0 of task k = [b_k; 1]
   (b NULL = no prompt: token 0), other tokens 0. */
PATTN_DEF pattn_status pattn_icl_full_from_reduced(pattn_icl_model *full, const double *W,
                                                   const double *b);
/* ... and the known-mean PGD predictor with shared W (invertible): Wq = sqrt(D) blk(W, 0)',
   Wk = Wv = I, h_k = [-mu_k; 1], prompt token 0 = [W^-1 mu_k; 1 + mu_k' W^-1 mu_k], other
   tokens 0. PATTN_ENUM if W is singular. */
PATTN_DEF pattn_status pattn_icl_full_from_pgd(pattn_icl_model *full, const double *W);

/* ==== paper 2: training ==================================================================== */

/* Regimes (the same numbers as the closed forms' PATTN_ICL_PT ... PATTN_ICL_LB):
   0 PT   W only (REDUCED: W; FULL: Wq, Wk, Wv); prompts set to 0, FULL heads set to e_D
   1 FT   prompts only, everything else frozen as the model holds it (train PT first);
          FULL heads set to e_D
   2 JT   W and prompts; FULL heads set to e_D
   3 DEC  FULL: Wq, Wk, Wv, prompts and heads ("prompt + heads"); PGD: W
   4 LB   PGD_TASK: the per-task W_k
   A regime that trains prompts cannot start them all at 0 (a stationary point of the prompt
   term p p'): all-zero FULL prompt tokens of a task start at e_D (token 0) and 0.1 g (others).
   Every step draws a fresh batch of `batch` samples per task (as the authors do; for PT too,
   where the authors draw one mixture batch - same expected gradient, less variance) and
   minimises sum_k pi_k mean_k (yhat - y)^2 (no 1/2). Parameters are double; the passes over
   the data run in float (SIMD) with double sums over fixed blocks. */
enum { PATTN_ICL_ADAM = 0, PATTN_ICL_GD = 1 };

typedef struct pattn_icl_train_opts {
    int regime;           /* see above */
    int n;                /* context length (required, >= 1) */
    int batch;            /* samples per task per step; 0 = 3072 */
    long steps;           /* 0 = 1000 */
    int optimizer;        /* PATTN_ICL_ADAM (default) or PATTN_ICL_GD */
    double lr;            /* 0 = 1e-3 */
    double lr_final;      /* with cosine: the last step's learning rate */
    int cosine;           /* nonzero: lr follows a cosine from lr to lr_final */
    double beta1, beta2, eps;   /* Adam; 0 = 0.9, 0.999, 1e-8 */
    double weight_decay;  /* 0 = none. L2: wd*theta added to the gradient (torch Adam's
                             weight_decay, what the authors use); AdamW if decoupled */
    int decoupled;        /* nonzero: decoupled decay theta -= lr*wd*theta */
    int scaled;           /* nonzero: per-group learning rates at the parameters' natural
                             scale s = n + d: REDUCED/PGD W lr/s, prompts b lr*s; FULL Wq, Wk
                             lr/sqrt(s), prompt tokens lr*sqrt(s), Wv and heads lr. Adam moves
                             each coordinate by about lr per step whatever its gradient, while
                             the optimal W is O(1/(n+d)) and the optimal prompts O(n+d): these
                             are the steps of Adam on W' = sW and b' = b/s (up to eps), and
                             they converge in far fewer steps. 0 = one lr for all (the
                             authors' setting) */
    uint64_t seed;        /* the batches of step t: pattn_icl_step_seed(seed, t, k) */
    void (*progress)(void *user, long step, long steps, double loss);
    void *user;
    long progress_every;  /* 0 = every steps/100 (at least 1); the last step always */
} pattn_icl_train_opts;

typedef struct pattn_icl_trainer pattn_icl_trainer;

/* The seed of task k's batch at step `step`: the batch pattn_icl_train draws is
   pattn_icl_sample(g, k, n, batch, pattn_icl_step_seed(seed, step, k), ...). */
PATTN_DEF uint64_t pattn_icl_step_seed(uint64_t seed, long step, int task);

/* A training run as an object, for stepping (and benchmarking) one step at a time. The
   trainer updates *mdl in place; mdl and g must outlive it, and mdl must be a model of g's
   mixture (same d, K; PGD: the same task means). Applies the regime's settings (zeroed
   prompts, fixed heads) to mdl at creation. */
PATTN_DEF pattn_status pattn_icl_trainer_create(const pattn_icl_gen *g, pattn_icl_model *mdl,
                                                const pattn_icl_train_opts *o,
                                                pattn_icl_trainer **out);
/* One optimiser step; *loss (may be NULL) = the batch loss before the update. */
PATTN_DEF pattn_status pattn_icl_trainer_step(pattn_icl_trainer *t, double *loss);
/* Batch loss and full gradient (np, every parameter, frozen ones too) at the current
   parameters on the batch the next step will draw; nothing is updated. */
PATTN_DEF pattn_status pattn_icl_trainer_grad(pattn_icl_trainer *t, double *loss, double *grad);
PATTN_DEF void pattn_icl_trainer_free(pattn_icl_trainer *t);

/* The whole run: o->steps steps; if history is non-NULL each step's batch loss is appended
   to the stb_ds array *history (arrput; *history may start NULL; free with arrfree). The
   result depends only on the inputs and seed, not on threads or SIMD path. */
PATTN_DEF pattn_status pattn_icl_train(const pattn_icl_gen *g, pattn_icl_model *mdl,
                                       const pattn_icl_train_opts *o, double **history);

/* Test loss on a fresh fixed test set: `batch` (>= 2) samples per task with context length
   n, task k's being pattn_icl_sample(g, k, n, batch, pattn_icl_step_seed(seed, -1, k));
   loss = sum_k pi_k mean_k (yhat - y)^2, se its standard error, loss_k (K) the per-task
   means. Any output may be NULL. Float passes, like training. */
PATTN_DEF pattn_status pattn_icl_test_loss(const pattn_icl_gen *g, const pattn_icl_model *mdl,
                                           int n, int batch, uint64_t seed, double *loss_k,
                                           double *loss, double *se);
