/* ==== paper 1: contextual mixture model parameters (contract, api.md) ==================== */

/* Paper 1: contextual mixture model parameters (defaults: q = q_norm e1, v = v_norm e2). */
enum { PATTN_NOISE_ORTHO = 0, PATTN_NOISE_ISO = 1 };
typedef struct pattn_cmm {
    int d, T;
    double zeta;            /* fraction of relevant tokens, k = round(zeta*T) */
    double sigma;           /* token noise std */
    double q_norm, v_norm;  /* |q|, |v*| */
    double rho, eps;        /* distractor: -rho*y*v* with probability eps per irrelevant token */
    double dist_q;          /* distractor overlap a with the context (0 = none) */
    int noise;              /* PATTN_NOISE_ORTHO or PATTN_NOISE_ISO */
} pattn_cmm;

/* ==== paper 1: models PA, LPA, SA, LIN (spec §1) ========================================== */

typedef enum pattn_model {
    PATTN_PA = 0,  /* softmax prompt-attention  f = v'X' softmax(X W p)           trains p, v */
    PATTN_LPA = 1, /* linear prompt-attention   f = v'X'(X W p)/T                 trains p, v */
    PATTN_SA = 2,  /* self-attention, mean-pooled f = (1/T) sum_t v'X' softmax(X W x_t)  W, v */
    PATTN_LIN = 3  /* uniform attention         f = v' mean_t x_t                 trains v    */
} pattn_model;
typedef enum pattn_loss {
    PATTN_LOSS_SQUARED = 0, /* (y - f)^2 / 2 */
    PATTN_LOSS_LOGISTIC = 1 /* log(1 + e^(-y f)), computed without overflow */
} pattn_loss;
/* which parameters a gradient or a training run covers */
enum { PATTN_TRAIN_P = 1, PATTN_TRAIN_V = 2, PATTN_TRAIN_W = 4 };

/* Parameters of one model. p is used by PA and LPA only; W (d x d row-major) NULL means the
   identity. Every model has a head v and can be written f = v'h with a feature h(X). */
typedef struct pattn_params {
    int d;
    float *p; /* d */
    float *v; /* d */
    float *W; /* d*d or NULL */
} pattn_params;

PATTN_DEF const char *pattn_model_name(pattn_model m); /* "PA", "LPA", "SA", "LIN" */

/* Loss of prediction f against target y; *dldf (if non-NULL) receives dloss/df. */
PATTN_DEF double pattn_loss_value(pattn_loss l, double f, double y, double *dldf);

/* One sample X (T x d). Writes, for the non-NULL pointers: *f; h = df/dv (d); gp = df/dp (d,
   PA and LPA only); gW = df/dW (d*d; PA, LPA, SA; at W = I when P->W is NULL).
   EINVAL (nothing written): NULL P/X, d or T < 1, NULL or non-finite v (or p for PA/LPA),
   non-finite W, gp asked of SA/LIN or gW of LIN. Scratch is taken from the stack when small,
   else PATTN_MALLOC (ENOMEM). */
PATTN_DEF pattn_status pattn_model_eval(pattn_model m, const pattn_params *P, const float *X,
                                        int T, float *f, float *h, float *gp, float *gW);

/* Results of a batch pass; the caller owns every buffer, NULL means "not wanted". */
typedef struct pattn_batch_out {
    double loss; /* mean loss (NaN when y is NULL) */
    double acc;  /* fraction of samples with sign(f) = sign(y), sign(0) = 0 (NaN without y) */
    float *gp;   /* d: mean d loss / dp   (PA, LPA) */
    float *gv;   /* d: mean d loss / dv */
    float *gW;   /* d*d: mean d loss / dW (PA, LPA, SA) */
    float *f;    /* n: predictions */
    float *h;    /* n*d: features h_i with f_i = v'h_i */
} pattn_batch_out;

/* Bytes of workspace pattn_model_batch needs for this model and sample shape with up to
   omp_get_max_threads() threads (independent of n; 0 for invalid arguments). A smaller
   workspace, down to the one-thread size, runs on fewer threads. */
PATTN_DEF size_t pattn_model_work_size(pattn_model m, int T, int d);

/* Forward + backward over n samples (X: n*T*d, y: n or NULL for prediction only), fused per
   sample while it sits in L1: one sweep for the scores Xp and Xv, the softmax and f, then one
   sweep accumulating h and df/dp (prefetching the next sample); no allocation when work is
   given. OpenMP over fixed blocks of 64 samples whose partial gradients are added in block
   order, so results depend neither on the thread count nor on the SIMD path. Gradients are
   means over the batch; loss and acc are accumulated in double. work: at least the
   one-thread size of pattn_model_work_size, aligned for double (as malloc returns), or NULL
   to let the call allocate (PATTN_MALLOC). EINVAL as pattn_model_eval, plus: NULL out,
   n < 1, non-finite y, a gradient without y, unknown loss, too small a workspace; nothing is
   written then. NaN or inf inside X is not checked: it propagates to f and the gradients. */
PATTN_DEF pattn_status pattn_model_batch(pattn_model m, const pattn_params *P, pattn_loss loss,
                                         const float *X, const float *y, int n, int T,
                                         pattn_batch_out *out, void *work, size_t work_bytes);

/* ==== paper 1: contextual mixture generator (spec §2) ===================================== */

/* Optional extras of the generator; NULL (or a zero struct) = defaults q = q_norm e1,
   v* = v_norm e2, relevant positions drawn at random. User q and v* (d floats) are used as
   given (their norms replace q_norm, v_norm), must be finite, non-zero and orthogonal
   (|q.v*| <= 1e-5 |q||v*|). leading != 0 makes the first k tokens the relevant ones. */
typedef struct pattn_cmm_ext {
    const float *q;
    const float *vstar;
    int leading;
} pattn_cmm_ext;

/* n samples of the contextual mixture model: X (n*T*d), y (n, +1/-1), mask (n*T bytes,
   optional: 1 = relevant, 2 = distractor, 0 = plain irrelevant token). Sample i has global
   index first + i and its own RNG stream pattn_rng_stream(seed, first + i), so any split of
   [0, N) into calls gives the same data, and the output depends neither on the SIMD path nor
   on the thread count. Per sample, from its stream: a seed for the eight-lane generator
   (pattn_rng8) that makes the T*d noise normals, y, then per token the relevance draw
   (selection sampling: exactly k = lround(zeta*T) of T, uniformly) and, for irrelevant tokens
   when eps > 0, the distractor coin. sigma = 0 is allowed here.
   EINVAL (nothing written): NULL m/X/y, n < 1, d < 2, T < 1, zeta outside (0,1] or k = 0,
   sigma < 0, q_norm or v_norm <= 0 (when used), rho < 0, eps outside [0,1], dist_q outside
   [0,1), unknown noise mode, any NaN/inf, bad ext vectors. */
PATTN_DEF pattn_status pattn_cmm_sample(const pattn_cmm *m, const pattn_cmm_ext *ext,
                                        uint64_t seed, uint64_t first, int n, float *X,
                                        float *y, uint8_t *mask);
/* The generator's effective q and v* (d floats each, either may be NULL). */
PATTN_DEF pattn_status pattn_cmm_vectors(const pattn_cmm *m, const pattn_cmm_ext *ext, float *q,
                                         float *vstar);

/* ==== paper 1: training, ridge head, initial trajectory (spec §3) ========================== */

/* Attention features h_i = X_i' softmax(X_i W p) (W NULL = I) into H (n*d); OpenMP. */
PATTN_DEF pattn_status pattn_pa_features(const float *X, int n, int T, int d, const float *p,
                                         const float *W, float *H);
/* Mean over samples of the attention mass softmax(X_i W p) puts on tokens with mask == 1. */
PATTN_DEF pattn_status pattn_pa_relevant_mass(const float *X, const uint8_t *mask, int n, int T,
                                              int d, const float *p, const float *W,
                                              double *mass);

/* Ridge head w = argmin (1/n) sum_i (y_i - w'h_i)^2 + lambda |w|^2 (H: n*d rows h_i), in
   double: Cholesky of the d x d normal equations when n >= d, of the n x n dual when n < d;
   lambda = 0 gives the minimum-norm least-squares solution (eigen pseudo-inverse when the
   Gram matrix is singular). EINVAL: NULL pointers, n or d < 1, lambda < 0 or not finite,
   non-finite H or y. */
PATTN_DEF pattn_status pattn_ridge_fit(const float *H, const float *y, int n, int d,
                                       double lambda, double *w);

/* One history entry: loss and accuracy on the batch of iteration `iter`, before its update. */
typedef struct pattn_train_rec {
    int iter;
    double loss, acc;
} pattn_train_rec;
/* Progress callback: called after every iteration; a non-zero return stops training. */
typedef int (*pattn_progress_fn)(void *user, const pattn_train_rec *rec, int iters);

/* Options of pattn_train; a zeroed struct plus iters and lr is a full-batch GD run of PA with
   squared loss. */
typedef struct pattn_train_opts {
    pattn_model model;
    pattn_loss loss;
    int train;       /* PATTN_TRAIN_* flags; 0 = the model's own set (PA/LPA: p,v; SA: W,v
                        (v alone when W is NULL); LIN: v) */
    int iters;       /* >= 1 */
    double lr;       /* > 0, fixed step */
    int batch;       /* 0 (or >= n): full batch; else mini-batches from per-epoch shuffles */
    int adam;        /* 0: gradient descent; 1: Adam */
    double beta1, beta2, adam_eps; /* Adam constants; 0 = 0.9, 0.999, 1e-8 */
    uint64_t seed;   /* mini-batch order */
    pattn_progress_fn progress;
    void *user;
} pattn_train_opts;

/* Trains P in place on (X, y) (n samples of T x d, d = P->d). Appends one record per
   iteration to *hist (an stb_ds array; free with arrfree) when hist is non-NULL.
   EINVAL: bad options (unknown model/loss, iters < 1, lr <= 0, batch < 0, Adam constants
   outside [0,1) or eps < 0), flags naming a parameter the model lacks (p for SA/LIN, W for
   LIN, W when P->W is NULL), and everything pattn_model_batch rejects; nothing is changed
   then. ENUM if the loss, a gradient or a parameter becomes non-finite (training stops
   there; P holds the last iterate). */
PATTN_DEF pattn_status pattn_train(const pattn_train_opts *o, pattn_params *P, const float *X,
                                   const float *y, int n, int T, pattn_train_rec **hist);

/* The three-step initial trajectory of spec §3 (PA, W = I, squared loss, zero init):
   v1 = -eta_v grad_v L(0,0); p2 = -eta_p grad_p L(v1, 0); v3 = v1 - eta_v grad_v L(v1, p2)
   or (refit) the ridge head on features under p2. */
typedef struct pattn_traj_opts {
    double eta_v, eta_p; /* > 0 */
    int split;           /* non-zero: the three steps use disjoint thirds of the data */
    int refit;           /* non-zero: step 3 is a ridge refit with p2 fixed */
    double lambda;       /* ridge penalty of the refit, >= 0 */
} pattn_traj_opts;
typedef struct pattn_traj_result {
    double cos_pq; /* cos(p2, q) */
    double gamma;  /* p2'q (q = e1 when NULL): the relevant-token score margin under p2 */
    double mass_r; /* mean attention mass of p2 on the relevant tokens of the test set (NaN
                      without a mask) */
    double acc;    /* test accuracy of PA(p2, v3) */
    double loss;   /* test squared loss */
} pattn_traj_result;
/* Training data X (n*T*d), y; test data Xte, yte, mask_te (may be NULL) of nte samples; q the
   context vector (NULL = e1). v1, p2, v3 (d floats each) are optional outputs. EINVAL: NULL
   data or res, n < 1 (< 3 with split), nte < 1, T or d < 1, eta <= 0, lambda < 0, NaN. */
PATTN_DEF pattn_status pattn_traj3(const pattn_traj_opts *o, const float *X, const float *y,
                                   int n, int T, int d, const float *q, const float *Xte,
                                   const float *yte, const uint8_t *mask_te, int nte,
                                   float *v1, float *p2, float *v3, pattn_traj_result *res);
