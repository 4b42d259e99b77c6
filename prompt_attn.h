/* prompt_attn.h - v1.0.0 - prompt-attention and task-specific ICL prompts, in one C header.

   Two lines of ML theory made runnable, testable and fast:

     [P1] Oymak, Rawat, Soltanolkotabi, Thrampoulidis, "On the Role of Attention in
          Prompt-tuning", ICML 2023 (arXiv 2306.03435): one-layer softmax prompt-attention
          f(X) = v' X' softmax(X W p) on a contextual mixture model.
     [P2] Chang, Li, Kara, Oymak, Roy-Chowdhury, "Provable Benefits of Task-Specific Prompts
          for In-context Learning", AISTATS 2025 (arXiv 2503.02102): one-layer linear
          attention doing in-context regression on a mixture of tasks.

   The long form of everything below is in docs/ next to this file: docs/reference.md (every
   function and its contract), docs/models.md (models and data generators), docs/theory.md
   (the formulas, where they come from, what is exact and what is reconstructed).

   QUICK START
     Save as prog.c next to prompt_attn.h and stb_ds.h, then  cc -O2 prog.c -lm

        #define PATTN_IMPLEMENTATION
        #define PATTN_STB_DS_IMPLEMENTATION   // or link Debian's -lstb instead
        #include "prompt_attn.h"
        #include <stdio.h>

        int main(void)
        {
            static float X[500 * 16 * 32], y[500];
            float p[32] = {0}, v[32] = {0};
            pattn_cmm m = {0};                  // zero fields are defaults ({} in C++)
            pattn_params P = {0};
            pattn_history h = {0};
            m.d = 32; m.T = 16; m.zeta = 0.25; m.sigma = 1.0; m.q_norm = 3.0;
            if (pattn_cmm_sample(&m, NULL, 42, 0, 500, X, y, NULL) != PATTN_OK) {
                fprintf(stderr, "%s\n", pattn_last_error());
                return 1;
            }
            P.d = 32; P.p = p; P.v = v;
            if (pattn_train(NULL, &P, X, y, 500, 16, &h) != PATTN_OK) {   // NULL: defaults
                fprintf(stderr, "%s\n", pattn_last_error());
                return 1;
            }
            printf("loss %.4f -> %.4f, accuracy %.3f, p'q = %.2f\n", h.rec[0].loss,
                   h.rec[h.len - 1].loss, h.rec[h.len - 1].acc, 3.0 * p[0]);
            pattn_history_free(&h);
            return 0;
        }

   USAGE
     In exactly one C or C++ file:
        #define PATTN_IMPLEMENTATION
        #include "prompt_attn.h"
     and include it plainly everywhere else. The public part includes only <stddef.h> and
     <stdint.h>. The implementation needs stb_ds.h (Debian: libstb-dev) for the training
     histories and uses only its stbds_ names; two ways to build:
        cc -O2 prog.c -I/usr/include/stb -lstb -lm          (Debian's libstb)
        cc -O2 prog.c -lm     with PATTN_STB_DS_IMPLEMENTATION defined next to
                              PATTN_IMPLEMENTATION and stb_ds.h on the include path
     Add -fopenmp for threads. No SIMD flags are needed: on x86-64 gcc and clang builds pick
     AVX2 at run time (see SIMD AND DETERMINISM).

   CONFIGURATION (define before the include)
     PATTN_IMPLEMENTATION        emit the implementation in this translation unit
     PATTN_STB_DS_IMPLEMENTATION also compile stb_ds's implementation here (no -lstb)
     PATTN_STATIC                make every function static (a private copy per TU)
     PATTN_DEF                   linkage of public functions (default extern)
     PATTN_NO_SIMD               force the scalar path even where AVX2+FMA is available
     PATTN_NO_AVX512             leave out the run-time dispatched AVX-512 kernels
     PATTN_SELF_INCLUDE          this file's quoted name, if you renamed it ("prompt_attn.h")
     PATTN_SOFT_FMA              the scalar path's fma in software instead of the C library's
                                 fmaf (the default on mingw-w64, whose fmaf rounds twice)
     PATTN_MALLOC(sz) / PATTN_REALLOC(p,sz) / PATTN_FREE(p)
                                 allocator (default libc; all three or none). REALLOC
                                 serves stb_ds when PATTN_STB_DS_IMPLEMENTATION is set.

   ERRORS
     Functions that can fail return a pattn_status: PATTN_OK, PATTN_EINVAL (an argument is
     invalid), PATTN_ENOMEM, PATTN_ENUM (a matrix failed a numerical requirement, or an
     iteration did not converge) or PATTN_EDIVERGED (a training run's loss or parameters
     turned non-finite; it stops there). Functions that return a value (a float kernel, a
     probability) return NaN on invalid input. On any failure nothing is written to the
     outputs, and pattn_last_error() tells which function, which argument and which rule:
        pattn_icl_theory: m->pi sums to 1.1; it must sum to 1 (within 1e-9)
     pattn_status_str() gives one fixed sentence per status.

   LIMITS
     Each function's comment states where it is exact or accurate; docs/limits.md collects
     them. Sizes whose byte counts would overflow size_t are refused; the float generators
     take magnitudes up to 1e30 (PATTN_CMM_MAX_SCALE, PATTN_ICL_MAX_SCALE), the paper-2
     closed forms entries up to 1e50 (PATTN_ICL_MAX_MAGNITUDE). Long rows keep their
     accuracy at any length (sums folded into double totals).

   THREAD SAFETY
     No global mutable state: RNG states, options, models and scratch live in structs the
     caller owns, so independent calls may run on any threads at once. Objects (a generator,
     a trainer, a model) are not locked: share one between threads only for reading
     (pattn_icl_gen and a model under pattn_icl_test_loss are read-only). The failure message
     is thread-local (C11 _Thread_local, C++11 thread_local, __thread or __declspec(thread)):
     each thread reads its own. On a compiler with none of these it is one shared buffer.
     Batch loops use OpenMP when compiled with -fopenmp; results do not depend on the number
     of threads.

   SIMD AND DETERMINISM
     Every kernel is written once against an 8-lane vector abstraction with three forms:
     AVX2+FMA (x86-64), NEON (aarch64: two 128-bit registers) and a scalar twin that performs
     the same IEEE operations in the same order (one rounding where the vector code fuses).
     Which path runs, given how the including file is built:
        -mavx2 -mfma (or -march=native)        AVX2 (the AVX2 code only)
        x86-64, gcc or clang, no SIMD flags    run-time dispatch: the SIMD part is compiled
                                               twice (AVX2 under a target attribute, and
                                               scalar) and cpuid picks one on every call
        aarch64                                NEON
        PATTN_NO_SIMD, or any other compiler   scalar (MSVC, tcc: what their flags allow)
     pattn_simd_path() names the path that runs: "avx2", "avx2+avx512", "neon" or "scalar".
     Inside the AVX2 path, gcc and clang also compile AVX-512 versions of the hottest loops
     (the normal sampler, the generator's noise rows, the prompt-attention batch kernel,
     pairs of softmax rows), called only when the CPU reports AVX-512 F/VL/DQ/BW; their 16
     lanes do the 8-lane code's operations in the same order.
     Every path gives the same bits, whatever the caller's -std, -O or -ffp-contract: the
     implementation turns contraction off for itself (#pragma STDC FP_CONTRACT OFF in clang,
     #pragma GCC optimize("fp-contract=off") in gcc) and fuses only where it says so. Batch
     loops are split into fixed blocks of samples, each with its own RNG stream and partial
     sum, combined in block order: results do not depend on the thread count either. The
     limits: -ffast-math (or -funsafe-math-optimizations, -ffinite-math-only) voids this;
     double-precision theory that calls the C library's exp, log or erf may differ in the last
     bits between C libraries (glibc and mingw-w64's, say). The dispatching build includes
     this header from itself by name: if you renamed the file, define PATTN_SELF_INCLUDE as
     its quoted name.
     Accuracy: the polynomial exp is within 1.008 ulp on [-87, 88]; softmax results are
     within 4e-6 relative of double.

   API MAP (sections in the order data flows; docs/reference.md has every contract)
     status      pattn_status_str, pattn_last_error, pattn_clear_error, pattn_simd_path,
                 pattn_avx512_active, pattn_version
     RNG         pattn_rng_seed, pattn_rng_u64, pattn_rng_jump, pattn_rng_stream,
                 pattn_rng_uniform_f32, pattn_rng_uniform_f64, pattn_rng_below,
                 pattn_rng_normal_f64, pattn_rng_normal_f32, pattn_rng8_seed,
                 pattn_rng8_normal_f32, pattn_rng8_uniform_f32
     SIMD        pattn_dot_f32, pattn_axpy_f32, pattn_scale_f32, pattn_expf, pattn_exp_f32,
                 pattn_softmax_f32, pattn_softmax_rows_f32, pattn_matvec_f32,
                 pattn_matvec_t_f32, pattn_pa_forward_backward_f32
     lin. alg.   pattn_chol, pattn_chol_solve, pattn_sym_eig
     [P1] models pattn_model_name, pattn_loss_value, pattn_model_eval, pattn_model_work_size,
                 pattn_model_batch
     [P1] data   pattn_cmm_sample, pattn_cmm_vectors
     training    pattn_history_free (the pattn_optim / pattn_history convention of both)
     [P1] train  pattn_train, pattn_traj3, pattn_pa_features, pattn_pa_relevant_mass,
                 pattn_ridge_fit
     [P2] models pattn_icl_model_create, pattn_icl_model_free, pattn_icl_model_init,
                 pattn_icl_loss_grad, pattn_icl_full_from_reduced, pattn_icl_full_from_pgd
     [P2] data   pattn_icl_gen_create, pattn_icl_gen_free, pattn_icl_sample
     [P2] train  pattn_icl_step_seed, pattn_icl_trainer_create, pattn_icl_trainer_step,
                 pattn_icl_trainer_grad, pattn_icl_trainer_free, pattn_icl_train,
                 pattn_icl_test_loss
     [P1] theory pattn_norm_cdf, pattn_norm_pdf, pattn_binom_log_pmf,
                 pattn_cmm_attention_weights, pattn_feature_law_eval, pattn_feature_law_atoms,
                 pattn_ridge_resolvent, pattn_ridge_limits_eval, pattn_ridge_nodist_risk,
                 pattn_ridgeless_nodist_risk, pattn_ridge_err_lambda_inf,
                 pattn_ridgeless_kappa_star, pattn_bayes_error, pattn_ls_pop_error,
                 pattn_best_linear_error, pattn_attention_law_size, pattn_attention_law,
                 pattn_ridge_fixed_point, pattn_head_risk_theory
     [P2] theory pattn_icl_mix_check, pattn_icl_theory, pattn_icl_theory_iso,
                 pattn_icl_optimum, pattn_icl_risk, pattn_icl_risk_pgd

   WHAT IS EXACT, WHAT IS RECONSTRUCTED
     [P2]'s closed forms are exact population risks (checked against the authors' notebook
     and by simulation). [P1]'s full text was not available: its model is fixed by the
     abstract and by the follow-up of Tarzanagh et al. (NeurIPS 2023); its three-step
     training scheme (pattn_traj3's default) follows a quotation of its section 4, but its
     loss and debiasing step are not known (options and a hook stand in); the contextual data
     model and the baselines are a reconstruction with knobs that cover reasonable readings
     (pattn_cmm's q is the context vector; the paper's prompt q and head w are p and v
     here); the ridge-head risk theory is this library's own derivation, exact in
     the proportional limit and confirmed by token-level simulation. docs/theory.md says
     which is which, formula by formula.

   VERSION HISTORY
     2.0.0  (unreleased) pattn_traj3 runs paper 1's three-step algorithm as written: three
            subsets of n samples (X holds 3n), a fresh step 3; the anchored and refitted
            step 3 and no splitting as options; PATTN_LOSS_CORRELATION; a debiasing hook.
            PATTN_SA_QUERY, self-attention read at the first token, beside the mean-pooled SA.
            Hardening: overflow-checked sizes, long-sequence accuracy, extreme magnitudes in
            the theory, fuzzing.
     1.0.0  the drop-in release: stb_ds confined to the implementation (stbds_ names only,
            PATTN_STB_DS_IMPLEMENTATION); one training convention for both papers
            (pattn_optim, pattn_train_rec, pattn_history, typed enums, NULL or zeroed options
            are defaults that reach the closed forms); pattn_last_error names the function,
            argument and rule of every failure; PATTN_EDIVERGED; docs/. Run-time dispatch
            to AVX2 without SIMD flags; NEON on aarch64; the same bits whatever the caller's
            contraction mode; a correctly rounded scalar fma on mingw-w64 too; mingw-w64,
            tcc and aarch64 tested; binomial weights in O(1).
     0.2.0  run-time AVX-512 kernels (bit-identical), fused noise rows in the generator,
            normals drawn 16 ICL samples per call, two-sample prefetch in the PA batch kernel
     0.1.0  first release: foundation (status, RNG, SIMD core, prompt-attention kernel,
            dense linear algebra); paper 1 models, generator, training and risk theory;
            paper 2 generator, models, training regimes and closed forms.

   LICENSE: MIT, see the end of this file.
*/
#ifndef PATTN_H_INCLUDE
#define PATTN_H_INCLUDE

#define PATTN_VERSION_MAJOR 2
#define PATTN_VERSION_MINOR 0
#define PATTN_VERSION_PATCH 0
#define PATTN_VERSION_STRING "2.0.0"

#include <stddef.h>
#include <stdint.h>

#ifndef PATTN_DEF
#ifdef PATTN_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define PATTN_DEF static __attribute__((unused))
#else
#define PATTN_DEF static
#endif
#else
#define PATTN_DEF extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ==== config & status ================================================================== */

typedef enum pattn_status {
    PATTN_OK = 0,
    PATTN_EINVAL = -1,   /* an argument is invalid or out of range */
    PATTN_ENOMEM = -2,   /* allocation failed */
    PATTN_ENUM = -3,     /* numerical failure: not SPD, no convergence */
    PATTN_EDIVERGED = -4 /* training stopped: its loss or parameters turned non-finite */
} pattn_status;

/* A fixed sentence for each status, the same whichever function returned it; never NULL
   ("unknown status" for a value that is none of the above). */
PATTN_DEF const char *pattn_status_str(pattn_status s);

/* Why the most recent failing call on this thread failed: "function: argument ...; rule",
   e.g. "pattn_icl_theory: m->pi sums to 1.1; it must sum to 1 (within 1e-9)". Never NULL;
   "" before any failure. A successful call leaves it as it was (as errno does). Each thread
   has its own (see THREAD SAFETY). */
PATTN_DEF const char *pattn_last_error(void);

/* Empties this thread's failure message, so that a later check can tell a new failure. */
PATTN_DEF void pattn_clear_error(void);

/* The SIMD path the kernels run on this CPU: "avx2", "avx2+avx512" (AVX2 with the AVX-512
   kernels), "neon" or "scalar". Every path gives the same bits. */
PATTN_DEF const char *pattn_simd_path(void);

/* 1 when this build also runs its AVX-512 kernels on this CPU (the same bits), else 0. */
PATTN_DEF int pattn_avx512_active(void);

/* The library version, "MAJOR.MINOR.PATCH" (PATTN_VERSION_STRING). */
PATTN_DEF const char *pattn_version(void);

/* ==== RNG: xoshiro256** seeded by splitmix64 =========================================== */

/* A xoshiro256** generator; the caller owns it (no global state). */
typedef struct pattn_rng { uint64_t s[4]; } pattn_rng;

/* s[0..3] = four successive splitmix64 outputs started at state = seed. No-op if r is NULL. */
PATTN_DEF void pattn_rng_seed(pattn_rng *r, uint64_t seed);

/* The next 64-bit output (xoshiro256**). 0 if r is NULL. */
PATTN_DEF uint64_t pattn_rng_u64(pattn_rng *r);

/* Advance by 2^128 draws: successive jumps give non-overlapping streams. No-op on NULL. */
PATTN_DEF void pattn_rng_jump(pattn_rng *r);

/* Stream number `stream` of `seed`, in O(1): a splitmix64 seed hashed from (seed, stream).
   Generators give one stream to each fixed block of samples, so output does not depend on
   how blocks are spread over threads. No-op if r is NULL. */
PATTN_DEF void pattn_rng_stream(pattn_rng *r, uint64_t seed, uint64_t stream);

/* A uniform in [0, 1) with 24 random bits (f32) or 53 (f64). 0 if r is NULL. */
PATTN_DEF float pattn_rng_uniform_f32(pattn_rng *r);
PATTN_DEF double pattn_rng_uniform_f64(pattn_rng *r);

/* An unbiased integer in [0, n) (rejection sampling); 0 if n = 0 or r is NULL. */
PATTN_DEF uint64_t pattn_rng_below(pattn_rng *r, uint64_t n);

/* One standard normal in double (Box-Muller). 0 if r is NULL. */
PATTN_DEF double pattn_rng_normal_f64(pattn_rng *r);

/* n standard normals (float). Consumes 8 u64 per block of 16 normals, the last block whole
   even if n is not a multiple of 16, so the output for a given seed is a prefix-stable
   function of n rounded up to 16. No-op for NULL r or out, or n <= 0. */
PATTN_DEF void pattn_rng_normal_f32(pattn_rng *r, float *out, int n);

/* Eight interleaved xoshiro128** generators, one per SIMD lane: the bulk sampler behind the
   generators (no scalar bottleneck). Lane j of stream `stream` is seeded from splitmix64 of
   a hash of (seed, stream); every SIMD path gives the same numbers. */
typedef struct pattn_rng8 { uint32_t s[4][8]; } pattn_rng8;

/* Seeds the eight lanes for stream `stream` of `seed`. No-op if r is NULL. */
PATTN_DEF void pattn_rng8_seed(pattn_rng8 *r, uint64_t seed, uint64_t stream);

/* n standard normals, 16 per step (the last step whole, as in pattn_rng_normal_f32).
   No-op for NULL r or out, or n <= 0. */
PATTN_DEF void pattn_rng8_normal_f32(pattn_rng8 *r, float *out, int n);

/* n uniforms in [0, 1) with 24 random bits, 8 per step. No-op for NULL r or out, or n <= 0. */
PATTN_DEF void pattn_rng8_uniform_f32(pattn_rng8 *r, float *out, int n);

/* ==== SIMD primitives (float, AVX2+FMA with a bit-identical scalar twin) ================== */
/* The void kernels do nothing when a pointer is NULL or a size is < 1 (a NULL pointer or a
   negative size is recorded as a failure for pattn_last_error; a size of 0 is simply empty).
   Sums run in a fixed order: 8 lanes, then a fixed horizontal reduction. */

/* x'y over n floats. NaN for a NULL pointer or n < 0; 0 for n = 0. */
PATTN_DEF float pattn_dot_f32(const float *x, const float *y, int n);

/* y += a x over n floats (fused multiply-add per element). */
PATTN_DEF void pattn_axpy_f32(int n, float a, const float *x, float *y);

/* x *= a over n floats. */
PATTN_DEF void pattn_scale_f32(int n, float a, float *x);

/* The kernels' exp of one value: within 1.008 ulp of exp on [-87, 88], subnormal results
   down to -103.9, 0 below, NaN for NaN. Inputs above 88.376 are clamped there (the kernels
   only take exp of scores minus their maximum): the result is then 2.41e38, not exp(x). */
PATTN_DEF float pattn_expf(float x);

/* y[i] = pattn_expf(x[i]) over n floats; y may alias x. */
PATTN_DEF void pattn_exp_f32(const float *x, float *y, int n);

/* Numerically stable softmax over n floats; y may alias x. Relative error below 1e-5 of a
   double reference for every input with a finite maximum; outputs in [0, 1], summing to 1
   within 1e-6. A non-finite maximum (NaN, +inf, or all -inf) gives NaN everywhere. */
PATTN_DEF void pattn_softmax_f32(const float *x, float *y, int n);

/* Row-wise softmax of a rows x n row-major matrix (OpenMP over rows); y may alias x. */
PATTN_DEF void pattn_softmax_rows_f32(const float *x, float *y, int rows, int n);

/* s = X p for a T x d row-major sample (s: T floats). */
PATTN_DEF void pattn_matvec_f32(const float *X, int T, int d, const float *p, float *s);

/* h = X' a for a T x d row-major sample (a: T floats, h: d floats). */
PATTN_DEF void pattn_matvec_t_f32(const float *X, int T, int d, const float *a, float *h);

/* Prompt-attention on one sample (W = I): returns f = v'X' softmax(Xp); writes
   h = X' softmax(Xp) and grad_p = df/dp = X'(a o (u - f)), u = Xv, when those pointers are
   non-NULL. One streaming (online-softmax) pass: running sums of e^(s-max) x, e^(s-max) u x
   and e^(s-max) u, rescaled when the maximum moves. The scalar sums are kept in double, the
   vector sums in float blocks of 256 tokens added into double totals, so the accuracy does
   not decay with T: f, h and grad_p are within 1e-4 relative of a double reference at any
   T (tested at T = 2^22). A score x'p beyond +-FLT_MAX is held there (the overflowing tokens
   share the weight). Scratch: 3d doubles, on the stack up to d = 256, else allocated.
   Returns NaN and writes nothing on invalid input (NULL X/p/v, T or d < 1, T*d too large,
   NaN or inf in p or v, h == grad_p) or when that scratch cannot be allocated. */
PATTN_DEF float pattn_pa_forward_backward_f32(const float *X, int T, int d, const float *p,
                                              const float *v, float *h, float *grad_p);

/* ==== dense linear algebra (double, row-major) ========================================== */

/* In-place Cholesky A = L L' of an n x n symmetric positive definite matrix; on success the
   lower triangle holds L and the strict upper triangle is zeroed. PATTN_ENUM if A is not
   symmetric (beyond 1e-12 relative) or not positive definite (A untouched then). */
PATTN_DEF pattn_status pattn_chol(double *A, int n);

/* Solve (L L') X = B in place, L from pattn_chol; B is n x nrhs row-major. EINVAL (B
   untouched) for NULL pointers, n or nrhs < 1, a diagonal of L that is not finite and > 0,
   or NaN/inf in L or B. */
PATTN_DEF pattn_status pattn_chol_solve(const double *L, int n, double *B, int nrhs);

/* Symmetric eigen-decomposition A = V diag(w) V' by cyclic Jacobi on A scaled by a power of
   two (so it converges at any magnitude; accurate to a few ulp of |A|). w ascending (n);
   V (n*n, may be NULL) row-major with eigenvectors as columns. EINVAL for NULL A or w,
   n < 1, NaN/inf in A; ENUM if A is not symmetric (beyond 1e-12 relative) or the iteration
   does not converge in 100 sweeps. */
PATTN_DEF pattn_status pattn_sym_eig(const double *A, int n, double *w, double *V);

/* ==== paper 1: contextual mixture model parameters ==================== */

/* The token noise of the contextual mixture model. */
typedef enum pattn_noise {
    PATTN_NOISE_ORTHO = 0, /* z ~ N(0, sigma^2 (I - qq'/|q|^2)): scores along q are exact */
    PATTN_NOISE_ISO = 1    /* z ~ N(0, sigma^2 I) */
} pattn_noise;

/* Paper 1's contextual mixture model. Per sample: y = +-1; k = lround(zeta T) relevant tokens
   q + y v* + z; the others z, or with probability eps a distractor dist_q q - rho y v* + z.
   d, T, zeta and sigma are required; every other zero is a default: |q| = |v*| = 1, no
   distractors, ORTHO noise, q = q_norm e1, v* = v_norm e2 (pattn_cmm_ext gives other
   vectors). docs/models.md has the whole story. */
typedef struct pattn_cmm {
    int d, T;               /* dimension (>= 2 for the generator), tokens per sample */
    double zeta;            /* fraction of relevant tokens in (0, 1], k = lround(zeta*T) >= 1 */
    double sigma;           /* token noise std (>= 0; > 0 for the theory) */
    double q_norm, v_norm;  /* |q|, |v*|; 0 = 1 */
    double rho, eps;        /* distractor: -rho*y*v* with probability eps per irrelevant token */
    double dist_q;          /* distractor overlap a with the context (0 = none) */
    pattn_noise noise;      /* PATTN_NOISE_ORTHO (0, default) or PATTN_NOISE_ISO */
} pattn_cmm;
/* The generator's magnitudes (sigma, q_norm, v_norm (1 + rho)) are at most this, so every
   float token stays finite; the theory takes v_norm (1 + rho) / sigma and q_norm / sigma up
   to 1e150. Beyond: PATTN_EINVAL with a message. */
#define PATTN_CMM_MAX_SCALE 1e30

/* ==== paper 1: models PA, LPA, SA, LIN, SA-query ================================ */

/* The models of paper 1 (f is the model's output for a sample X of T tokens). */
typedef enum pattn_model {
    PATTN_PA = 0,  /* softmax prompt-attention  f = v'X' softmax(X W p)           trains p, v */
    PATTN_LPA = 1, /* linear prompt-attention   f = v'X'(X W p)/T                 trains p, v */
    PATTN_SA = 2,  /* self-attention, mean-pooled f = (1/T) sum_t v'X' softmax(X W x_t)  W, v */
    PATTN_LIN = 3, /* uniform attention         f = v' mean_t x_t                 trains v    */
    PATTN_SA_QUERY = 4, /* self-attention read at the first token, as a CLS token is read:
                           f = v'X' softmax(X W x_1)                          trains W, v */
    PATTN_SA_MEAN = PATTN_SA /* the other reading of self-attention: PATTN_SA */
} pattn_model;

/* Per-sample training losses. */
typedef enum pattn_loss {
    PATTN_LOSS_SQUARED = 0,    /* (y - f)^2 / 2 */
    PATTN_LOSS_LOGISTIC = 1,   /* log(1 + e^(-y f)), computed without overflow */
    PATTN_LOSS_CORRELATION = 2 /* -y f: its gradient -y df does not depend on f, so a step
                                  taken with it is linear in the data; unbounded below, so
                                  it suits single gradient steps (pattn_traj3), not
                                  training to convergence */
} pattn_loss;

/* Which parameters a gradient or a training run covers (OR them into an int). */
typedef enum pattn_train_flags { PATTN_TRAIN_P = 1, PATTN_TRAIN_V = 2, PATTN_TRAIN_W = 4 } pattn_train_flags;

/* Parameters of one model. p is used by PA and LPA only; W (d x d row-major) NULL means the
   identity. Every model has a head v and can be written f = v'h with a feature h(X). */
typedef struct pattn_params {
    int d;
    float *p; /* d */
    float *v; /* d */
    float *W; /* d*d or NULL */
} pattn_params;

/* "PA", "LPA", "SA" (the mean-pooled reading), "LIN", "SA-query", or "?" for another value. */
PATTN_DEF const char *pattn_model_name(pattn_model m);

/* Loss of prediction f against target y; *dldf (if non-NULL) receives dloss/df. NaN (and
   NaN in *dldf) for an unknown loss. */
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

/* Forward + backward over n samples (X: n*T*d, y: n or NULL for prediction only), in a form
   that T*d alone picks. A sample of up to 32768 floats takes two sweeps while it sits in
   cache: the scores Xp and Xv, the softmax and f, then h and df/dp (prefetching the samples
   ahead); PA samples of up to 512 floats go eight at a time through the first sweep. A
   larger sample takes one pass over memory, in chunks folded by an online softmax. No
   allocation when work is given. OpenMP over fixed blocks of samples (64; fewer above 16384
   floats a sample, so that a few large samples still spread over the threads) whose partial
   gradients are added in block order, so results depend neither on the thread count nor on
   the SIMD path. Gradients are
   means over the batch; loss and acc are accumulated in double. work: at least the
   one-thread size of pattn_model_work_size, aligned for double (as malloc returns), or NULL
   to let the call allocate (PATTN_MALLOC). EINVAL as pattn_model_eval, plus: NULL out,
   n < 1, non-finite y, a gradient without y, unknown loss, too small a workspace; nothing is
   written then. NaN or inf inside X is not checked: it propagates to f and the gradients. */
PATTN_DEF pattn_status pattn_model_batch(pattn_model m, const pattn_params *P, pattn_loss loss,
                                         const float *X, const float *y, int n, int T,
                                         pattn_batch_out *out, void *work, size_t work_bytes);

/* ==== paper 1: contextual mixture generator ===================================== */

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
   sigma < 0, negative q_norm or v_norm, rho < 0, eps outside [0,1], dist_q outside [0,1),
   unknown noise mode, T*d above INT_MAX, any NaN/inf, bad ext vectors. */
PATTN_DEF pattn_status pattn_cmm_sample(const pattn_cmm *m, const pattn_cmm_ext *ext,
                                        uint64_t seed, uint64_t first, int n, float *X,
                                        float *y, uint8_t *mask);
/* The generator's effective q and v* (d floats each, either may be NULL), for the same m
   and ext; EINVAL as pattn_cmm_sample. */
PATTN_DEF pattn_status pattn_cmm_vectors(const pattn_cmm *m, const pattn_cmm_ext *ext, float *q,
                                         float *vstar);

/* ==== training: one convention for both papers ============================================ */

/* Both trainers (pattn_train for paper 1, pattn_icl_train for paper 2) take their optimiser
   settings in a pattn_optim, report progress through one callback shape and fill one history
   shape. Every field's zero means the trainer's documented default. */
typedef enum pattn_optimizer {
    PATTN_OPT_DEFAULT = 0, /* Adam */
    PATTN_OPT_ADAM = 1,    /* Adam with bias correction (Kingma & Ba), state in double */
    PATTN_OPT_GD = 2       /* plain gradient descent, theta -= lr * g */
} pattn_optimizer;
typedef enum pattn_schedule {
    PATTN_SCHED_DEFAULT = 0, /* the trainer's own: see pattn_train, pattn_icl_train */
    PATTN_SCHED_CONSTANT = 1,
    PATTN_SCHED_COSINE = 2   /* lr at step 0 down to lr_final at the last step, half a cosine */
} pattn_schedule;

/* One step: the loss (and accuracy, paper 1 only; NaN for paper 2) of the batch the step
   used, measured before its update, and the learning rate it applied. */
typedef struct pattn_train_rec {
    long step;
    double loss, acc, lr;
} pattn_train_rec;
/* Called after each reported step (see progress_every); a non-zero return stops training
   with PATTN_OK. steps is the run's total. */
typedef int (*pattn_progress_fn)(void *user, const pattn_train_rec *rec, long steps);

/* A run's history, one record per step taken, in a growing array the library owns. Start
   from a zeroed struct; a second run appends. Free with pattn_history_free. diverged_at is
   the step whose loss or update turned non-finite (the run returned PATTN_EDIVERGED), or -1. */
typedef struct pattn_history {
    pattn_train_rec *rec;
    long len;
    long diverged_at;
} pattn_history;
/* Frees the records and sets rec = NULL, len = 0 (diverged_at is kept). No-op on NULL. */
PATTN_DEF void pattn_history_free(pattn_history *h);

typedef struct pattn_optim {
    long steps;                /* 0 = the trainer's default */
    double lr;                 /* 0 = the trainer's default */
    double lr_final;           /* cosine schedule's last rate; 0 = lr / 1000 */
    pattn_optimizer optimizer;
    pattn_schedule schedule;
    double beta1, beta2, eps;  /* Adam; 0 = 0.9, 0.999, 1e-8 */
    double weight_decay;       /* 0 = none; L2 (wd * theta added to the gradient) */
    int decoupled;             /* non-zero: decoupled decay theta -= lr * wd * theta (AdamW) */
    uint64_t seed;             /* paper 1: mini-batch order; paper 2: the batches drawn */
    pattn_progress_fn progress;
    void *user;
    long progress_every;       /* 0 = every steps/100 (at least 1); the last step always */
} pattn_optim;

/* ==== paper 1: training, ridge head, initial trajectory ========================== */

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

/* Options of pattn_train. All zero (or o == NULL): PA with squared loss, p and v trained,
   full batch, Adam at lr 0.05 for 300 steps with a cosine decay to lr/1000. The first member
   is the optimiser block, so `= {0}` works in C and in C++. */
typedef struct pattn_train_opts {
    pattn_optim opt;
    pattn_model model;
    pattn_loss loss;
    int train;       /* PATTN_TRAIN_* flags; 0 = the model's own set (PA/LPA: p,v; SA: W,v
                        (v alone when W is NULL); LIN: v) */
    int batch;       /* 0 (or >= n): full batch; else mini-batches from per-epoch shuffles */
} pattn_train_opts;

/* Trains P in place on (X, y) (n samples of T x d, d = P->d). Appends one record per step to
   *hist when hist is non-NULL. PATTN_EINVAL (nothing changed): bad options, flags naming a
   parameter the model lacks (p for SA/LIN, W for LIN, W when P->W is NULL), or anything
   pattn_model_batch rejects. PATTN_EDIVERGED if the loss, a gradient or a parameter turns
   non-finite: training stops there, P holds the last finite iterate's update (not usable),
   hist->diverged_at and pattn_last_error() name the step. */
PATTN_DEF pattn_status pattn_train(const pattn_train_opts *o, pattn_params *P, const float *X,
                                   const float *y, int n, int T, pattn_history *hist);

/* The three-step initial trajectory, as paper 1 writes it (its q is our prompt p, its w our
   head v; eta -> eta_v, gamma -> eta_p). PA with W = I, from p = v = 0, on three disjoint
   sets S1, S2, S3 of n samples each (X holds 3n samples: S1 first, then S2, then S3):
     1. v1 = -eta_v grad_v L_S1(p = 0, v = 0)   (at v = 0 the prompt gradient is 0)
     2. p2 = -eta_p grad_p L_S2(p = 0, v = v1)
     3. v3 = -eta_v grad_v L_S3(p = p2, v = v1) (a fresh step: no v1 term)
   then an optional debiasing hook. The test set scores PA(p2, v3). Options select the
   reconstructed variants: the loss (the paper's loss is not known), an anchored or refitted
   step 3, no splitting. The paper's own debiasing step was not recovered: `debias` is the
   slot for one, and step3 = PATTN_STEP3_REFIT is the library's stand-in (docs/models.md). */
typedef enum pattn_traj_step3 {
    PATTN_STEP3_FRESH = 0,    /* v3 = -eta_v grad_v L_S3(p2, v1), as the paper writes it */
    PATTN_STEP3_ANCHORED = 1, /* v3 = v1 - eta_v grad_v L_S3(p2, v1): one more GD step */
    PATTN_STEP3_REFIT = 2     /* v3 = the ridge head (lambda) on S3's features under p2 */
} pattn_traj_step3;
/* Debiasing hook: called last with S3 (n samples), the prompt p2 and the head v (d floats),
   which it may change in place. A status other than PATTN_OK stops pattn_traj3 with it. */
typedef pattn_status (*pattn_traj_debias_fn)(void *user, const float *X, const float *y,
                                             int n, int T, int d, const float *p2, float *v);
typedef struct pattn_traj_opts {
    double eta_v, eta_p;          /* step sizes, > 0; 0 = 1 */
    double lambda;                /* ridge penalty of PATTN_STEP3_REFIT, >= 0 */
    pattn_loss loss;              /* 0 = squared; also logistic, correlation (-y f) */
    pattn_traj_step3 step3;       /* 0 = fresh */
    int no_split;                 /* non-zero: all three steps use the same n samples */
    pattn_traj_debias_fn debias;  /* NULL: no debiasing */
    void *debias_user;
} pattn_traj_opts;
typedef struct pattn_traj_result {
    double cos_pq; /* cos(p2, q) */
    double gamma;  /* p2'q (q = e1 when NULL): the relevant-token score margin under p2 */
    double mass_r; /* mean attention mass of p2 on the relevant tokens of the test set (NaN
                      without a mask) */
    double acc;    /* test accuracy of PA(p2, v3) */
    double loss;   /* mean test loss, in o->loss */
} pattn_traj_result;
/* X, y: the training samples, 3n of them (n with no_split), each T x d; Xte, yte, mask_te
   (may be NULL): nte test samples; q: the context vector (NULL = e1), used only to report
   cos(p2, q) and gamma. v1, p2, v3 (d floats each) are optional outputs; v3 is the head after
   the debiasing hook. EINVAL: NULL data or res, n, nte, T or d < 1, 3n samples that do not
   fit in memory sizes, eta < 0, lambda < 0, an unknown loss or step3, a non-finite y, yte or
   q, or a step whose result overflows float (the message names that step and its eta). */
PATTN_DEF pattn_status pattn_traj3(const pattn_traj_opts *o, const float *X, const float *y,
                                   int n, int T, int d, const float *q, const float *Xte,
                                   const float *yte, const uint8_t *mask_te, int nte,
                                   float *v1, float *p2, float *v3, pattn_traj_result *res);
/* ==== paper 2: task mixture ============================================ */

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
/* Every entry of mu, cov_beta, cov_x and noise_var is at most this in magnitude: the closed
   forms multiply several covariances and n, and would overflow double beyond it. */
#define PATTN_ICL_MAX_MAGNITUDE 1e50

/* ==== paper 2: models ====================================================================== */

/* Model types. No 1/n anywhere.
   REDUCED   yhat = x' W (X'y + b_k)                                   W d*d, b K*d
   PGD       yhat = x'mu_k + x' W X'(y - X mu_k), one shared W          W d*d
   PGD_TASK  the same with one W_k per task                              W K*d*d
   FULL      yhat = (1/sqrt(D)) [x;0]' Wq' Wk (sum_j z_j z_j') Wv' h_k, D = d+1, the sum over
             the n context tokens z = [x_i; y_i] and the task's m prompt tokens [p_x; p_y]
             (cross-attention: the query is not in the sequence). Wq, Wk, Wv D*D; P K*m*D
             (token j of task k at P + (k*m + j)*D); h K*D (a fixed head is h_k = e_D).
   The means mu_k of PGD are the mixture's (known), not parameters. */
typedef enum pattn_icl_type {
    PATTN_ICL_REDUCED = 0,
    PATTN_ICL_PGD = 1,
    PATTN_ICL_PGD_TASK = 2,
    PATTN_ICL_FULL = 3
} pattn_icl_type;

typedef struct pattn_icl_model {
    pattn_icl_type type;
    int d, K;
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
PATTN_DEF pattn_status pattn_icl_model_create(const pattn_icl_mix *m, pattn_icl_type type, int m_prompts,
                                              pattn_icl_model **out);
/* Frees a model from pattn_icl_model_create; no-op on NULL. */
PATTN_DEF void pattn_icl_model_free(pattn_icl_model *mdl);
/* Starting point for training at context length n from `seed`: REDUCED and PGD all zero
   (as the W5 benchmark); FULL Wq = Wk = c (I + 0.01 G), Wv = I + 0.01 G with
   c^2 = sqrt(D)/(n+1) (so that Q = Wq'Wk/sqrt(D) starts at the scale of the optimal W),
   prompt token j = e_D + 0.1 g_j, heads e_D; G, g_j standard normal. */
PATTN_DEF pattn_status pattn_icl_model_init(pattn_icl_model *mdl, int n, uint64_t seed);

/* Predictions, loss and gradient of a batch, in double: L = sum_i w_{task_i} (yhat_i - yq_i)^2
   (squared error, no 1/2; with w_k = pi_k / (samples of task k) this estimates the risk
   sum_k pi_k E_k (yhat - y)^2). wk: K weights, NULL = 1/batch for every
   sample. task: the task of each sample (NULL = all task 0). yhat (batch), loss, grad (np,
   laid out as theta) may each be NULL. Data as written by pattn_icl_sample. */
PATTN_DEF pattn_status pattn_icl_loss_grad(const pattn_icl_model *mdl, int n, int batch,
                                           const float *X, const float *y, const float *xq,
                                           const float *yq, const int *task, const double *wk,
                                           double *yhat, double *loss, double *grad);

/* docs/theory.md: set a FULL model to reproduce a reduced predictor exactly:
   Wq = sqrt(D) blk(W, 0)', Wk = Wv = I, heads e_D, prompt token 0 of task k = [b_k; 1]
   (b NULL = no prompt: token 0), other tokens 0. */
PATTN_DEF pattn_status pattn_icl_full_from_reduced(pattn_icl_model *full, const double *W,
                                                   const double *b);
/* ... and the known-mean PGD predictor with shared W (invertible): Wq = sqrt(D) blk(W, 0)',
   Wk = Wv = I, h_k = [-mu_k; 1], prompt token 0 = [W^-1 mu_k; 1 + mu_k' W^-1 mu_k], other
   tokens 0. PATTN_ENUM if W is singular. */
PATTN_DEF pattn_status pattn_icl_full_from_pgd(pattn_icl_model *full, const double *W);

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

/* The generator samples in float: the inputs' scale sqrt(max diag cov_x), the task vectors'
   max|mu| + sqrt(max diag cov_beta), the noise's sqrt(max noise_var), and d times the
   product of the first two must be at most this (PATTN_EINVAL from pattn_icl_gen_create
   otherwise). The closed forms, in double, have no such limit. */
#define PATTN_ICL_MAX_SCALE 1e30
/* the task argument of pattn_icl_sample: draw each sample's task from pi */
#define PATTN_ICL_MIXTURE (-1)

/* Validate the mixture (EINVAL structural, ENUM numerical, as pattn_icl_mix_check) and
   factor it. *out is set only on success; free with pattn_icl_gen_free. */
PATTN_DEF pattn_status pattn_icl_gen_create(const pattn_icl_mix *m, pattn_icl_gen **out);
/* Frees a generator from pattn_icl_gen_create; no-op on NULL. */
PATTN_DEF void pattn_icl_gen_free(pattn_icl_gen *g);

/* Samples of pattn_icl_sample come in fixed blocks of this many, one RNG stream each. */
#define PATTN_ICL_BLOCK 64

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
   the query input (d), and only when sigma_k > 0 the n + 1 noises (n context, 1 query).
   EINVAL (nothing written): NULL g or output buffers, n or batch < 1, task outside [0, K)
   other than PATTN_ICL_MIXTURE, n too large for int-sized buffers. */
PATTN_DEF pattn_status pattn_icl_sample(const pattn_icl_gen *g, int task, int n, int batch,
                                        uint64_t seed, float *X, float *y, float *xq, float *yq,
                                        int *task_out, float *beta);

/* ==== paper 2: training ==================================================================== */

/* What a training run of paper 2 trains (the closed forms use the same values: the optimum
   and the minimal risk of each regime):
   PATTN_ICL_PT   W only (REDUCED: W; FULL: Wq, Wk, Wv); prompts set to 0, FULL heads to e_D
   PATTN_ICL_FT   prompts only, everything else frozen as the model holds it (train PT
                  first); FULL heads set to e_D
   PATTN_ICL_JT   W and prompts; FULL heads set to e_D
   PATTN_ICL_DEC  FULL: Wq, Wk, Wv, prompts and heads ("prompt + heads"); PGD: W
   PATTN_ICL_LB   PGD_TASK: the per-task W_k
   A regime that trains prompts cannot start them all at 0 (a stationary point of the prompt
   term p p'): all-zero FULL prompt tokens of a task start at e_D (token 0) and 0.1 g (others).
   Every step draws a fresh batch of `batch` samples per task and minimises
   sum_k pi_k mean_k (yhat - y)^2 (no 1/2). Parameters are double; the passes over the data
   run in float (SIMD) with double sums over fixed blocks. */
typedef enum pattn_icl_regime {
    PATTN_ICL_PT = 0,
    PATTN_ICL_FT = 1,
    PATTN_ICL_JT = 2,
    PATTN_ICL_DEC = 3,
    PATTN_ICL_LB = 4
} pattn_icl_regime;

/* Learning rates per parameter group. Adam moves each coordinate by about lr per step
   whatever its gradient, while the optimal W is O(1/(n+d)) and the optimal prompts O(n+d);
   SCALED gives each group the rate of its natural scale s = n + d (REDUCED/PGD: W lr/s,
   prompts lr*s; FULL: Wq, Wk lr/sqrt(s), prompt tokens lr*sqrt(s), Wv and heads lr), which
   is Adam on W' = sW and b' = b/s and converges in far fewer steps. UNIFORM is one rate for
   all (the authors' setting). */
typedef enum pattn_lr_scaling {
    PATTN_LR_DEFAULT = 0, /* SCALED */
    PATTN_LR_SCALED = 1,
    PATTN_LR_UNIFORM = 2
} pattn_lr_scaling;

/* Options of pattn_icl_train. All zero (or o == NULL): plain training (PT), Adam at lr 0.1
   (REDUCED, PGD, PGD_TASK) or 0.03 (FULL) with SCALED group rates and a cosine decay to
   lr/1000, 1000 steps of 256 fresh samples per task: on the README's recipe this lands within
   1% of the PT, FT and JT closed forms. The first member is the optimiser block, so `= {0}`
   works in C and in C++. */
typedef struct pattn_icl_train_opts {
    pattn_optim opt;
    pattn_icl_regime regime;
    int batch;                /* samples per task per step; 0 = 256 */
    pattn_lr_scaling scaling;
} pattn_icl_train_opts;

typedef struct pattn_icl_trainer pattn_icl_trainer;

/* The seed of task k's batch at step `step`: the batch pattn_icl_train draws is
   pattn_icl_sample(g, k, n, batch, pattn_icl_step_seed(o->opt.seed, step, k), ...). */
PATTN_DEF uint64_t pattn_icl_step_seed(uint64_t seed, long step, int task);

/* A training run as an object, for stepping (and benchmarking) one step at a time, at context
   length n (>= 1). The trainer updates *mdl in place; mdl and g must outlive it, and mdl must
   be a model of g's mixture (same d, K; PGD: the same task means). Applies the regime's
   settings (zeroed prompts, fixed heads) to mdl at creation. o may be NULL (defaults). */
PATTN_DEF pattn_status pattn_icl_trainer_create(const pattn_icl_gen *g, pattn_icl_model *mdl,
                                                int n, const pattn_icl_train_opts *o,
                                                pattn_icl_trainer **out);
/* One optimiser step; *loss (may be NULL) = the batch loss before the update.
   PATTN_EDIVERGED if that loss or the updated parameters are not finite: the step is undone
   (mdl keeps the last finite iterate) and every later step fails the same way. */
PATTN_DEF pattn_status pattn_icl_trainer_step(pattn_icl_trainer *t, double *loss);
/* Batch loss and full gradient (np, every parameter, frozen ones too) at the current
   parameters on the batch the next step will draw; nothing is updated. */
PATTN_DEF pattn_status pattn_icl_trainer_grad(pattn_icl_trainer *t, double *loss, double *grad);
/* Frees a trainer (not its model or generator); no-op on NULL. */
PATTN_DEF void pattn_icl_trainer_free(pattn_icl_trainer *t);

/* The whole run: o->opt.steps steps at context length n; one record per step is appended to
   *hist when hist is non-NULL (acc is NaN). The result depends only on the inputs and seed,
   not on threads or SIMD path. PATTN_EDIVERGED when a step diverges (see
   pattn_icl_trainer_step): hist->diverged_at and pattn_last_error() give the step. */
PATTN_DEF pattn_status pattn_icl_train(const pattn_icl_gen *g, pattn_icl_model *mdl, int n,
                                       const pattn_icl_train_opts *o, pattn_history *hist);

/* Test loss on a fresh fixed test set: `batch` (>= 2) samples per task with context length
   n, task k's being pattn_icl_sample(g, k, n, batch, pattn_icl_step_seed(seed, -1, k));
   loss = sum_k pi_k mean_k (yhat - y)^2, se its standard error, loss_k (K) the per-task
   means. Any output may be NULL. Float passes, like training. */
PATTN_DEF pattn_status pattn_icl_test_loss(const pattn_icl_gen *g, const pattn_icl_model *mdl,
                                           int n, int batch, uint64_t seed, double *loss_k,
                                           double *loss, double *se);
/* ==== paper 1 theory: normal law, attention weights, feature law ============== */

/* Phi(x) = P(N(0,1) <= x) = erfc(-x/sqrt 2)/2, accurate in both tails; phi is the density. */
PATTN_DEF double pattn_norm_cdf(double x);
PATTN_DEF double pattn_norm_pdf(double x);

/* log of the Binomial(n, p) probability of j, computed in log space (a sum of log ratios, log1p) so it
   neither overflows nor underflows for large n; -inf outside the support, NaN if invalid. */
PATTN_DEF double pattn_binom_log_pmf(int n, int j, double p);

/* Softmax weight of one relevant token (score gamma) and of one irrelevant token (score 0)
   among T tokens of which k are relevant: w_rel = e^gamma/Z, w_irr = 1/Z,
   Z = k e^gamma + T - k. Written so that neither weight overflows for any finite gamma.
   With k = T there is no irrelevant token: w_rel = 1/T, w_irr = 0.
   Both outputs are NaN if k < 1, k > T or gamma is not finite. */
PATTN_DEF void pattn_cmm_attention_weights(int T, int k, double gamma, double *w_rel,
                                           double *w_irr);

/* The feature law of docs/theory.md: under the prompt p = gamma q/|q|^2 with ORTHO noise and no
   distractor overlap, the attention feature of a sample with J distractors is
   h = c q + y alpha_J v* + s g, g ~ N(0, I - qq'/|q|^2), J ~ Bin(T-k, eps). */
typedef struct pattn_feature_law {
    int T, k;             /* tokens; relevant tokens lround(zeta T) */
    int n_atoms;          /* upper bound on the atoms pattn_feature_law_atoms writes */
    double w_rel, w_irr;  /* softmax weight of a relevant / an irrelevant token */
    double c, s;          /* context coefficient k w_rel; noise scale sigma |w|_2 */
    double alpha0;        /* alpha at J = 0 (= c) */
    double mean_alpha;    /* E alpha_J = c - rho eps (T-k) w_irr */
    double beta;          /* SNR without distractors, alpha0^2 |v|^2 / s^2 */
    double rho, eps, v_norm; /* copied from the model: alpha_J = c - rho J w_irr */
} pattn_feature_law;

/* Validates m (as pattn_head_risk_theory does, apart from kappa and lambda) and fills *out.
   The law is that of ORTHO noise with dist_q = 0 whatever m->noise and m->dist_q say (it is
   also exact in ISO mode at gamma = 0 when dist_q = 0); pattn_attention_law gives the law of
   the other cases. PATTN_EINVAL (out untouched) on invalid input. */
PATTN_DEF pattn_status pattn_feature_law_eval(const pattn_cmm *m, double gamma,
                                              pattn_feature_law *out);

/* The atoms of the law of b_J = alpha_J |v|/s: pi[i] = pi_J and b[i] = b_J for every J of
   positive probability (a single atom when eps = 0, eps = 1 or rho = 0, where J is
   deterministic or does not matter). pi and b hold law->n_atoms doubles. Each pi_J is the
   binomial pmf to a few ulp (O(1) per atom), over the J whose probability is positive in
   double, renormalised to sum 1; the cost is the number of such atoms, not T. Returns the
   number of atoms written, 0 on invalid input (nothing written). */
PATTN_DEF int pattn_feature_law_atoms(const pattn_feature_law *law, double *pi, double *b);

/* ==== paper 1 theory: ridge head risk in the proportional limit ========== */

/* Resolvent quantities of the ridge head for kappa = n/d and ell = lambda/s^2, computed
   without cancellation: theta = (sqrt D - B)/(2 kappa), omega = (sqrt D + B)/(2 kappa),
   psi = kappa (1 - theta)/sqrt D, B = kappa ell + 1 - kappa, D = B^2 + 4 kappa^2 ell.
   At the interpolation peak (kappa = 1, ell = 0) sqrt D = 0 and psi = +inf. Any pointer may
   be NULL. All outputs NaN if kappa <= 0, ell < 0 or either is not finite. */
PATTN_DEF void pattn_ridge_resolvent(double kappa, double ell, double *theta, double *omega,
                                     double *psi, double *sqrt_delta);

/* Everything the ridge head converges to on a homoscedastic feature law (constant s). */
typedef struct pattn_ridge_limits {
    double theta, omega, psi, sqrt_delta; /* resolvent (pattn_ridge_resolvent) */
    double B1, B2;         /* sum pi_J b_J, sum pi_J b_J^2 */
    double m, tau2, S2;    /* normalised head: m = B1/(B2+1+omega), tau^2, S^2 = m^2+psi tau^2 */
    double wv, w_norm2;    /* limits of w'v* = |v| m/s and |w|^2 = S^2/s^2 */
    double err, mse;       /* sum pi_J Phi(-b_J m/S), (1+psi) tau^2 */
    double var_t;          /* finite-d variance of the offset c w'q (0 if d = 0 or c|q| = 0) */
    double err_d, mse_d;   /* err and mse with var_t added to S^2 and to the MSE */
} pattn_ridge_limits;

/* The limits of docs/theory.md for an arbitrary atomic law (pi, b) of b_J = alpha_J|v|/s, noise scale
   s, |v| = v_norm, context coordinate cq = c |q| (only for the finite-d correction), d
   (0 = no correction), kappa > 0, lambda >= 0 on the (1/n)-normalised loss. tau^2 is
   evaluated as [B2 + (1+omega)^2 + V (B2+1+2 omega)]/(B2+1+omega)^2 with V the variance of
   b, which equals the printed 1 - 2 m B1 + m^2 (B2+1) without its cancellation. At
   kappa = 1, lambda = 0: psi = S2 = w_norm2 = mse = +inf, err = 1/2 (IEEE inf, not an error).
   PATTN_EINVAL (out untouched): n < 1, NULL arrays, pi not a probability vector (negative,
   or sum not 1 within 1e-9), non-finite b, s <= 0, v_norm <= 0, cq < 0, d < 0,
   kappa <= 0, lambda < 0, or any NaN/inf. */
PATTN_DEF pattn_status pattn_ridge_limits_eval(int n, const double *pi, const double *b,
                                               double s, double v_norm, double cq, int d,
                                               double kappa, double lambda,
                                               pattn_ridge_limits *out);

/* No distractors (one atom, SNR beta = b^2): the closed forms
   Err = Phi(-beta/sqrt(beta + psi (beta + (1+omega)^2))),
   MSE = (1+psi)((1+omega)^2 + beta)/(beta+1+omega)^2 at ell = lambda/s^2.
   err/mse may be NULL; both NaN if beta < 0, kappa <= 0, ell < 0 or not finite. */
PATTN_DEF void pattn_ridge_nodist_risk(double beta, double kappa, double ell, double *err,
                                       double *mse);

/* The lambda -> 0+ forms without distractors (docs/theory.md): OLS for kappa > 1,
   minimum-norm interpolation for kappa < 1, err = 1/2 and mse = +inf at kappa = 1. */
PATTN_DEF void pattn_ridgeless_nodist_risk(double beta, double kappa, double *err,
                                           double *mse);

/* lambda -> infinity limit of the test error: sum pi_J Phi(-b_J B1/sqrt(B1^2 + 1/kappa))
   (the head becomes the mean-difference direction). NaN on invalid input. */
PATTN_DEF double pattn_ridge_err_lambda_inf(int n, const double *pi, const double *b,
                                            double kappa);

/* Sample complexity of the ridgeless head without distractors: the kappa > 1 at which
   Err = Phi(-x), kappa* = (x^2 + beta^2)/(beta (beta - x^2)); +inf when beta <= x^2 (the
   target is below what the OLS head ever reaches). NaN if beta <= 0, x < 0 or not finite. */
PATTN_DEF double pattn_ridgeless_kappa_star(double beta, double x);

/* ==== paper 1 theory: oracles ================================================ */
/* Each takes an atomic law: with probability pi[i] the normalised statistic is
   y b[i] + N(0,1). pi must be a probability vector (sum 1 within 1e-9); NaN on invalid input. */

/* Bayes error, exact: int_0^inf min(f(x), f(-x)) dx, f(x) = sum pi_i phi(x - b_i). With one
   sign of b it is sum pi_i Phi(-|b_i|); otherwise the sign changes of f(x) - f(-x) are
   located on a grid of step <= 0.005 within 12 of each |b_i| and by bisection between grid
   points, and the integral is summed exactly as Phi-differences of the smaller density on
   each interval. Time grows with the number of atoms, never with their magnitude (a change
   pair missed far from every atom moves the result by < 4e-33). */
PATTN_DEF double pattn_bayes_error(int n, const double *pi, const double *b);

/* Error of the population least-squares head: sum pi_i Phi(-sgn(direction) b_i), where
   direction is the sign of the head's v*-coefficient (B1 for a homoscedastic law, E[alpha]
   in general); sgn(0) = 0, so it is 1/2 when direction = 0. */
PATTN_DEF double pattn_ls_pop_error(int n, const double *pi, const double *b, double direction);

/* Best linear classifier with intercept t: min over u = +-1, t >= 0 of
   (1/2) sum pi_i [Phi(-u b_i - t) + Phi(-u b_i + t)]; a 2000-point grid of t in
   [0, max|b| + 8] for each u, then golden-section search around the best grid point.
   u_best/t_best (may be NULL) receive the minimiser. */
PATTN_DEF double pattn_best_linear_error(int n, const double *pi, const double *b,
                                         int *u_best, double *t_best);

/* ==== paper 1 theory: random per-sample (alpha, s) laws and the fixed point === */

/* Under ISO noise or distractor overlap dist_q = a > 0 every sample has its own signal
   alpha_i and noise scale s_i: h = c_i q + y alpha_i v* + s_i g. pattn_attention_law gives
   that law as weighted atoms (p, alpha, s, c). When the scores are deterministic (ORTHO
   noise, or gamma = 0) it is exact over J ~ Bin(T-k, eps): relevant tokens score gamma,
   distractors a gamma, the others 0. Otherwise (ISO, gamma != 0: per-token score noise of
   std gamma sigma/|q|) it is a fixed-seed sample of PATTN_LAW_DRAWS draws from
   pattn_rng_seed(&r, PATTN_LAW_SEED), each of weight 1/draws, with c_i = q'h_i/|q|^2 (which
   includes the score-correlated noise along q). */
#define PATTN_LAW_DRAWS 100000
#define PATTN_LAW_SEED 12345
/* the largest T of a sampled law (its cost is PATTN_LAW_DRAWS * T); larger T is EINVAL */
#define PATTN_LAW_MAX_T 512

/* Size of the arrays pattn_attention_law needs: the values of J ~ Bin(T-k, eps) whose
   probability is positive in double (at most T-k+1; 333,569 at T = 10^8, eps = 0.3), or
   PATTN_LAW_DRAWS for a sampled law; 0 if m or gamma is invalid. */
PATTN_DEF int pattn_attention_law_size(const pattn_cmm *m, double gamma);

/* Fills p, alpha, s and (if non-NULL) c, each of pattn_attention_law_size(m, gamma)
   doubles, and *n_atoms with the number written (atoms of zero probability are dropped).
   PATTN_EINVAL on invalid input (or a sampled law with T > PATTN_LAW_MAX_T), PATTN_ENOMEM
   if scratch for a sampled law fails (outputs untouched in both cases). */
PATTN_DEF pattn_status pattn_attention_law(const pattn_cmm *m, double gamma, double *p,
                                           double *alpha, double *s, double *c, int *n_atoms);

/* The scalar fixed point of the ridge head on a heteroscedastic law. */
typedef struct pattn_ridge_fp {
    double eta;       /* root of kappa eta (lambda + E[s^2/(1+s^2 eta)]) = 1; +inf in the
                         lambda = 0, kappa <= 1 limit */
    double w2;        /* limit of w'v* divided by |v*| */
    double w3_norm2;  /* limit of the squared norm of w outside v* and q */
    double nu2;       /* limit of |w|^2 = w2^2 + w3_norm2 */
    double err, mse;  /* E[Phi(-a w2/(s nu))], E[(1 - a w2)^2] + E[s^2] nu^2 */
} pattn_ridge_fp;

/* Solves the fixed point of docs/theory.md for the atomic law with weights p, signal a_i = alpha_i|v|
   and noise scale s_i > 0: eta by bracketing and geometric bisection (unique root, the map is
   increasing), with the exact lambda = 0 forms (kappa < 1: w2 = E[a/s^2]/(E[a^2/s^2] + 1/kappa),
   |w3|^2 = kappa/(1-kappa) E[t^2/s^2]; kappa = 1: |w3|^2 = +inf, err = 1/2; kappa > 1:
   kappa E[s^2 eta/(1+s^2 eta)] = 1). With constant s it reproduces pattn_ridge_limits_eval
   to rounding. PATTN_EINVAL (out untouched): n < 1, NULL arrays, p not a probability vector,
   non-finite a, s <= 0, kappa <= 0, lambda < 0, NaN/inf. */
PATTN_DEF pattn_status pattn_ridge_fixed_point(int n, const double *p, const double *a,
                                               const double *s, double kappa, double lambda,
                                               pattn_ridge_fp *out);

/* ==== paper 1 theory: the contract ============================================ */

typedef struct pattn_head_risk {
    double c, s, mean_alpha;        /* feature law */
    double theta, omega, psi;       /* resolvent quantities */
    double wv, w_norm2;             /* limits of w'v*, |w|^2 */
    double err, mse;                /* asymptotic test error and MSE */
    double bayes, err_pop, err_lin; /* oracles */
    double var_t, err_d;            /* finite-d correction at m->d */
} pattn_head_risk;

/* Exact proportional-limit risk of the ridge head on prompt p = gamma*q/|q|^2,
   kappa = n/d, lambda = ridge on the (1/n)-normalised loss.
   ORTHO noise with dist_q = 0: the closed form (pattn_feature_law_eval,
   pattn_ridge_limits_eval, the three oracles; the finite-d correction at m->d, none if
   m->d = 0). ISO noise or dist_q > 0: the fixed point on pattn_attention_law; c, s and
   mean_alpha are means over the law, theta/omega/psi are NAN, var_t = 0, err_d = err, and
   the oracles use the law of alpha_i|v|/s_i. Laws of more than 4096 atoms (sampled laws,
   T > ~4000) are merged into atoms at most 0.0025 apart in b before the Bayes and
   best-linear grid searches, which moves those two by < 1e-6 (far below a sampled law's
   1e-3). Cost: microseconds for the closed form at T = 20; a sampled law takes
   O(PATTN_LAW_DRAWS T) exp and normal draws, ~0.1 s at T = 20.
   PATTN_EINVAL with *out untouched: NULL pointer, sigma <= 0, kappa <= 0, lambda < 0,
   zeta outside (0,1] or lround(zeta T) = 0, T < 1, eps outside [0,1], rho < 0, q_norm <= 0,
   v_norm <= 0, dist_q outside [0,1), unknown noise mode, d < 0, any NaN or infinite
   parameter; PATTN_ENOMEM if scratch cannot be allocated; PATTN_ENUM if the fixed point
   does not converge. */
PATTN_DEF pattn_status pattn_head_risk_theory(const pattn_cmm *m, double gamma, double kappa,
                                              double lambda, pattn_head_risk *out);
/* ==== paper 2: closed forms & theory =================================== */

/* Minimal population risks of the reduced model y^ = x'W(X'y + b_k) on a task mixture
   (no 1/n in the model; a 1/n-normalised model has the same losses). */
typedef struct pattn_icl_risks {
    double ey2;                  /* E[y^2] */
    double pt, ft, jt, dec, lb;  /* minimal population risks */
} pattn_icl_risks;


/* Full validation of a mixture. PATTN_EINVAL: NULL m / pi / cov_beta, d < 1, K < 1,
   a weight negative or non-finite, weights not summing to 1 within 1e-9, NaN/inf in any given
   array, a negative noise variance. PATTN_ENUM: cov_x not symmetric (1e-12 relative) or not
   positive definite; a cov_beta[k] not symmetric or with an eigenvalue below
   -1e-12 * max|eigenvalue| (rank-deficient and zero covariances are fine).
   PATTN_ENOMEM if scratch cannot be allocated. Weights are used as given, not renormalised. */
PATTN_DEF pattn_status pattn_icl_mix_check(const pattn_icl_mix *m);

/* The contract: E[y^2] and the minimal risks L_PT >= L_FT >= L_JT >= L_dec >= L_LB for n >= 1
   context examples. Computed in whitened coordinates (S^{1/2} from an eigen-decomposition)
   as sums of non-negative terms, so no cancellation. When Sigma-bar = sum pi_k Sigma_k is
   singular, L_JT is an infimum that no finite prompt may attain (see pattn_icl_optimum).
   *out untouched on error. */
PATTN_DEF pattn_status pattn_icl_theory(const pattn_icl_mix *m, int n, pattn_icl_risks *out);

/* The scalar forms (docs/theory.md) for S = I, Sigma_k = s[k] I, mu_k = mk[k] * 1 (mk may be NULL = 0),
   common noise variance sigma2: an independent check of the matrix forms. lb is
   sigma2 + sum_k pi_k d s_k((d+1)s_k + sigma2)/((n+1+d)s_k + sigma2). */
PATTN_DEF pattn_status pattn_icl_theory_iso(int d, int n, int K, const double *pi,
                                            const double *mk, const double *s, double sigma2,
                                            pattn_icl_risks *out);

/* Optimal parameters of a regime. W: d*d row-major (LB: K*d*d, one W_k per task). b (may be
   NULL): K*d prompts b_k; PT: zeros; FT: S mu_k + tau M^+ mu_k with W = W_PT (M^+ the
   pseudo-inverse: mu_k always lies in range(M), and any prompt with the same W b is as good);
   JT: S mu_k + (S M_mu + tau I) Sigma-bar^+ mu_k; DEC / LB: the task means mu_k (the mean of
   the known-mean PGD y^ = x'mu_k + x'W X'(y - X mu_k)).
   JT with a singular Sigma-bar: W_JT is still the minimiser of the risk profiled over prompts
   and is returned when b == NULL; if b != NULL and some mu_k has a component outside
   range(Sigma-bar) (relative 1e-8 after whitening; eigenvalues below 1e-12 of the largest
   count as zero), the optimum is not attained (only approached by W_JT + eps I, b ~ 1/eps)
   and PATTN_ENUM is returned with W and b untouched. If mu_k lies in range(Sigma-bar) the
   pseudo-inverse prompt attains L_JT. PATTN_EINVAL for a bad mixture, n < 1, NULL W or an
   unknown regime. */
PATTN_DEF pattn_status pattn_icl_optimum(const pattn_icl_mix *m, int n, pattn_icl_regime regime, double *W,
                                         double *b);

/* Exact population risk of the reduced model y^ = x'W(X'y + b_k) for any W (d*d) and prompts
   b (K*d, NULL = no prompts): per-task risks into risk_k (K entries, may be NULL), the
   pi-weighted total into *risk. Evaluated as a sum of non-negative quadratic forms
   (sigma_k^2 + tr(E'SE Sigma_k) + v'Sv + n tr(W'SW S R_k S) + n tr(W'SWS)(tr(S R_k) + sigma_k^2),
   E = nWS - I, v = E mu_k + W b_k), equal to the expanded expression. */
PATTN_DEF pattn_status pattn_icl_risk(const pattn_icl_mix *m, int n, const double *W,
                                      const double *b, double *risk_k, double *risk);

/* Exact population risk of known-mean PGD y^ = x'mu_k + x'W X'(y - X mu_k): the reduced-model
   risk of the centred task (R_k = Sigma_k, no prompt). per_task = 0: one shared W (d*d);
   per_task = 1: W holds K matrices W_k (K*d*d). Minimised by W_dec (L_dec) and W_k (L_LB). */
PATTN_DEF pattn_status pattn_icl_risk_pgd(const pattn_icl_mix *m, int n, const double *W,
                                          int per_task, double *risk_k, double *risk);

#ifdef __cplusplus
}
#endif
#endif /* PATTN_H_INCLUDE */

/* ======================================================================================== */
/*                                  IMPLEMENTATION                                          */
/* ======================================================================================== */
#ifdef PATTN_IMPLEMENTATION
#ifndef PATTN__IMPLEMENTED
#define PATTN__IMPLEMENTED

#include <math.h>
#include <string.h>
#include <float.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(PATTN_MALLOC) != defined(PATTN_FREE) || defined(PATTN_MALLOC) != defined(PATTN_REALLOC)
#error "define all of PATTN_MALLOC, PATTN_REALLOC and PATTN_FREE, or none"
#endif
#ifndef PATTN_MALLOC
#define PATTN_MALLOC(sz) malloc(sz)
#define PATTN_REALLOC(p, sz) realloc(p, sz)
#define PATTN_FREE(p) free(p)
#endif

/* stb_ds grows the training histories. Only this part of the header sees it, and only
   through its stbds_ names: short names (arrput, arrlen, ...) are switched off while it is
   included, so they never reach the including file unless it asked for them itself. With
   PATTN_STB_DS_IMPLEMENTATION its implementation is compiled here too, allocating through
   PATTN_REALLOC / PATTN_FREE. */
#ifdef PATTN_STB_DS_IMPLEMENTATION
#ifndef STB_DS_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#define PATTN__DEFINED_STB_DS_IMPLEMENTATION
#endif
#ifndef STBDS_REALLOC
#define STBDS_REALLOC(ctx, p, sz) PATTN_REALLOC(p, sz)
#define STBDS_FREE(ctx, p) PATTN_FREE(p)
#endif
#endif
#ifndef STBDS_NO_SHORT_NAMES
#define STBDS_NO_SHORT_NAMES
#define PATTN__DEFINED_STBDS_NO_SHORT_NAMES
#endif
#if defined(__GNUC__) || defined(__clang__) /* stb_ds's own `= {0}` is noted by g++ -Wextra */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include "stb_ds.h"
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
#endif
#ifdef PATTN__DEFINED_STBDS_NO_SHORT_NAMES
#undef STBDS_NO_SHORT_NAMES
#undef PATTN__DEFINED_STBDS_NO_SHORT_NAMES
#endif
#ifdef PATTN__DEFINED_STB_DS_IMPLEMENTATION
#undef STB_DS_IMPLEMENTATION
#undef PATTN__DEFINED_STB_DS_IMPLEMENTATION
#endif

/* Which SIMD paths this build compiles. PATTN__STATIC_PASS: 1 scalar, 2 AVX2+FMA (the
   build's own flags allow it), 3 NEON. PATTN__DISPATCH: x86-64 with gcc or clang built
   without -mavx2: both the AVX2 and the scalar path are compiled and cpuid picks one. */
#if defined(__x86_64__) || defined(_M_X64)
#define PATTN__X86 1
#else
#define PATTN__X86 0
#endif
#if PATTN__X86 && (defined(__GNUC__) || defined(__clang__)) && !defined(__TINYC__)
#define PATTN__X86_TARGETS 1 /* function target attributes and the cpuid builtins */
#else
#define PATTN__X86_TARGETS 0
#endif
#if defined(PATTN_NO_SIMD)
#define PATTN__DISPATCH 0
#define PATTN__STATIC_PASS 1
#elif defined(__AVX2__) && (defined(__FMA__) || defined(_MSC_VER)) /* MSVC's /arch:AVX2 has FMA, defines no __FMA__ */
#define PATTN__DISPATCH 0
#define PATTN__STATIC_PASS 2
#elif PATTN__X86_TARGETS
#define PATTN__DISPATCH 1
#define PATTN__STATIC_PASS 0
#elif defined(__aarch64__) && defined(__ARM_NEON) && !defined(_MSC_VER)
#define PATTN__DISPATCH 0
#define PATTN__STATIC_PASS 3
#include <arm_neon.h>
#else
#define PATTN__DISPATCH 0
#define PATTN__STATIC_PASS 1
#endif
#if PATTN__DISPATCH || PATTN__STATIC_PASS == 2
#include <immintrin.h>
#endif

/* AVX-512 kernels for the hottest loops, chosen at run time inside the AVX2 path: only
   functions marked PATTN__T512 use 512-bit instructions, called when the CPU has them. Each
   is written so that its 16 lanes are two canonical 8-lane halves (or 16 independent
   columns), doing the same IEEE operations in the same order as the 8-lane code, so all
   paths give the same bits. PATTN_NO_AVX512 turns them off. */
#if PATTN__X86_TARGETS && !defined(PATTN_NO_AVX512)
#define PATTN__HAVE_AVX512 1
#define PATTN__T512 __attribute__((target("avx2,fma,avx512f,avx512vl,avx512dq,avx512bw")))
/* g++ reports the _mm*_undefined_*() operands inside its own AVX-512 intrinsics as
   (maybe-)uninitialized once they are inlined (a false positive, gcc PR 105593); the C
   builds keep both warnings */
#if defined(__cplusplus) && defined(__GNUC__) && !defined(__clang__)
#define PATTN__GXX_PR105593 1
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#else
#define PATTN__HAVE_AVX512 0
#endif
#if defined(__GNUC__) || defined(__clang__)
#define PATTN__UNUSED __attribute__((unused))
#else
#define PATTN__UNUSED
#endif

/* The results must not depend on whether the caller's flags let the compiler fuse a*b + c
   into one rounding: the code fuses exactly where it says so (fmaf, the FMA intrinsics). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__) && !defined(__TINYC__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#define PATTN__GCC_OPTIONS_PUSHED 1
#endif

#define PATTN__INLINE static inline
#define PATTN__PRAGMA(x) _Pragma(#x)
/* OpenMP shims, the only ones: without -fopenmp every loop runs on the calling thread. The
   _NT and _IF forms expand to a statement of their own when OpenMP is off, so a loop under
   them needs braces around it where it is the body of an if. */
#ifdef _OPENMP
#define PATTN__OMP_PAR PATTN__PRAGMA(omp parallel)
#define PATTN__OMP_FOR_NOWAIT PATTN__PRAGMA(omp for schedule(static) nowait)
#define PATTN__OMP_FOR_NT(nt) PATTN__PRAGMA(omp parallel for schedule(static) num_threads(nt))
#define PATTN__OMP_PAR_NT(nt) PATTN__PRAGMA(omp parallel num_threads(nt))
#define PATTN__OMP_FOR_IF(c) PATTN__PRAGMA(omp parallel for schedule(static) if (c))
PATTN__INLINE int pattn__tid(void) { return omp_get_thread_num(); }
PATTN__INLINE int pattn__max_threads(void) { return omp_get_max_threads(); }
#else
#define PATTN__OMP_PAR
#define PATTN__OMP_FOR_NOWAIT
#define PATTN__OMP_FOR_NT(nt) (void)(nt);
#define PATTN__OMP_PAR_NT(nt) (void)(nt);
#define PATTN__OMP_FOR_IF(c) (void)(c);
PATTN__INLINE int pattn__tid(void) { return 0; }
PATTN__INLINE int pattn__max_threads(void) { return 1; }
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status and the failure message ------------------------------------------------- */

PATTN_DEF const char *pattn_status_str(pattn_status s)
{
    switch (s) {
    case PATTN_OK: return "success";
    case PATTN_EINVAL: return "invalid argument (pattn_last_error() names it and the rule it broke)";
    case PATTN_ENOMEM: return "out of memory";
    case PATTN_ENUM: return "numerical failure: an input failed a numerical requirement or an iteration did not converge (pattn_last_error() says which)";
    case PATTN_EDIVERGED: return "training diverged: the loss or a parameter became non-finite (pattn_last_error() gives the step)";
    }
    return "unknown status";
}

/* The one piece of state the library keeps: the reason of the last failure, one per thread
   (as errno is), so that concurrent callers never see each other's messages. Compilers
   without thread-local storage share one buffer (see THREAD SAFETY). */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define PATTN__TLS thread_local
#elif defined(_MSC_VER)
#define PATTN__TLS __declspec(thread)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__TINYC__)
#define PATTN__TLS _Thread_local
#elif (defined(__GNUC__) || defined(__clang__)) && !defined(__TINYC__)
#define PATTN__TLS __thread
#else
#define PATTN__TLS
#endif
#define PATTN__ERRLEN 256
static PATTN__TLS char pattn__errbuf[PATTN__ERRLEN];

static void pattn__vrecord(const char *fn, const char *fmt, va_list ap)
{
    /* a dispatching build compiles the SIMD part once per path, with the path's suffix on
       every name: the message names the public function */
    static const char *const sfx[3] = {"_avx2", "_scalar", "_neon"};
    size_t len = strlen(fn), i, ls;
    int k;
    for (i = 0; i < 3; ++i) {
        ls = strlen(sfx[i]);
        if (len > ls && !strcmp(fn + len - ls, sfx[i])) {
            len -= ls;
            break;
        }
    }
    if (len > 64) len = 64;
    k = snprintf(pattn__errbuf, PATTN__ERRLEN, "%.*s: ", (int)len, fn);
    if (k < 0 || k >= PATTN__ERRLEN) return;
    vsnprintf(pattn__errbuf + k, (size_t)(PATTN__ERRLEN - k), fmt, ap);
}
/* records "fn: <message>" */
static void pattn__record(const char *fn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pattn__vrecord(fn, fmt, ap);
    va_end(ap);
}
/* a public function that failed inside another public one: its own name goes first, so the
   message names the function the caller called and the one that refused */
static pattn_status pattn__via(const char *fn, pattn_status st)
{
    char inner[sizeof pattn__errbuf];
    memcpy(inner, pattn__errbuf, sizeof inner);
    inner[sizeof inner - 1] = 0;
    pattn__record(fn, "%s", inner);
    return st;
}
/* records the message and yields st, so that a check reads `return PATTN__FAIL(...)`; st
   stays visible to the compiler, which then knows that no error path returns PATTN_OK */
#define PATTN__FAIL(st, fn, ...) (pattn__record(fn, __VA_ARGS__), (st))
/* the same for functions whose failure value is NaN (PATTN__NAN is defined below) */
#define PATTN__FAIL_NAN(fn, ...) (pattn__record(fn, __VA_ARGS__), PATTN__NAN)
/* the same for validators and for functions whose failure value is NaN: records, returns 0 */
static int pattn__bad(const char *fn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pattn__vrecord(fn, fmt, ap);
    va_end(ap);
    return 0;
}
/* A check in a public function: cond must hold, else EINVAL with a message naming the
   function (__func__), the argument and the rule. */
#define PATTN__REQ(cond, ...) \
    do { if (!(cond)) return PATTN__FAIL(PATTN_EINVAL, __func__, __VA_ARGS__); } while (0)
/* the same in a validator that returns 1 (valid) or 0, reporting as the public caller fn */
/* the same in a function whose failure value is 0 */
#define PATTN__REQ0(cond, ...) \
    do { if (!(cond)) return pattn__bad(__func__, __VA_ARGS__); } while (0)
#define PATTN__OK(cond, ...) \
    do { if (!(cond)) return pattn__bad(fn, __VA_ARGS__); } while (0)

PATTN_DEF const char *pattn_last_error(void) { return pattn__errbuf; }
PATTN_DEF void pattn_clear_error(void) { pattn__errbuf[0] = 0; }

/* cpuid, as libgcc (or compiler-rt) recorded it: a load and a test per call */
PATTN__INLINE int pattn__cpu_avx2(void)
{
#if PATTN__X86_TARGETS
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}
PATTN__INLINE int pattn__cpu_avx512(void)
{
#if PATTN__X86_TARGETS
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
#else
    return 0;
#endif
}
/* the path a dispatching build takes; PATTN__TEST_SCALAR_PATH forces the scalar one, so
   the tests can run a dispatching build through both */
#if PATTN__DISPATCH && !defined(PATTN__TEST_SCALAR_PATH)
#define pattn__use_avx2() pattn__cpu_avx2()
#else
#define pattn__use_avx2() 0
#endif
PATTN__INLINE int pattn__avx2_runs(void) { return PATTN__DISPATCH ? pattn__use_avx2() : PATTN__STATIC_PASS == 2; }

PATTN_DEF int pattn_avx512_active(void) { return PATTN__HAVE_AVX512 && pattn__avx2_runs() && pattn__cpu_avx512(); }

PATTN_DEF const char *pattn_simd_path(void)
{
    if (pattn__avx2_runs()) return pattn_avx512_active() ? "avx2+avx512" : "avx2";
    return PATTN__STATIC_PASS == 3 ? "neon" : "scalar";
}
PATTN_DEF const char *pattn_version(void) { return PATTN_VERSION_STRING; }

/* A quiet NaN with the sign bit clear, the same bits whatever the compiler's NAN expands
   to (some give 0.0/0.0, which is negative on x86). */
PATTN__INLINE double pattn__nan(void)
{
    uint64_t u = 0x7ff8000000000000ULL;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}
#define PATTN__NAN pattn__nan()

/* ---- double-precision exp, log, log1p and cos(2 pi u) from IEEE operations alone ---------
   Training (the logistic loss, Adam, the cosine schedule) and the double normal sampler use
   these instead of the C library's, whose last bits differ between C libraries: with them,
   a training run gives the same bits on glibc, mingw-w64 or any other. Accuracy: within
   about 1 ulp (tested against the C library). */
PATTN__INLINE double pattn__pow2i(int k) /* 2^k for -1022 <= k <= 1023, exactly */
{
    uint64_t u = (uint64_t)(k + 1023) << 52;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}
static double pattn__exp_d(double x)
{
    /* x = k ln2 + r, |r| <= ln2/2 (ln2 split so that k ln2_hi is exact), then a degree-13
       Taylor polynomial of e^r and the power of two in two exact steps */
    static const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    double k, r, p;
    int ki;
    if (x != x) return x;
    if (x > 709.782712893384) return HUGE_VAL;
    if (x < -745.1332191019412) return 0.0;
    k = floor(x * 1.44269504088896338700 + 0.5);
    r = (x - k * ln2_hi) - k * ln2_lo;
    p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r * r + r + 1.0;
    ki = (int)k;
    if (ki > 1000) return p * pattn__pow2i(1000) * pattn__pow2i(ki - 1000);
    if (ki < -1000) return p * pattn__pow2i(-1000) * pattn__pow2i(ki + 1000);
    return p * pattn__pow2i(ki);
}
/* log x for x > 0 (NaN below, -inf at 0, +inf at +inf): x = m 2^k, m in [sqrt(1/2), sqrt 2),
   log m = 2 atanh(s), s = (m - 1)/(m + 1), |s| <= 0.1716, by its series */
static double pattn__log_d(double x)
{
    static const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    double m, s, z, p, f;
    int k;
    if (!(x > 0.0)) return x == 0.0 ? -HUGE_VAL : pattn__nan();
    if (x == HUGE_VAL) return x;
    m = frexp(x, &k); /* exact: m in [0.5, 1) */
    if (m < 0.70710678118654752440) {
        m *= 2.0;
        --k;
    }
    f = m - 1.0;
    s = f / (m + 1.0);
    z = s * s;
    p = 1.0 / 23;
    p = p * z + 1.0 / 21;
    p = p * z + 1.0 / 19;
    p = p * z + 1.0 / 17;
    p = p * z + 1.0 / 15;
    p = p * z + 1.0 / 13;
    p = p * z + 1.0 / 11;
    p = p * z + 1.0 / 9;
    p = p * z + 1.0 / 7;
    p = p * z + 1.0 / 5;
    p = p * z + 1.0 / 3;
    /* 2 atanh(s) = f - s f + 2 s z p: f - s f is exact-ish and carries the leading digits */
    return (double)k * ln2_hi + ((f - s * f) + (2.0 * s * z * p + (double)k * ln2_lo));
}
/* log(1 + x) for x > -1, keeping the digits of small x: u = 1 + x rounded, then log u
   corrected by the rounding error of u */
static double pattn__log1p_d(double x)
{
    double u = 1.0 + x;
    if (u == 1.0) return x;
    if (!(u > 0.0) || u == HUGE_VAL) return pattn__log_d(u);
    return pattn__log_d(u) + (x - (u - 1.0)) / u;
}
/* cos(2 pi u): u reduced to v in [-1/2, 1/2], the quadrant taken from 4v, then the Taylor
   series of sin or cos on [-pi/4, pi/4] */
static double pattn__cos2pi_d(double u)
{
    double v = u - floor(u + 0.5), w = 4.0 * v, q = floor(w + 0.5), x = (w - q) * 1.57079632679489661923, z = x * x, c, s;
    int iq = ((int)q % 4 + 4) % 4;
    c = 1.0 / 20922789888000.0;
    c = c * z - 1.0 / 87178291200.0;
    c = c * z + 1.0 / 479001600.0;
    c = c * z - 1.0 / 3628800.0;
    c = c * z + 1.0 / 40320.0;
    c = c * z - 1.0 / 720.0;
    c = c * z + 1.0 / 24.0;
    c = c * z - 0.5;
    c = c * z + 1.0;
    s = -1.0 / 1307674368000.0;
    s = s * z + 1.0 / 6227020800.0;
    s = s * z - 1.0 / 39916800.0;
    s = s * z + 1.0 / 362880.0;
    s = s * z - 1.0 / 5040.0;
    s = s * z + 1.0 / 120.0;
    s = s * z - 1.0 / 6.0;
    s = x + x * z * s;
    return iq == 0 ? c : iq == 1 ? -s : iq == 2 ? -c : s;
}

/* finite-ness of parameters, shared by every validating entry point */
PATTN__INLINE int pattn__finite(double x) { return x == x && x - x == 0.0; }

/* Sizes are products of ints. Each is formed in size_t with a wrap check against half of the
   largest size_t (so a byte count may still be added to), and whatever would not fit is refused
   as too large before anything is allocated or written. */
#define PATTN__SZ_MAX (((size_t)-1) / 2)
PATTN__INLINE size_t pattn__zmul(size_t a, size_t b, int *ok)
{
    if (b && a > PATTN__SZ_MAX / b) { *ok = 0; return 0; }
    return a * b;
}
PATTN__INLINE size_t pattn__zadd(size_t a, size_t b, int *ok)
{
    if (a > PATTN__SZ_MAX || b > PATTN__SZ_MAX - a) { *ok = 0; return 0; }
    return a + b;
}
/* a*b*c elements of elem bytes fit (all >= 0) */
PATTN__INLINE int pattn__fits(long a, long b, long c, size_t elem)
{
    int ok = 1;
    if (a < 0 || b < 0 || c < 0) return 0;
    (void)pattn__zmul(pattn__zmul(pattn__zmul((size_t)a, (size_t)b, &ok), (size_t)c, &ok), elem, &ok);
    return ok;
}
static int pattn__all_finite_f32(const float *x, int n)
{
    int i;
    for (i = 0; i < n; ++i)
        if (!pattn__finite((double)x[i])) return 0;
    return 1;
}
static int pattn__all_finite_f64(const double *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i)
        if (!pattn__finite(x[i])) return 0;
    return 1;
}

/* ---- RNG ------------------------------------------------------------------------------- */

PATTN__INLINE uint64_t pattn__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
PATTN__INLINE uint64_t pattn__splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

PATTN_DEF void pattn_rng_seed(pattn_rng *r, uint64_t seed)
{
    uint64_t st = seed;
    if (!r) return;
    r->s[0] = pattn__splitmix64(&st);
    r->s[1] = pattn__splitmix64(&st);
    r->s[2] = pattn__splitmix64(&st);
    r->s[3] = pattn__splitmix64(&st);
}

PATTN_DEF uint64_t pattn_rng_u64(pattn_rng *r)
{
    uint64_t *s, out, t;
    if (!r) return 0;
    s = r->s;
    out = pattn__rotl(s[1] * 5, 7) * 9;
    t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = pattn__rotl(s[3], 45);
    return out;
}

PATTN_DEF void pattn_rng_jump(pattn_rng *r)
{
    static const uint64_t J[4] = {0x180ec6d33cfd0abaULL, 0xd5a61266f0c9392cULL,
                                  0xa9582618e03fc9aaULL, 0x39abdc4529b1661cULL};
    uint64_t acc[4] = {0, 0, 0, 0};
    int i, b;
    if (!r) return;
    for (i = 0; i < 4; ++i)
        for (b = 0; b < 64; ++b) {
            if (J[i] & ((uint64_t)1 << b)) {
                acc[0] ^= r->s[0]; acc[1] ^= r->s[1]; acc[2] ^= r->s[2]; acc[3] ^= r->s[3];
            }
            (void)pattn_rng_u64(r);
        }
    memcpy(r->s, acc, sizeof acc);
}

PATTN_DEF void pattn_rng_stream(pattn_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t a = seed, b = stream ^ 0x632be59bd9b4e019ULL;
    uint64_t h = pattn__splitmix64(&a) ^ pattn__rotl(pattn__splitmix64(&b), 29);
    pattn_rng_seed(r, h);
}

PATTN_DEF float pattn_rng_uniform_f32(pattn_rng *r)
{
    return (float)(pattn_rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}
PATTN_DEF double pattn_rng_uniform_f64(pattn_rng *r)
{
    return (double)(pattn_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}
PATTN_DEF uint64_t pattn_rng_below(pattn_rng *r, uint64_t n)
{
    uint64_t x, lim;
    if (n == 0 || !r) return 0;
    lim = (0 - n) % n; /* reject the 2^64 mod n lowest values: no modulo bias */
    do x = pattn_rng_u64(r); while (x < lim);
    return x % n;
}
PATTN_DEF double pattn_rng_normal_f64(pattn_rng *r)
{
    /* 1 - u lies in (0, 1], so the log is finite */
    double u1, u2;
    if (!r) return 0.0;
    u1 = 1.0 - pattn_rng_uniform_f64(r);
    u2 = pattn_rng_uniform_f64(r);
    return sqrt(-2.0 * pattn__log_d(u1)) * pattn__cos2pi_d(u2);
}

/* ---- dense linear algebra --------------------------------------------------------------- */

static int pattn__is_symmetric(const double *A, int n)
{
    int i, j;
    double mx = 0.0;
    for (i = 0; i < n * n; ++i) mx = fabs(A[i]) > mx ? fabs(A[i]) : mx;
    for (i = 0; i < n; ++i)
        for (j = 0; j < i; ++j)
            if (fabs(A[i * n + j] - A[j * n + i]) > 1e-12 * mx) return 0;
    return 1;
}

PATTN_DEF pattn_status pattn_chol(double *A, int n)
{
    int i, j, k;
    double *L;
    PATTN__REQ(A, "A is NULL");
    PATTN__REQ(n >= 1, "n is %d; it must be >= 1", n);
    PATTN__REQ((double)n * n <= 2147483647.0, "n is %d; n*n must not exceed INT_MAX", n);
    PATTN__REQ(pattn__all_finite_f64(A, (size_t)n * (size_t)n), "A holds a NaN or infinite value");
    if (!pattn__is_symmetric(A, n)) return PATTN__FAIL(PATTN_ENUM, __func__, "A is not symmetric (beyond 1e-12 relative)");
    L = (double *)PATTN_MALLOC((size_t)n * (size_t)n * sizeof(double));
    if (!L) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    memset(L, 0, (size_t)n * (size_t)n * sizeof(double));
    for (j = 0; j < n; ++j) {
        double dj = A[j * n + j];
        for (k = 0; k < j; ++k) dj -= L[j * n + k] * L[j * n + k];
        /* relative floor: a pivot that is rounding noise means "not definite" */
        if (!(dj > 1e-14 * fabs(A[j * n + j])) || !(dj > 0.0)) {
            PATTN_FREE(L);
            return PATTN__FAIL(PATTN_ENUM, __func__, "A is not positive definite (pivot %d is %g)", j, dj);
        }
        dj = sqrt(dj);
        L[j * n + j] = dj;
        for (i = j + 1; i < n; ++i) {
            double sij = A[i * n + j];
            for (k = 0; k < j; ++k) sij -= L[i * n + k] * L[j * n + k];
            L[i * n + j] = sij / dj;
        }
    }
    memcpy(A, L, (size_t)n * (size_t)n * sizeof(double));
    PATTN_FREE(L);
    return PATTN_OK;
}

PATTN_DEF pattn_status pattn_chol_solve(const double *L, int n, double *B, int nrhs)
{
    int i, k, c;
    PATTN__REQ(L && B, "%s is NULL", L ? "B" : "L");
    PATTN__REQ(n >= 1 && nrhs >= 1, "%s is %d; it must be >= 1", n < 1 ? "n" : "nrhs", n < 1 ? n : nrhs);
    PATTN__REQ((double)n * n <= 2147483647.0, "n is %d; n*n must not exceed INT_MAX", n);
    PATTN__REQ(pattn__fits(n, nrhs, 1, sizeof(double)), "n*nrhs = %d*%d would not fit in size_t", n, nrhs);
    for (i = 0; i < n; ++i)
        PATTN__REQ(pattn__finite(L[i * n + i]) && L[i * n + i] > 0.0, "L[%d][%d] is %g; a Cholesky factor's diagonal must be finite and > 0", i, i, L[i * n + i]);
    for (i = 0; i < n; ++i)
        PATTN__REQ(pattn__all_finite_f64(L + (size_t)i * n, (size_t)i + 1), "L row %d holds a NaN or infinite value", i);
    PATTN__REQ(pattn__all_finite_f64(B, (size_t)n * (size_t)nrhs), "B holds a NaN or infinite value");
    for (c = 0; c < nrhs; ++c) {
        for (i = 0; i < n; ++i) { /* L z = b */
            double s = B[(size_t)i * nrhs + c];
            for (k = 0; k < i; ++k) s -= L[i * n + k] * B[(size_t)k * nrhs + c];
            B[(size_t)i * nrhs + c] = s / L[i * n + i];
        }
        for (i = n - 1; i >= 0; --i) { /* L' x = z */
            double s = B[(size_t)i * nrhs + c];
            for (k = i + 1; k < n; ++k) s -= L[k * n + i] * B[(size_t)k * nrhs + c];
            B[(size_t)i * nrhs + c] = s / L[i * n + i];
        }
    }
    return PATTN_OK;
}

PATTN_DEF pattn_status pattn_sym_eig(const double *A, int n, double *w, double *V)
{
    double *a, *v;
    int i, j, k, p, q, sweep, ex = 0;
    pattn_status st = PATTN_ENUM;

    PATTN__REQ(A && w, "%s is NULL", A ? "w" : "A");
    PATTN__REQ(n >= 1, "n is %d; it must be >= 1", n);
    PATTN__REQ((double)n * n <= 2147483647.0, "n is %d; n*n must not exceed INT_MAX", n);
    PATTN__REQ(pattn__all_finite_f64(A, (size_t)n * (size_t)n), "A holds a NaN or infinite value");
    if (!pattn__is_symmetric(A, n)) return PATTN__FAIL(PATTN_ENUM, __func__, "A is not symmetric (beyond 1e-12 relative)");
    a = (double *)PATTN_MALLOC(2 * (size_t)n * (size_t)n * sizeof(double));
    if (!a) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    v = a + (size_t)n * n;
    { /* work on A scaled by a power of two near 1/max|A|: exact, and the convergence test
         below neither underflows nor overflows at any magnitude */
        double mx = 0.0;
        for (i = 0; i < n * n; ++i) mx = fabs(A[i]) > mx ? fabs(A[i]) : mx;
        if (mx > 0.0) (void)frexp(mx, &ex);
    }
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
            a[i * n + j] = 0.5 * (ldexp(A[i * n + j], -ex) + ldexp(A[j * n + i], -ex));
            v[i * n + j] = i == j;
        }
    for (sweep = 0; sweep < 100; ++sweep) {
        double off = 0.0, tot = 0.0;
        for (i = 0; i < n; ++i)
            for (j = 0; j < n; ++j) {
                tot += a[i * n + j] * a[i * n + j];
                if (i != j) off += a[i * n + j] * a[i * n + j];
            }
        if (off <= 1e-30 * tot || off == 0.0) { st = PATTN_OK; break; }
        for (p = 0; p < n - 1; ++p)
            for (q = p + 1; q < n; ++q) {
                double apq = a[p * n + q], theta, t, c, s;
                if (apq == 0.0) continue;
                /* the rotation angle of the classical (Rutishauser) cyclic Jacobi step */
                theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                c = 1.0 / sqrt(t * t + 1.0);
                s = t * c;
                for (k = 0; k < n; ++k) { /* columns p, q */
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (k = 0; k < n; ++k) { /* rows p, q */
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for (k = 0; k < n; ++k) {
                    double vkp = v[k * n + p], vkq = v[k * n + q];
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
    if (st == PATTN_OK) {
        /* selection sort of the eigenpairs, ascending */
        for (i = 0; i < n; ++i) w[i] = ldexp(a[i * n + i], ex);
        for (i = 0; i < n; ++i) {
            int m = i;
            for (j = i + 1; j < n; ++j)
                if (w[j] < w[m]) m = j;
            if (m != i) {
                double tw = w[i];
                w[i] = w[m];
                w[m] = tw;
                for (k = 0; k < n; ++k) {
                    double tv = v[k * n + i];
                    v[k * n + i] = v[k * n + m];
                    v[k * n + m] = tv;
                }
            }
        }
        if (V) memcpy(V, v, (size_t)n * (size_t)n * sizeof(double));
    } else {
        pattn__record(__func__, "the Jacobi iteration did not converge in 100 sweeps");
    }
    PATTN_FREE(a);
    return st;
}

/* ---- small dense helpers of the closed forms and the model constructions ---------- */

/* C = op(A) op(B) (double, d x d row-major). C must not alias A or B. */
static void pattn__la_mm(const double *A, int ta, const double *B, int tb, double *C, int d)
{
    int i, j, k;
    for (i = 0; i < d; ++i)
        for (j = 0; j < d; ++j) {
            double s = 0.0;
            for (k = 0; k < d; ++k)
                s += (ta ? A[(size_t)k * d + i] : A[(size_t)i * d + k]) *
                     (tb ? B[(size_t)j * d + k] : B[(size_t)k * d + j]);
            C[(size_t)i * d + j] = s;
        }
}

/* y = A x (ta = 0) or A' x (ta = 1); y must not alias x */
static void pattn__la_mv(const double *A, int ta, const double *x, double *y, int d)
{
    int i, k;
    for (i = 0; i < d; ++i) {
        double s = 0.0;
        for (k = 0; k < d; ++k) s += (ta ? A[(size_t)k * d + i] : A[(size_t)i * d + k]) * x[k];
        y[i] = s;
    }
}

/* sum_ij A_ij B_ij = tr(A'B) */
static double pattn__la_frob(const double *A, const double *B, size_t n)
{
    size_t i;
    double s = 0.0;
    for (i = 0; i < n; ++i) s += A[i] * B[i];
    return s;
}

static double pattn__la_quad(const double *A, const double *x, int d)
{
    int i, j;
    double s = 0.0;
    for (i = 0; i < d; ++i) {
        double r = 0.0;
        for (j = 0; j < d; ++j) r += A[(size_t)i * d + j] * x[j];
        s += x[i] * r;
    }
    return s;
}

/* exact symmetry (a + b == b + a in IEEE), so pattn_chol / pattn_sym_eig accept the result */
static void pattn__la_symm(double *A, int d)
{
    int i, j;
    for (i = 0; i < d; ++i)
        for (j = 0; j < i; ++j) {
            double a = 0.5 * (A[(size_t)i * d + j] + A[(size_t)j * d + i]);
            A[(size_t)i * d + j] = a;
            A[(size_t)j * d + i] = a;
        }
}

/* out = V diag(f) V' */
static void pattn__la_vfv(const double *V, const double *f, double *out, int d)
{
    int i, j, k;
    for (i = 0; i < d; ++i)
        for (j = 0; j <= i; ++j) {
            double s = 0.0;
            for (k = 0; k < d; ++k) s += V[(size_t)i * d + k] * f[k] * V[(size_t)j * d + k];
            out[(size_t)i * d + j] = s;
            out[(size_t)j * d + i] = s;
        }
}

static void pattn__la_eye(double *A, int d)
{
    int i;
    memset(A, 0, (size_t)d * (size_t)d * sizeof(double));
    for (i = 0; i < d; ++i) A[(size_t)i * d + i] = 1.0;
}

/* eigen-decomposition of a PSD matrix; eigenvalues that rounding pushed below 0 become 0 */
static pattn_status pattn__la_eig(const double *A, int d, double *w, double *V)
{
    int i;
    pattn_status st = pattn_sym_eig(A, d, w, V);
    if (st != PATTN_OK) return st;
    for (i = 0; i < d; ++i)
        if (w[i] < 0.0) w[i] = 0.0;
    return PATTN_OK;
}


/* Solve W x = rhs (d x d, row-major) by Gaussian elimination with partial pivoting; work
   holds d*d + d doubles. 0 if W is singular to working precision. */
static int pattn__la_solve(const double *W, int d, const double *rhs, double *x, double *work)
{
    double *a = work, *v = work + (size_t)d * d, mx = 0.0;
    int i, j, c, p;
    memcpy(a, W, (size_t)d * d * sizeof(double));
    memcpy(v, rhs, (size_t)d * sizeof(double));
    for (i = 0; i < d * d; ++i) mx = fabs(a[i]) > mx ? fabs(a[i]) : mx;
    if (!(mx > 0.0)) return 0;
    for (c = 0; c < d; ++c) {
        p = c;
        for (i = c + 1; i < d; ++i)
            if (fabs(a[i * d + c]) > fabs(a[p * d + c])) p = i;
        if (!(fabs(a[p * d + c]) > 1e-13 * mx)) return 0;
        if (p != c) {
            double tv = v[p];
            v[p] = v[c];
            v[c] = tv;
            for (j = 0; j < d; ++j) {
                double t = a[p * d + j];
                a[p * d + j] = a[c * d + j];
                a[c * d + j] = t;
            }
        }
        for (i = c + 1; i < d; ++i) {
            double f = a[i * d + c] / a[c * d + c];
            for (j = c; j < d; ++j) a[i * d + j] -= f * a[c * d + j];
            v[i] -= f * v[c];
        }
    }
    for (i = d - 1; i >= 0; --i) {
        double s = v[i];
        for (j = i + 1; j < d; ++j) s -= a[i * d + j] * x[j];
        x[i] = s / a[i * d + i];
    }
    return 1;
}

/* ---- checks shared by the generators and the theory ------------------------------- */

/* Zero norms mean the defaults |q| = |v*| = 1: copies m into *out with those filled in. */
static const pattn_cmm *pattn__cmm_resolve(const pattn_cmm *m, pattn_cmm *out)
{
    if (!m) return NULL;
    *out = *m;
    if (out->q_norm == 0.0) out->q_norm = 1.0;
    if (out->v_norm == 0.0) out->v_norm = 1.0;
    return out;
}

/* The checks on a contextual mixture model shared by the generator (theory = 0: d >= 2,
   sigma >= 0) and the theory (theory = 1: d >= 0 where 0 means no finite-d correction,
   sigma > 0). */
static int pattn__cmm_fields_ok(const char *fn, const pattn_cmm *m, int theory)
{
    long k;
    PATTN__OK(m, "m (the model) is NULL");
    PATTN__OK(m->T >= 1, "m->T is %d; it must be >= 1", m->T);
    if (theory) PATTN__OK(m->d >= 0, "m->d is %d; it must be >= 0 (0: no finite-d correction)", m->d);
    else PATTN__OK(m->d >= 2, "m->d is %d; it must be >= 2 (q and v* are orthogonal)", m->d);
    PATTN__OK(pattn__finite(m->zeta) && m->zeta > 0.0 && m->zeta <= 1.0, "m->zeta is %g; it must lie in (0, 1] (the fraction of relevant tokens)", m->zeta);
    k = lround(m->zeta * m->T);
    PATTN__OK(k >= 1, "m->zeta * m->T = %g rounds to 0 relevant tokens; it must give at least 1", m->zeta * m->T);
    if (theory) PATTN__OK(pattn__finite(m->sigma) && m->sigma > 0.0, "m->sigma is %g; it must be finite and > 0", m->sigma);
    else PATTN__OK(pattn__finite(m->sigma) && m->sigma >= 0.0, "m->sigma is %g; it must be finite and >= 0", m->sigma);
    PATTN__OK(pattn__finite(m->q_norm) && m->q_norm >= 0.0, "m->q_norm is %g; it must be finite and > 0 (0 = default 1)", m->q_norm);
    PATTN__OK(pattn__finite(m->v_norm) && m->v_norm >= 0.0, "m->v_norm is %g; it must be finite and > 0 (0 = default 1)", m->v_norm);
    PATTN__OK(pattn__finite(m->rho) && m->rho >= 0.0, "m->rho is %g; it must be finite and >= 0", m->rho);
    PATTN__OK(pattn__finite(m->eps) && m->eps >= 0.0 && m->eps <= 1.0, "m->eps is %g; it must lie in [0, 1] (a probability)", m->eps);
    PATTN__OK(pattn__finite(m->dist_q) && m->dist_q >= 0.0 && m->dist_q < 1.0, "m->dist_q is %g; it must lie in [0, 1)", m->dist_q);
    PATTN__OK(m->noise == PATTN_NOISE_ORTHO || m->noise == PATTN_NOISE_ISO, "m->noise is %d; it must be PATTN_NOISE_ORTHO or PATTN_NOISE_ISO", (int)m->noise);
    if (!theory) { /* the generator writes float tokens: every part must stay in float's range */
        PATTN__OK(m->sigma <= PATTN_CMM_MAX_SCALE && m->q_norm <= PATTN_CMM_MAX_SCALE &&
                      m->v_norm * (1.0 + m->rho) <= PATTN_CMM_MAX_SCALE,
                  "m->%s is %g; the generator's float tokens support magnitudes up to %g", m->sigma > PATTN_CMM_MAX_SCALE ? "sigma" : m->q_norm > PATTN_CMM_MAX_SCALE ? "q_norm" : "v_norm * (1 + rho)",
                  m->sigma > PATTN_CMM_MAX_SCALE ? m->sigma : m->q_norm > PATTN_CMM_MAX_SCALE ? m->q_norm : m->v_norm * (1.0 + m->rho), PATTN_CMM_MAX_SCALE);
    } else { /* the theory works with b = alpha |v| / sigma and c |q| / sigma */
        double vn = m->v_norm > 0.0 ? m->v_norm : 1.0, qn = m->q_norm > 0.0 ? m->q_norm : 1.0;
        PATTN__OK(vn * (1.0 + m->rho) / m->sigma <= 1e150 && qn / m->sigma <= 1e150,
                  "m->%s / m->sigma = %g; the theory supports signal-to-noise ratios up to 1e150", vn * (1.0 + m->rho) / m->sigma > 1e150 ? "v_norm * (1 + rho)" : "q_norm",
                  vn * (1.0 + m->rho) / m->sigma > 1e150 ? vn * (1.0 + m->rho) / m->sigma : qn / m->sigma);
    }
    return 1;
}

/* the checks of pattn_icl_mix_check, reported as the public function fn */
static pattn_status pattn__icl_mix_check(const char *fn, const pattn_icl_mix *m)
{
    int d, K, k;
    size_t dd;
    double sum = 0.0, *buf;
    pattn_status st = PATTN_OK;
    if (!m) return PATTN__FAIL(PATTN_EINVAL, fn, "m (the mixture) is NULL");
    if (m->d < 1 || m->K < 1) return PATTN__FAIL(PATTN_EINVAL, fn, "m->%s is %d; it must be >= 1", m->d < 1 ? "d" : "K", m->d < 1 ? m->d : m->K);
    if (!m->pi) return PATTN__FAIL(PATTN_EINVAL, fn, "m->pi is NULL; the K task weights are required");
    if (!m->cov_beta) return PATTN__FAIL(PATTN_EINVAL, fn, "m->cov_beta is NULL; the K task covariances (K*d*d) are required");
    d = m->d;
    K = m->K;
    dd = (size_t)d * (size_t)d;
    if ((double)K * (double)dd > 1e9) return PATTN__FAIL(PATTN_EINVAL, fn, "m->K * m->d^2 = %g is too large", (double)K * (double)dd);
    for (k = 0; k < K; ++k) {
        if (!pattn__finite(m->pi[k]) || m->pi[k] < 0.0)
            return PATTN__FAIL(PATTN_EINVAL, fn, "m->pi[%d] is %g; every weight must be finite and >= 0", k, m->pi[k]);
        sum += m->pi[k];
    }
    if (!(fabs(sum - 1.0) <= 1e-9)) return PATTN__FAIL(PATTN_EINVAL, fn, "m->pi sums to %.12g; it must sum to 1 (within 1e-9)", sum);
    if (m->mu && !pattn__all_finite_f64(m->mu, (size_t)K * (size_t)d)) return PATTN__FAIL(PATTN_EINVAL, fn, "m->mu holds a NaN or infinite value");
    if (!pattn__all_finite_f64(m->cov_beta, (size_t)K * dd)) return PATTN__FAIL(PATTN_EINVAL, fn, "m->cov_beta holds a NaN or infinite value");
    if (m->noise_var)
        for (k = 0; k < K; ++k)
            if (!pattn__finite(m->noise_var[k]) || m->noise_var[k] < 0.0)
                return PATTN__FAIL(PATTN_EINVAL, fn, "m->noise_var[%d] is %g; a noise variance must be finite and >= 0", k, m->noise_var[k]);
    if (m->cov_x && !pattn__all_finite_f64(m->cov_x, dd)) return PATTN__FAIL(PATTN_EINVAL, fn, "m->cov_x holds a NaN or infinite value");
    { /* the closed forms multiply up to three covariances and n: magnitudes beyond 1e50
         would overflow double inside them (an internal failure would name no argument) */
        size_t i, nmu = m->mu ? (size_t)K * (size_t)d : 0;
        const double lim = PATTN_ICL_MAX_MAGNITUDE;
        for (i = 0; i < nmu; ++i)
            if (fabs(m->mu[i]) > lim) return PATTN__FAIL(PATTN_EINVAL, fn, "m->mu[%lu] is %g; the closed forms support magnitudes up to %g", (unsigned long)i, m->mu[i], lim);
        for (i = 0; i < (size_t)K * dd; ++i)
            if (fabs(m->cov_beta[i]) > lim) return PATTN__FAIL(PATTN_EINVAL, fn, "m->cov_beta[%lu] is %g; the closed forms support magnitudes up to %g", (unsigned long)i, m->cov_beta[i], lim);
        for (i = 0; m->cov_x && i < dd; ++i)
            if (fabs(m->cov_x[i]) > lim) return PATTN__FAIL(PATTN_EINVAL, fn, "m->cov_x[%lu] is %g; the closed forms support magnitudes up to %g", (unsigned long)i, m->cov_x[i], lim);
        for (i = 0; m->noise_var && i < (size_t)K; ++i)
            if (m->noise_var[i] > lim) return PATTN__FAIL(PATTN_EINVAL, fn, "m->noise_var[%lu] is %g; the closed forms support magnitudes up to %g", (unsigned long)i, m->noise_var[i], lim);
    }
    buf = (double *)PATTN_MALLOC((dd + (size_t)d) * sizeof(double));
    if (!buf) return PATTN__FAIL(PATTN_ENOMEM, fn, "cannot allocate scratch for the mixture check");
    if (m->cov_x) {
        memcpy(buf, m->cov_x, dd * sizeof(double));
        st = pattn_chol(buf, d);
        if (st != PATTN_OK) pattn__record(fn, "m->cov_x is not symmetric positive definite");
    }
    for (k = 0; k < K && st == PATTN_OK; ++k) {
        double *w = buf + dd, mx;
        int i;
        st = pattn_sym_eig(m->cov_beta + (size_t)k * dd, d, w, NULL);
        if (st != PATTN_OK) {
            pattn__record(fn, "m->cov_beta[%d] is not symmetric (beyond 1e-12 relative)", k);
            break;
        }
        mx = 0.0;
        for (i = 0; i < d; ++i) mx = fabs(w[i]) > mx ? fabs(w[i]) : mx;
        /* Jacobi eigenvalues are accurate to a few ulp of |A|: anything more negative is real */
        if (w[0] < -1e-12 * mx)
            st = PATTN__FAIL(PATTN_ENUM, fn, "m->cov_beta[%d] has eigenvalue %g; it must be positive semidefinite", k, w[0]);
    }
    PATTN_FREE(buf);
    return st;
}

PATTN_DEF pattn_status pattn_icl_mix_check(const pattn_icl_mix *m) { return pattn__icl_mix_check(__func__, m); }


/* ---- the SIMD part, compiled once per path ------------------------------------------
   Everything that runs on the 8-lane abstraction sits at the end of this file, inside
   #ifdef PATTN__SIMD_PASS, and is compiled here by including this header again. With
   run-time dispatch (x86-64, gcc or clang, built without -mavx2) it is compiled twice: once
   for AVX2+FMA under a target pragma, once scalar, each name given the path's suffix by the
   list below; the public functions then pick a path per call from cpuid. Otherwise it is
   compiled once, for the path the build's flags allow. */
#ifndef PATTN_SELF_INCLUDE
#define PATTN_SELF_INCLUDE "prompt_attn.h"
#endif
#if PATTN__DISPATCH
#define PATTN__CAT_(a, b) a##b
#define PATTN__CAT(a, b) PATTN__CAT_(a, b)
#define PATTN__R(name) PATTN__CAT(name, PATTN__SUFFIX)
#define pattn__has_avx512 PATTN__R(pattn__has_avx512)
#define pattn__fmaf PATTN__R(pattn__fmaf)
#define pattn__icl_iota PATTN__R(pattn__icl_iota)
#define pattn__f8_exp_normal PATTN__R(pattn__f8_exp_normal)
#define pattn__f8_log01 PATTN__R(pattn__f8_log01)
#define pattn__f8_sincos2pi PATTN__R(pattn__f8_sincos2pi)
#define pattn__f8_boxmuller PATTN__R(pattn__f8_boxmuller)
#define pattn__i8_starstar PATTN__R(pattn__i8_starstar)
#define pattn__i8_rng8_raw PATTN__R(pattn__i8_rng8_raw)
#define pattn__i8_rng8_next PATTN__R(pattn__i8_rng8_next)
#define pattn__f16_exp_normal PATTN__R(pattn__f16_exp_normal)
#define pattn__f16_log01 PATTN__R(pattn__f16_log01)
#define pattn__f16_sincos2pi PATTN__R(pattn__f16_sincos2pi)
#define pattn__f16_boxmuller PATTN__R(pattn__f16_boxmuller)
#define pattn__v8_starstar PATTN__R(pattn__v8_starstar)
#define pattn__v8_rng8_raw PATTN__R(pattn__v8_rng8_raw)
#define pattn__v8_rng8_next PATTN__R(pattn__v8_rng8_next)
#define pattn__i16_starstar PATTN__R(pattn__i16_starstar)
#define pattn_axpy_f32 PATTN__R(pattn_axpy_f32)
#define pattn_cmm_sample PATTN__R(pattn_cmm_sample)
#define pattn_cmm_vectors PATTN__R(pattn_cmm_vectors)
#define pattn_dot_f32 PATTN__R(pattn_dot_f32)
#define pattn_exp_f32 PATTN__R(pattn_exp_f32)
#define pattn_expf PATTN__R(pattn_expf)
#define pattn_history_free PATTN__R(pattn_history_free)
#define pattn_icl_full_from_pgd PATTN__R(pattn_icl_full_from_pgd)
#define pattn_icl_full_from_reduced PATTN__R(pattn_icl_full_from_reduced)
#define pattn_icl_gen_create PATTN__R(pattn_icl_gen_create)
#define pattn_icl_gen_free PATTN__R(pattn_icl_gen_free)
#define pattn_icl_loss_grad PATTN__R(pattn_icl_loss_grad)
#define pattn_icl_model_create PATTN__R(pattn_icl_model_create)
#define pattn_icl_model_free PATTN__R(pattn_icl_model_free)
#define pattn_icl_model_init PATTN__R(pattn_icl_model_init)
#define pattn_icl_sample PATTN__R(pattn_icl_sample)
#define pattn_icl_step_seed PATTN__R(pattn_icl_step_seed)
#define pattn_icl_test_loss PATTN__R(pattn_icl_test_loss)
#define pattn_icl_train PATTN__R(pattn_icl_train)
#define pattn_icl_trainer_create PATTN__R(pattn_icl_trainer_create)
#define pattn_icl_trainer_free PATTN__R(pattn_icl_trainer_free)
#define pattn_icl_trainer_grad PATTN__R(pattn_icl_trainer_grad)
#define pattn_icl_trainer_step PATTN__R(pattn_icl_trainer_step)
#define pattn_loss_value PATTN__R(pattn_loss_value)
#define pattn_matvec_f32 PATTN__R(pattn_matvec_f32)
#define pattn_matvec_t_f32 PATTN__R(pattn_matvec_t_f32)
#define pattn_model_batch PATTN__R(pattn_model_batch)
#define pattn_model_eval PATTN__R(pattn_model_eval)
#define pattn_model_name PATTN__R(pattn_model_name)
#define pattn_model_work_size PATTN__R(pattn_model_work_size)
#define pattn_pa_features PATTN__R(pattn_pa_features)
#define pattn_pa_forward_backward_f32 PATTN__R(pattn_pa_forward_backward_f32)
#define pattn_pa_relevant_mass PATTN__R(pattn_pa_relevant_mass)
#define pattn_ridge_fit PATTN__R(pattn_ridge_fit)
#define pattn_rng8_normal_f32 PATTN__R(pattn_rng8_normal_f32)
#define pattn_rng8_seed PATTN__R(pattn_rng8_seed)
#define pattn_rng8_uniform_f32 PATTN__R(pattn_rng8_uniform_f32)
#define pattn_rng_normal_f32 PATTN__R(pattn_rng_normal_f32)
#define pattn_scale_f32 PATTN__R(pattn_scale_f32)
#define pattn_softmax_f32 PATTN__R(pattn_softmax_f32)
#define pattn_softmax_rows_f32 PATTN__R(pattn_softmax_rows_f32)
#define pattn_train PATTN__R(pattn_train)
#define pattn_traj3 PATTN__R(pattn_traj3)
#define pattn__acc2 PATTN__R(pattn__acc2)
#define pattn__axpy PATTN__R(pattn__axpy)
#define pattn__dot PATTN__R(pattn__dot)
#define pattn__dot2 PATTN__R(pattn__dot2)
#define pattn__f16 PATTN__R(pattn__f16)
#define pattn__f8 PATTN__R(pattn__f8)
#define pattn__f8_add PATTN__R(pattn__f8_add)
#define pattn__f8_bits PATTN__R(pattn__f8_bits)
#define pattn__f8_div PATTN__R(pattn__f8_div)
#define pattn__f8_exp PATTN__R(pattn__f8_exp)
#define pattn__f8_first PATTN__R(pattn__f8_first)
#define pattn__f8_fma PATTN__R(pattn__f8_fma)
#define pattn__f8_fnma PATTN__R(pattn__f8_fnma)
#define pattn__f8_from_bits PATTN__R(pattn__f8_from_bits)
#define pattn__f8_halves PATTN__R(pattn__f8_halves)
#define pattn__f8_hmax PATTN__R(pattn__f8_hmax)
#define pattn__f8_hmax1 PATTN__R(pattn__f8_hmax1)
#define pattn__f8_hsum PATTN__R(pattn__f8_hsum)
#define pattn__f8_hsum8 PATTN__R(pattn__f8_hsum8)
#define pattn__f8_load PATTN__R(pattn__f8_load)
#define pattn__f8_load_part PATTN__R(pattn__f8_load_part)
#define pattn__f8_max PATTN__R(pattn__f8_max)
#define pattn__f8_min PATTN__R(pattn__f8_min)
#define pattn__f8_mul PATTN__R(pattn__f8_mul)
#define pattn__f8_neg PATTN__R(pattn__f8_neg)
#define pattn__f8_select_ieq PATTN__R(pattn__f8_select_ieq)
#define pattn__f8_select_lt PATTN__R(pattn__f8_select_lt)
#define pattn__f8_set1 PATTN__R(pattn__f8_set1)
#define pattn__f8_sqrt PATTN__R(pattn__f8_sqrt)
#define pattn__f8_store PATTN__R(pattn__f8_store)
#define pattn__f8_store_part PATTN__R(pattn__f8_store_part)
#define pattn__f8_store_stream PATTN__R(pattn__f8_store_stream)
#define pattn__f8_sub PATTN__R(pattn__f8_sub)
#define pattn__f8_to_i8 PATTN__R(pattn__f8_to_i8)
#define pattn__f8_zero PATTN__R(pattn__f8_zero)
#define pattn__hist_push PATTN__R(pattn__hist_push)
#define pattn__rec PATTN__R(pattn__rec)
#define pattn__i16 PATTN__R(pattn__i16)
#define pattn__i8 PATTN__R(pattn__i8)
#define pattn__i8_add PATTN__R(pattn__i8_add)
#define pattn__i8_addv PATTN__R(pattn__i8_addv)
#define pattn__i8_and PATTN__R(pattn__i8_and)
#define pattn__i8_load PATTN__R(pattn__i8_load)
#define pattn__i8_or PATTN__R(pattn__i8_or)
#define pattn__i8_rotl PATTN__R(pattn__i8_rotl)
#define pattn__i8_shl PATTN__R(pattn__i8_shl)
#define pattn__i8_shr PATTN__R(pattn__i8_shr)
#define pattn__i8_store PATTN__R(pattn__i8_store)
#define pattn__i8_sub PATTN__R(pattn__i8_sub)
#define pattn__i8_to_f8 PATTN__R(pattn__i8_to_f8)
#define pattn__i8_xor PATTN__R(pattn__i8_xor)
#define pattn__icl_assemble PATTN__R(pattn__icl_assemble)
#define pattn__icl_axpy8 PATTN__R(pattn__icl_axpy8)
#define pattn__icl_block PATTN__R(pattn__icl_block)
#define pattn__icl_comb8 PATTN__R(pattn__icl_comb8)
#define pattn__icl_comb8x PATTN__R(pattn__icl_comb8x)
#define pattn__icl_copy_pad PATTN__R(pattn__icl_copy_pad)
#define pattn__icl_ctx PATTN__R(pattn__icl_ctx)
#define pattn__icl_ctx_free PATTN__R(pattn__icl_ctx_free)
#define pattn__icl_ctx_init PATTN__R(pattn__icl_ctx_init)
#define pattn__icl_dot8 PATTN__R(pattn__icl_dot8)
#define pattn__icl_dot8x8 PATTN__R(pattn__icl_dot8x8)
#define pattn__icl_dots PATTN__R(pattn__icl_dots)
#define pattn__icl_draw PATTN__R(pattn__icl_draw)
#define pattn__icl_eval PATTN__R(pattn__icl_eval)
#define pattn__icl_fast PATTN__R(pattn__icl_fast)
#define pattn__icl_fast_load PATTN__R(pattn__icl_fast_load)
#define pattn__icl_full_default PATTN__R(pattn__icl_full_default)
#define pattn__icl_full_grad PATTN__R(pattn__icl_full_grad)
#define pattn__icl_full_qv PATTN__R(pattn__icl_full_qv)
#define pattn__icl_full_set_w PATTN__R(pattn__icl_full_set_w)
#define pattn__icl_group PATTN__R(pattn__icl_group)
#define pattn__icl_load_head PATTN__R(pattn__icl_load_head)
#define pattn__icl_loss PATTN__R(pattn__icl_loss)
#define pattn__icl_lr_scales PATTN__R(pattn__icl_lr_scales)
#define pattn__icl_model_layout PATTN__R(pattn__icl_model_layout)
#define pattn__icl_model_ok PATTN__R(pattn__icl_model_ok)
#define pattn__icl_nmax PATTN__R(pattn__icl_nmax)
#define pattn__icl_nnorm PATTN__R(pattn__icl_nnorm)
#define pattn__icl_np PATTN__R(pattn__icl_np)
#define pattn__icl_opts_ok PATTN__R(pattn__icl_opts_ok)
#define pattn__icl_r8 PATTN__R(pattn__icl_r8)
#define pattn__icl_ref PATTN__R(pattn__icl_ref)
#define pattn__icl_ref_full PATTN__R(pattn__icl_ref_full)
#define pattn__icl_ref_linear PATTN__R(pattn__icl_ref_linear)
#define pattn__icl_regime_apply PATTN__R(pattn__icl_regime_apply)
#define pattn__icl_regime_mask PATTN__R(pattn__icl_regime_mask)
#define pattn__icl_regime_name PATTN__R(pattn__icl_regime_name)
#define pattn__icl_same_means PATTN__R(pattn__icl_same_means)
#define pattn__icl_scr PATTN__R(pattn__icl_scr)
#define pattn__icl_scr_clear PATTN__R(pattn__icl_scr_clear)
#define pattn__icl_scr_map PATTN__R(pattn__icl_scr_map)
#define pattn__icl_scratch PATTN__R(pattn__icl_scratch)
#define pattn__icl_size_ok PATTN__R(pattn__icl_size_ok)
#define pattn__icl_stat_len PATTN__R(pattn__icl_stat_len)
#define pattn__icl_stride PATTN__R(pattn__icl_stride)
#define pattn__icl_trainer_eval PATTN__R(pattn__icl_trainer_eval)
#define pattn__icl_type_name PATTN__R(pattn__icl_type_name)
#define pattn__max PATTN__R(pattn__max)
#define pattn__p1_xtl PATTN__R(pattn__p1_xtl)
#define pattn__p1_dotl PATTN__R(pattn__p1_dotl)
#define pattn__clamp_scores PATTN__R(pattn__clamp_scores)
#define pattn__clamp_score PATTN__R(pattn__clamp_score)
#define pattn__normal16 PATTN__R(pattn__normal16)
#define pattn__optim_apply PATTN__R(pattn__optim_apply)
#define pattn__optim_bias PATTN__R(pattn__optim_bias)
#define pattn__optim_lr PATTN__R(pattn__optim_lr)
#define pattn__optim_ok PATTN__R(pattn__optim_ok)
#define pattn__optim_resolve PATTN__R(pattn__optim_resolve)
#define pattn__p1_below32 PATTN__R(pattn__p1_below32)
#define pattn__p1_blk PATTN__R(pattn__p1_blk)
#define pattn__p1_block PATTN__R(pattn__p1_block)
#define pattn__p1_few PATTN__R(pattn__p1_few)
#define pattn__p1_cmm_ok PATTN__R(pattn__p1_cmm_ok)
#define pattn__p1_cmm_one PATTN__R(pattn__p1_cmm_one)
#define pattn__p1_cmm_qv PATTN__R(pattn__p1_cmm_qv)
#define pattn__p1_correct PATTN__R(pattn__p1_correct)
#define pattn__p1_ctx PATTN__R(pattn__p1_ctx)
#define pattn__p1_ddot PATTN__R(pattn__p1_ddot)
#define pattn__p1_default_train PATTN__R(pattn__p1_default_train)
#define pattn__p1_draws PATTN__R(pattn__p1_draws)
#define pattn__p1_draws_begin PATTN__R(pattn__p1_draws_begin)
#define pattn__p1_draws_row PATTN__R(pattn__p1_draws_row)
#define pattn__p1_fwd PATTN__R(pattn__p1_fwd)
#define pattn__p1_gen PATTN__R(pattn__p1_gen)
#define pattn__p1_layout PATTN__R(pattn__p1_layout)
#define pattn__p1_layout_of PATTN__R(pattn__p1_layout_of)
#define pattn__p1_lin_one PATTN__R(pattn__p1_lin_one)
#define pattn__p1_lb PATTN__R(pattn__p1_lb)
#define pattn__p1_logit4 PATTN__R(pattn__p1_logit4)
#define pattn__p1_xt2x2 PATTN__R(pattn__p1_xt2x2)
#define pattn__p1_loss PATTN__R(pattn__p1_loss)
#define pattn__loss_ok PATTN__R(pattn__loss_ok)
#define pattn__traj_step PATTN__R(pattn__traj_step)
#define pattn__p1_lpa_one PATTN__R(pattn__p1_lpa_one)
#define pattn__p1_matvec PATTN__R(pattn__p1_matvec)
#define pattn__p1_model_ok PATTN__R(pattn__p1_model_ok)
#define pattn__p1_mul_shift PATTN__R(pattn__p1_mul_shift)
#define pattn__p1_next_batch PATTN__R(pattn__p1_next_batch)
#define pattn__p1_noise_rows_512 PATTN__R(pattn__p1_noise_rows_512)
#define pattn__p1_pa_few PATTN__R(pattn__p1_pa_few)
#define pattn__p1_pa_one PATTN__R(pattn__p1_pa_one)
#define pattn__p1_pa_soft PATTN__R(pattn__p1_pa_soft)
#define pattn__p1_pa_stream PATTN__R(pattn__p1_pa_stream)
#define pattn__p1_pad8 PATTN__R(pattn__p1_pad8)
#define pattn__p1_params_ok PATTN__R(pattn__p1_params_ok)
#define pattn__p1_pinv_solve PATTN__R(pattn__p1_pinv_solve)
#define pattn__p1_psd_solve PATTN__R(pattn__p1_psd_solve)
#define pattn__p1_round16 PATTN__R(pattn__p1_round16)
#define pattn__p1_sa_bwd PATTN__R(pattn__p1_sa_bwd)
#define pattn__p1_sa_floats PATTN__R(pattn__p1_sa_floats)
#define pattn__p1_sa_fwd PATTN__R(pattn__p1_sa_fwd)
#define pattn__p1_scale_add PATTN__R(pattn__p1_scale_add)
#define pattn__p1_scores2 PATTN__R(pattn__p1_scores2)
#define pattn__p1_scores4 PATTN__R(pattn__p1_scores4)
#define pattn__p1_scores_512 PATTN__R(pattn__p1_scores_512)
#define pattn__p1_scratch PATTN__R(pattn__p1_scratch)
#define pattn__p1_softmax PATTN__R(pattn__p1_softmax)
#define pattn__p1_threads PATTN__R(pattn__p1_threads)
#define pattn__p1_train_opts_ok PATTN__R(pattn__p1_train_opts_ok)
#define pattn__p1_update PATTN__R(pattn__p1_update)
#define pattn__p1_xt1 PATTN__R(pattn__p1_xt1)
#define pattn__p1_xt2 PATTN__R(pattn__p1_xt2)
#define pattn__p1_xt2_512 PATTN__R(pattn__p1_xt2_512)
#define pattn__rng8_four_512 PATTN__R(pattn__rng8_four_512)
#define pattn__rng8_normal16 PATTN__R(pattn__rng8_normal16)
#define pattn__rng8_normal_512 PATTN__R(pattn__rng8_normal_512)
#define pattn__scale PATTN__R(pattn__scale)
#define pattn__softmax PATTN__R(pattn__softmax)
#define pattn__softmax_pair_512 PATTN__R(pattn__softmax_pair_512)
#define pattn__softmax_row PATTN__R(pattn__softmax_row)
#define pattn__stream_fence PATTN__R(pattn__stream_fence)
#define pattn__tailmask PATTN__R(pattn__tailmask)
#define pattn_icl_trainer PATTN__R(pattn_icl_trainer)
#define PATTN__SIMD_PASS 2
#define PATTN__SUFFIX _avx2
#include PATTN_SELF_INCLUDE
#undef PATTN__SIMD_PASS
#undef PATTN__SUFFIX
#define PATTN__SIMD_PASS 1
#define PATTN__SUFFIX _scalar
#include PATTN_SELF_INCLUDE
#undef PATTN__SIMD_PASS
#undef PATTN__SUFFIX
#undef pattn_axpy_f32
#undef pattn_cmm_sample
#undef pattn_cmm_vectors
#undef pattn_dot_f32
#undef pattn_exp_f32
#undef pattn_expf
#undef pattn_history_free
#undef pattn_icl_full_from_pgd
#undef pattn_icl_full_from_reduced
#undef pattn_icl_gen_create
#undef pattn_icl_gen_free
#undef pattn_icl_loss_grad
#undef pattn_icl_model_create
#undef pattn_icl_model_free
#undef pattn_icl_model_init
#undef pattn_icl_sample
#undef pattn_icl_step_seed
#undef pattn_icl_test_loss
#undef pattn_icl_train
#undef pattn_icl_trainer_create
#undef pattn_icl_trainer_free
#undef pattn_icl_trainer_grad
#undef pattn_icl_trainer_step
#undef pattn_loss_value
#undef pattn_matvec_f32
#undef pattn_matvec_t_f32
#undef pattn_model_batch
#undef pattn_model_eval
#undef pattn_model_name
#undef pattn_model_work_size
#undef pattn_pa_features
#undef pattn_pa_forward_backward_f32
#undef pattn_pa_relevant_mass
#undef pattn_ridge_fit
#undef pattn_rng8_normal_f32
#undef pattn_rng8_seed
#undef pattn_rng8_uniform_f32
#undef pattn_rng_normal_f32
#undef pattn_scale_f32
#undef pattn_softmax_f32
#undef pattn_softmax_rows_f32
#undef pattn_train
#undef pattn_traj3
#undef pattn_icl_trainer

/* the public entry points of the SIMD part: one path per CPU, chosen on every call */
PATTN_DEF void pattn_axpy_f32(int n, float a, const float *x, float *y)
{
    if (pattn__use_avx2()) pattn_axpy_f32_avx2(n, a, x, y);
    else pattn_axpy_f32_scalar(n, a, x, y);
}
PATTN_DEF pattn_status pattn_cmm_sample(const pattn_cmm *m, const pattn_cmm_ext *ext, uint64_t seed, uint64_t first, int n, float *X, float *y, uint8_t *mask)
{
    return pattn__use_avx2() ? pattn_cmm_sample_avx2(m, ext, seed, first, n, X, y, mask) : pattn_cmm_sample_scalar(m, ext, seed, first, n, X, y, mask);
}
PATTN_DEF pattn_status pattn_cmm_vectors(const pattn_cmm *m, const pattn_cmm_ext *ext, float *q, float *vstar)
{
    return pattn__use_avx2() ? pattn_cmm_vectors_avx2(m, ext, q, vstar) : pattn_cmm_vectors_scalar(m, ext, q, vstar);
}
PATTN_DEF float pattn_dot_f32(const float *x, const float *y, int n)
{
    return pattn__use_avx2() ? pattn_dot_f32_avx2(x, y, n) : pattn_dot_f32_scalar(x, y, n);
}
PATTN_DEF void pattn_exp_f32(const float *x, float *y, int n)
{
    if (pattn__use_avx2()) pattn_exp_f32_avx2(x, y, n);
    else pattn_exp_f32_scalar(x, y, n);
}
PATTN_DEF float pattn_expf(float x)
{
    return pattn__use_avx2() ? pattn_expf_avx2(x) : pattn_expf_scalar(x);
}
PATTN_DEF void pattn_history_free(pattn_history *h)
{
    if (pattn__use_avx2()) pattn_history_free_avx2(h);
    else pattn_history_free_scalar(h);
}
PATTN_DEF pattn_status pattn_icl_full_from_pgd(pattn_icl_model *full, const double *W)
{
    return pattn__use_avx2() ? pattn_icl_full_from_pgd_avx2(full, W) : pattn_icl_full_from_pgd_scalar(full, W);
}
PATTN_DEF pattn_status pattn_icl_full_from_reduced(pattn_icl_model *full, const double *W, const double *b)
{
    return pattn__use_avx2() ? pattn_icl_full_from_reduced_avx2(full, W, b) : pattn_icl_full_from_reduced_scalar(full, W, b);
}
PATTN_DEF pattn_status pattn_icl_gen_create(const pattn_icl_mix *m, pattn_icl_gen **out)
{
    return pattn__use_avx2() ? pattn_icl_gen_create_avx2(m, out) : pattn_icl_gen_create_scalar(m, out);
}
PATTN_DEF void pattn_icl_gen_free(pattn_icl_gen *g)
{
    if (pattn__use_avx2()) pattn_icl_gen_free_avx2(g);
    else pattn_icl_gen_free_scalar(g);
}
PATTN_DEF pattn_status pattn_icl_loss_grad(const pattn_icl_model *mdl, int n, int batch, const float *X, const float *y, const float *xq, const float *yq, const int *task, const double *wk, double *yhat, double *loss, double *grad)
{
    return pattn__use_avx2() ? pattn_icl_loss_grad_avx2(mdl, n, batch, X, y, xq, yq, task, wk, yhat, loss, grad) : pattn_icl_loss_grad_scalar(mdl, n, batch, X, y, xq, yq, task, wk, yhat, loss, grad);
}
PATTN_DEF pattn_status pattn_icl_model_create(const pattn_icl_mix *m, pattn_icl_type type, int m_prompts, pattn_icl_model **out)
{
    return pattn__use_avx2() ? pattn_icl_model_create_avx2(m, type, m_prompts, out) : pattn_icl_model_create_scalar(m, type, m_prompts, out);
}
PATTN_DEF void pattn_icl_model_free(pattn_icl_model *mdl)
{
    if (pattn__use_avx2()) pattn_icl_model_free_avx2(mdl);
    else pattn_icl_model_free_scalar(mdl);
}
PATTN_DEF pattn_status pattn_icl_model_init(pattn_icl_model *mdl, int n, uint64_t seed)
{
    return pattn__use_avx2() ? pattn_icl_model_init_avx2(mdl, n, seed) : pattn_icl_model_init_scalar(mdl, n, seed);
}
PATTN_DEF pattn_status pattn_icl_sample(const pattn_icl_gen *g, int task, int n, int batch, uint64_t seed, float *X, float *y, float *xq, float *yq, int *task_out, float *beta)
{
    return pattn__use_avx2() ? pattn_icl_sample_avx2(g, task, n, batch, seed, X, y, xq, yq, task_out, beta) : pattn_icl_sample_scalar(g, task, n, batch, seed, X, y, xq, yq, task_out, beta);
}
PATTN_DEF uint64_t pattn_icl_step_seed(uint64_t seed, long step, int task)
{
    return pattn__use_avx2() ? pattn_icl_step_seed_avx2(seed, step, task) : pattn_icl_step_seed_scalar(seed, step, task);
}
PATTN_DEF pattn_status pattn_icl_test_loss(const pattn_icl_gen *g, const pattn_icl_model *mdl, int n, int batch, uint64_t seed, double *loss_k, double *loss, double *se)
{
    return pattn__use_avx2() ? pattn_icl_test_loss_avx2(g, mdl, n, batch, seed, loss_k, loss, se) : pattn_icl_test_loss_scalar(g, mdl, n, batch, seed, loss_k, loss, se);
}
PATTN_DEF pattn_status pattn_icl_train(const pattn_icl_gen *g, pattn_icl_model *mdl, int n, const pattn_icl_train_opts *o, pattn_history *hist)
{
    return pattn__use_avx2() ? pattn_icl_train_avx2(g, mdl, n, o, hist) : pattn_icl_train_scalar(g, mdl, n, o, hist);
}
PATTN_DEF pattn_status pattn_icl_trainer_create(const pattn_icl_gen *g, pattn_icl_model *mdl, int n, const pattn_icl_train_opts *o, pattn_icl_trainer **out)
{
    return pattn__use_avx2() ? pattn_icl_trainer_create_avx2(g, mdl, n, o, (pattn_icl_trainer_avx2 **)out) : pattn_icl_trainer_create_scalar(g, mdl, n, o, (pattn_icl_trainer_scalar **)out);
}
PATTN_DEF void pattn_icl_trainer_free(pattn_icl_trainer *t)
{
    if (pattn__use_avx2()) pattn_icl_trainer_free_avx2((pattn_icl_trainer_avx2 *)t);
    else pattn_icl_trainer_free_scalar((pattn_icl_trainer_scalar *)t);
}
PATTN_DEF pattn_status pattn_icl_trainer_grad(pattn_icl_trainer *t, double *loss, double *grad)
{
    return pattn__use_avx2() ? pattn_icl_trainer_grad_avx2((pattn_icl_trainer_avx2 *)t, loss, grad) : pattn_icl_trainer_grad_scalar((pattn_icl_trainer_scalar *)t, loss, grad);
}
PATTN_DEF pattn_status pattn_icl_trainer_step(pattn_icl_trainer *t, double *loss)
{
    return pattn__use_avx2() ? pattn_icl_trainer_step_avx2((pattn_icl_trainer_avx2 *)t, loss) : pattn_icl_trainer_step_scalar((pattn_icl_trainer_scalar *)t, loss);
}
PATTN_DEF double pattn_loss_value(pattn_loss l, double f, double y, double *dldf)
{
    return pattn__use_avx2() ? pattn_loss_value_avx2(l, f, y, dldf) : pattn_loss_value_scalar(l, f, y, dldf);
}
PATTN_DEF void pattn_matvec_f32(const float *X, int T, int d, const float *p, float *s)
{
    if (pattn__use_avx2()) pattn_matvec_f32_avx2(X, T, d, p, s);
    else pattn_matvec_f32_scalar(X, T, d, p, s);
}
PATTN_DEF void pattn_matvec_t_f32(const float *X, int T, int d, const float *a, float *h)
{
    if (pattn__use_avx2()) pattn_matvec_t_f32_avx2(X, T, d, a, h);
    else pattn_matvec_t_f32_scalar(X, T, d, a, h);
}
PATTN_DEF pattn_status pattn_model_batch(pattn_model m, const pattn_params *P, pattn_loss loss, const float *X, const float *y, int n, int T, pattn_batch_out *out, void *work, size_t work_bytes)
{
    return pattn__use_avx2() ? pattn_model_batch_avx2(m, P, loss, X, y, n, T, out, work, work_bytes) : pattn_model_batch_scalar(m, P, loss, X, y, n, T, out, work, work_bytes);
}
PATTN_DEF pattn_status pattn_model_eval(pattn_model m, const pattn_params *P, const float *X, int T, float *f, float *h, float *gp, float *gW)
{
    return pattn__use_avx2() ? pattn_model_eval_avx2(m, P, X, T, f, h, gp, gW) : pattn_model_eval_scalar(m, P, X, T, f, h, gp, gW);
}
PATTN_DEF const char * pattn_model_name(pattn_model m)
{
    return pattn__use_avx2() ? pattn_model_name_avx2(m) : pattn_model_name_scalar(m);
}
PATTN_DEF size_t pattn_model_work_size(pattn_model m, int T, int d)
{
    return pattn__use_avx2() ? pattn_model_work_size_avx2(m, T, d) : pattn_model_work_size_scalar(m, T, d);
}
PATTN_DEF pattn_status pattn_pa_features(const float *X, int n, int T, int d, const float *p, const float *W, float *H)
{
    return pattn__use_avx2() ? pattn_pa_features_avx2(X, n, T, d, p, W, H) : pattn_pa_features_scalar(X, n, T, d, p, W, H);
}
PATTN_DEF float pattn_pa_forward_backward_f32(const float *X, int T, int d, const float *p, const float *v, float *h, float *grad_p)
{
    return pattn__use_avx2() ? pattn_pa_forward_backward_f32_avx2(X, T, d, p, v, h, grad_p) : pattn_pa_forward_backward_f32_scalar(X, T, d, p, v, h, grad_p);
}
PATTN_DEF pattn_status pattn_pa_relevant_mass(const float *X, const uint8_t *mask, int n, int T, int d, const float *p, const float *W, double *mass)
{
    return pattn__use_avx2() ? pattn_pa_relevant_mass_avx2(X, mask, n, T, d, p, W, mass) : pattn_pa_relevant_mass_scalar(X, mask, n, T, d, p, W, mass);
}
PATTN_DEF pattn_status pattn_ridge_fit(const float *H, const float *y, int n, int d, double lambda, double *w)
{
    return pattn__use_avx2() ? pattn_ridge_fit_avx2(H, y, n, d, lambda, w) : pattn_ridge_fit_scalar(H, y, n, d, lambda, w);
}
PATTN_DEF void pattn_rng8_normal_f32(pattn_rng8 *r, float *out, int n)
{
    if (pattn__use_avx2()) pattn_rng8_normal_f32_avx2(r, out, n);
    else pattn_rng8_normal_f32_scalar(r, out, n);
}
PATTN_DEF void pattn_rng8_seed(pattn_rng8 *r, uint64_t seed, uint64_t stream)
{
    if (pattn__use_avx2()) pattn_rng8_seed_avx2(r, seed, stream);
    else pattn_rng8_seed_scalar(r, seed, stream);
}
PATTN_DEF void pattn_rng8_uniform_f32(pattn_rng8 *r, float *out, int n)
{
    if (pattn__use_avx2()) pattn_rng8_uniform_f32_avx2(r, out, n);
    else pattn_rng8_uniform_f32_scalar(r, out, n);
}
PATTN_DEF void pattn_rng_normal_f32(pattn_rng *r, float *out, int n)
{
    if (pattn__use_avx2()) pattn_rng_normal_f32_avx2(r, out, n);
    else pattn_rng_normal_f32_scalar(r, out, n);
}
PATTN_DEF void pattn_scale_f32(int n, float a, float *x)
{
    if (pattn__use_avx2()) pattn_scale_f32_avx2(n, a, x);
    else pattn_scale_f32_scalar(n, a, x);
}
PATTN_DEF void pattn_softmax_f32(const float *x, float *y, int n)
{
    if (pattn__use_avx2()) pattn_softmax_f32_avx2(x, y, n);
    else pattn_softmax_f32_scalar(x, y, n);
}
PATTN_DEF void pattn_softmax_rows_f32(const float *x, float *y, int rows, int n)
{
    if (pattn__use_avx2()) pattn_softmax_rows_f32_avx2(x, y, rows, n);
    else pattn_softmax_rows_f32_scalar(x, y, rows, n);
}
PATTN_DEF pattn_status pattn_train(const pattn_train_opts *o, pattn_params *P, const float *X, const float *y, int n, int T, pattn_history *hist)
{
    return pattn__use_avx2() ? pattn_train_avx2(o, P, X, y, n, T, hist) : pattn_train_scalar(o, P, X, y, n, T, hist);
}
PATTN_DEF pattn_status pattn_traj3(const pattn_traj_opts *o, const float *X, const float *y, int n, int T, int d, const float *q, const float *Xte, const float *yte, const uint8_t *mask_te, int nte, float *v1, float *p2, float *v3, pattn_traj_result *res)
{
    return pattn__use_avx2() ? pattn_traj3_avx2(o, X, y, n, T, d, q, Xte, yte, mask_te, nte, v1, p2, v3, res) : pattn_traj3_scalar(o, X, y, n, T, d, q, Xte, yte, mask_te, nte, v1, p2, v3, res);
}
#else
#define PATTN__SIMD_PASS PATTN__STATIC_PASS
#include PATTN_SELF_INCLUDE
#undef PATTN__SIMD_PASS
#endif

/* ==== paper 1 theory: normal law, attention weights, feature law ============== */

PATTN_DEF double pattn_norm_cdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752440); }
PATTN_DEF double pattn_norm_pdf(double x) { return 0.39894228040143267794 * exp(-0.5 * x * x); }

/* Phi(u) - Phi(l) for l <= u, taking the difference in the tail where both are small */
static double pattn__phi_between(double l, double u)
{
    if (l >= 0.0) return pattn_norm_cdf(-l) - pattn_norm_cdf(-u);
    if (u <= 0.0) return pattn_norm_cdf(u) - pattn_norm_cdf(l);
    return 1.0 - pattn_norm_cdf(-u) - pattn_norm_cdf(l);
}

/* The binomial log-probability in constant time and to about 1e-15 relative, by Loader's
   saddle-point form: log C(n,j) p^j q^(n-j) = e(n) - e(j) - e(n-j) - D(j, np) - D(n-j, nq)
   - log(2 pi j (n-j)/n)/2, with e the error of Stirling's formula for log k! and
   D(x, m) = x log(x/m) + m - x evaluated without cancellation near x = m. (lgamma would
   cancel badly for large n, and writes the global signgam: a data race in threads.) */
static double pattn__stirlerr(double k)
{
    static const double S0 = 1.0 / 12, S1 = 1.0 / 360, S2 = 1.0 / 1260, S3 = 1.0 / 1680, S4 = 1.0 / 1188;
    double kk, lf = 0.0;
    int i;
    if (k > 15.0) {
        kk = k * k;
        return (S0 - (S1 - (S2 - (S3 - S4 / kk) / kk) / kk) / kk) / k;
    }
    for (i = 2; i <= (int)k; ++i) lf += log((double)i); /* log k!, k <= 15 */
    return lf - ((k + 0.5) * log(k) - k + 0.91893853320467274178); /* k = 0 never reaches here */
}
static double pattn__bd0(double x, double m)
{
    if (fabs(x - m) < 0.1 * (x + m)) {
        double v = (x - m) / (x + m), s = (x - m) * v, ej = 2.0 * x * v, s1;
        int j;
        v *= v;
        for (j = 1; j < 1000; ++j) {
            ej *= v;
            s1 = s + ej / (double)(2 * j + 1);
            if (s1 == s) return s1;
            s = s1;
        }
        return s;
    }
    return x * log(x / m) + m - x;
}

PATTN_DEF double pattn_binom_log_pmf(int n, int j, double p)
{
    double q, dn, dj;
    if (n < 0 || !(p >= 0.0 && p <= 1.0))
        return PATTN__FAIL_NAN(__func__, n < 0 ? "n is %g; it must be >= 0" : "p is %g; it must lie in [0, 1]", n < 0 ? (double)n : p);
    if (j < 0 || j > n) return -HUGE_VAL;
    /* the endpoints separately: 0 * log(0) would be NaN */
    if (p == 0.0) return j == 0 ? 0.0 : -HUGE_VAL;
    if (p == 1.0) return j == n ? 0.0 : -HUGE_VAL;
    if (n == 0) return 0.0;
    q = 1.0 - p;
    dn = (double)n;
    dj = (double)j;
    if (j == 0) return dn * log1p(-p);
    if (j == n) return dn * log(p);
    return (pattn__stirlerr(dn) - pattn__stirlerr(dj) - pattn__stirlerr(dn - dj)) - pattn__bd0(dj, dn * p) -
           pattn__bd0(dn - dj, dn * q) - 0.5 * (1.83787706640934548356 + log(dj) + log1p(-dj / dn));
}

PATTN_DEF void pattn_cmm_attention_weights(int T, int k, double gamma, double *w_rel,
                                           double *w_irr)
{
    double wr = PATTN__NAN, wi = PATTN__NAN;
    if (!(k >= 1 && k <= T && pattn__finite(gamma)))
        pattn__bad(__func__, !pattn__finite(gamma) ? "gamma is %g; it must be finite" : "k is %g; it must lie in [1, T]", !pattn__finite(gamma) ? gamma : (double)k);
    if (k >= 1 && k <= T && pattn__finite(gamma)) {
        /* divide Z by the larger of e^gamma and 1 so nothing overflows */
        if (k == T) {
            wr = 1.0 / (double)T;
            wi = 0.0;
        } else if (gamma >= 0.0) {
            double e = exp(-gamma);
            wr = 1.0 / ((double)k + (double)(T - k) * e);
            wi = e * wr;
        } else {
            double e = exp(gamma);
            wi = 1.0 / ((double)k * e + (double)(T - k));
            wr = e * wi;
        }
    }
    if (w_rel) *w_rel = wr;
    if (w_irr) *w_irr = wi;
}

/* every model check of the theory except kappa and lambda */
static int pattn__cmm_theory_ok(const char *fn, const pattn_cmm *m, double gamma)
{
    if (!pattn__cmm_fields_ok(fn, m, 1)) return 0;
    PATTN__OK(pattn__finite(gamma), "gamma is %g; it must be finite", gamma);
    return 1;
}

/* The J of Bin(n, eps), 0 < eps < 1, whose probability is positive in double: the range
   around the mode, found by walking out from it, so a law costs its significant atoms and
   not n (333,569 of them at n = 10^8, eps = 0.3). Each pmf comes from pattn_binom_log_pmf, in
   O(1) and to a few ulp, rather than from a running sum of n logs. */
static void pattn__binom_range(int n, double eps, int *lo, int *hi)
{
    int mode = (int)floor(((double)n + 1.0) * eps), j;
    if (mode > n) mode = n;
    for (j = mode; j > 0 && pattn_binom_log_pmf(n, j - 1, eps) > -745.2;) --j;
    *lo = j;
    for (j = mode; j < n && pattn_binom_log_pmf(n, j + 1, eps) > -745.2;) ++j;
    *hi = j;
}

/* atoms of the law of J: one when J is fixed (eps 0 or 1, no irrelevant token) or does not
   matter (rho = 0, for the feature law), else the significant range of Bin(nirr, eps) */
static int pattn__law_natoms(int nirr, double eps, int j_matters)
{
    int lo, hi;
    if (eps == 0.0 || eps == 1.0 || nirr == 0 || !j_matters) return 1;
    pattn__binom_range(nirr, eps, &lo, &hi);
    return hi - lo + 1;
}

PATTN_DEF pattn_status pattn_feature_law_eval(const pattn_cmm *m_in, double gamma,
                                              pattn_feature_law *out)
{
    pattn_feature_law L;
    pattn_cmm mc;
    const pattn_cmm *m = pattn__cmm_resolve(m_in, &mc);
    int k;
    PATTN__REQ(out, "out is NULL");
    if (!pattn__cmm_theory_ok(__func__, m, gamma)) return PATTN_EINVAL;
    k = (int)lround(m->zeta * (double)m->T);
    memset(&L, 0, sizeof L);
    L.T = m->T;
    L.k = k;
    L.n_atoms = pattn__law_natoms(m->T - k, m->eps, m->rho != 0.0);
    pattn_cmm_attention_weights(m->T, k, gamma, &L.w_rel, &L.w_irr);
    L.c = (double)k * L.w_rel;
    L.s = m->sigma * sqrt((double)k * L.w_rel * L.w_rel + (double)(m->T - k) * L.w_irr * L.w_irr);
    L.alpha0 = L.c;
    L.mean_alpha = L.c - m->rho * m->eps * (double)(m->T - k) * L.w_irr;
    L.beta = (L.alpha0 * m->v_norm / L.s) * (L.alpha0 * m->v_norm / L.s);
    L.rho = m->rho;
    L.eps = m->eps;
    L.v_norm = m->v_norm;
    *out = L;
    return PATTN_OK;
}

PATTN_DEF int pattn_feature_law_atoms(const pattn_feature_law *law, double *pi, double *b)
{
    int nirr, J, n = 0;
    double scale;
    if (!law || !pi || !b)
        return pattn__bad(__func__, "%s is NULL", !law ? "law" : !pi ? "pi" : "b");
    if (law->k < 1 || law->T < law->k || !(law->eps >= 0.0 && law->eps <= 1.0) ||
        law->n_atoms != pattn__law_natoms(law->T - law->k, law->eps, law->rho != 0.0))
        return pattn__bad(__func__, "law has T = %d, k = %d, n_atoms = %d; it must come from pattn_feature_law_eval", law->T, law->k, law->n_atoms);
    if (!(law->s > 0.0) || !pattn__finite(law->s) || !pattn__finite(law->c) ||
        !pattn__finite(law->w_irr) || !(law->rho >= 0.0) || !pattn__finite(law->rho) ||
        !(law->eps >= 0.0 && law->eps <= 1.0) || !(law->v_norm > 0.0) ||
        !pattn__finite(law->v_norm))
        return pattn__bad(__func__, "law holds an invalid field (s, c, w_irr, rho, eps or v_norm); it must come from pattn_feature_law_eval");
    nirr = law->T - law->k;
    scale = law->v_norm / law->s;
    if (law->eps == 0.0 || law->rho == 0.0 || nirr == 0 || law->eps == 1.0) {
        /* J deterministic (0 or T-k), or irrelevant to alpha */
        J = (law->eps == 1.0 && law->rho != 0.0) ? nirr : 0;
        pi[0] = 1.0;
        b[0] = (law->c - law->rho * (double)J * law->w_irr) * scale;
        return 1;
    }
    {
        int jlo, jhi;
        double tot = 0.0;
        pattn__binom_range(nirr, law->eps, &jlo, &jhi);
        for (J = jlo; J <= jhi; ++J) {
            double p = exp(pattn_binom_log_pmf(nirr, J, law->eps));
            if (!(p > 0.0)) continue; /* underflowed far tail: no mass in double */
            pi[n] = p;
            b[n] = (law->c - law->rho * (double)J * law->w_irr) * scale;
            tot += p;
            ++n;
        }
        for (J = 0; J < n; ++J) pi[J] /= tot; /* the mass of the tails beyond double */
    }
    return n;
}

/* ==== paper 1 theory: ridge head risk in the proportional limit ========== */

/* The resolvent with every quantity divided by M = max(1, kappa) max(1, ell), so that
   kappa*ell, B^2 and the discriminant stay finite at any kappa and ell; P = psi omega^2 is
   formed from the scaled parts (it stays finite where psi underflows and omega overflows). */
static void pattn__resolvent(double kappa, double ell, double *theta, double *omega, double *psi,
                             double *sqrt_delta, double *P)
{
    double M1 = kappa > 1.0 ? kappa : 1.0, M2 = ell > 1.0 ? ell : 1.0;
    double kr = kappa / M1, lr = ell / M2, klr = kr * lr; /* kappa ell / M, <= 1 */
    double Bs = klr + (1.0 - kappa) / M1 / M2, sds = hypot(Bs, 2.0 * kr * sqrt(ell) / M2);
    if (sds == 0.0) { /* kappa = 1, ell = 0: the interpolation peak */
        *theta = 0.0; *omega = 0.0; *psi = HUGE_VAL; *sqrt_delta = 0.0; *P = HUGE_VAL;
        return;
    }
    {
        /* 1 - theta = 2 / (A + sqrt(disc)), the small root of kappa u^2 - A u + 1 = 0 with
           A = kappa ell + 1 + kappa; disc = A^2 - 4 kappa expanded into non-negative terms,
           so psi keeps its relative accuracy where theta -> 1 */
        double c1 = (1.0 - kappa) / M1 / M2, c2 = (1.0 + kappa) / M1 / M2;
        double As = klr + c2, sq = sqrt(c1 * c1 + 2.0 * klr * c2 + klr * klr), den = As + sq;
        *sqrt_delta = sds * M1 * M2;
        if (Bs > 0.0) {
            *theta = 2.0 * klr / (sds + Bs);
            *omega = (sds + Bs) * M2 * (M1 / kappa) / 2.0;
            *P = (sds + Bs) / (2.0 * kappa) * ((sds + Bs) / (den * sds));
        } else {
            *theta = (sds - Bs) * M2 / 2.0; /* Bs <= 0 only when kappa > 1, so M1 = kappa */
            *omega = 2.0 * klr / (sds - Bs);
            *P = HUGE_VAL; /* not used: omega is moderate, psi omega^2 is formed directly */
        }
        *psi = 2.0 * kr / den / sds / M1 / M2 / M2;
        if (Bs <= 0.0) *P = *psi * *omega * *omega;
    }
}

PATTN_DEF void pattn_ridge_resolvent(double kappa, double ell, double *theta, double *omega,
                                     double *psi, double *sqrt_delta)
{
    double th = PATTN__NAN, om = PATTN__NAN, ps = PATTN__NAN, sd = PATTN__NAN, P;
    if (pattn__finite(kappa) && kappa > 0.0 && pattn__finite(ell) && ell >= 0.0)
        pattn__resolvent(kappa, ell, &th, &om, &ps, &sd, &P);
    else
        pattn__bad(__func__, !(pattn__finite(kappa) && kappa > 0.0) ? "kappa is %g; it must be finite and > 0" : "ell is %g; it must be finite and >= 0",
                   !(pattn__finite(kappa) && kappa > 0.0) ? kappa : ell);
    if (theta) *theta = th;
    if (omega) *omega = om;
    if (psi) *psi = ps;
    if (sqrt_delta) *sqrt_delta = sd;
}

/* pi is a probability vector: finite, non-negative, summing to 1 within 1e-9 */
static int pattn__prob_ok(const char *fn, int n, const double *pi)
{
    int i;
    double t = 0.0;
    PATTN__OK(n >= 1, "n (the number of atoms) is %d; it must be >= 1", n);
    PATTN__OK(pi, "the weights are NULL");
    for (i = 0; i < n; ++i) {
        PATTN__OK(pattn__finite(pi[i]) && pi[i] >= 0.0, "weight %d is %g; every weight must be finite and >= 0", i, pi[i]);
        t += pi[i];
    }
    PATTN__OK(fabs(t - 1.0) <= 1e-9, "the weights sum to %.12g; they must sum to 1 (within 1e-9)", t);
    return 1;
}

static int pattn__law_ok(const char *fn, int n, const double *pi, const double *b)
{
    if (!pattn__prob_ok(fn, n, pi)) return 0;
    PATTN__OK(b, "b (the atoms) is NULL");
    PATTN__OK(pattn__all_finite_f64(b, (size_t)n), "b holds a NaN or infinite value");
    return 1;
}

/* sum pi_i Phi(-b_i r), r = m/S the head's normalised signal; 1/2 without a direction */
static double pattn__law_err_r(int n, const double *pi, const double *b, double r)
{
    int i;
    double e = 0.0;
    if (r == 0.0 || r != r) return 0.5;
    for (i = 0; i < n; ++i) e += pi[i] * pattn_norm_cdf(-b[i] * r);
    return e;
}

/* sum pi_i Phi(-b_i m / S); 1/2 when the head has no signal direction (m = 0) */
static double pattn__law_err(int n, const double *pi, const double *b, double m, double S)
{
    /* no signal direction, or infinite noise (the interpolation peak): a fair coin */
    if (m == 0.0 || S == 0.0 || S == HUGE_VAL) return 0.5;
    return pattn__law_err_r(n, pi, b, m / S);
}

PATTN_DEF pattn_status pattn_ridge_limits_eval(int n, const double *pi, const double *b,
                                               double s, double v_norm, double cq, int d,
                                               double kappa, double lambda,
                                               pattn_ridge_limits *out)
{
    pattn_ridge_limits L;
    double ell, V = 0.0, o1, D, No, Po, Q, P;
    int i;
    PATTN__REQ(out, "out is NULL");
    if (!pattn__law_ok(__func__, n, pi, b)) return PATTN_EINVAL;
    PATTN__REQ(pattn__finite(s) && s > 0.0, "s is %g; it must be finite and > 0", s);
    PATTN__REQ(pattn__finite(v_norm) && v_norm > 0.0, "v_norm is %g; it must be finite and > 0", v_norm);
    PATTN__REQ(pattn__finite(cq) && cq >= 0.0, "cq is %g; it must be finite and >= 0", cq);
    PATTN__REQ(d >= 0, "d is %d; it must be >= 0 (0: no finite-d correction)", d);
    PATTN__REQ(pattn__finite(kappa) && kappa > 0.0, "kappa is %g; it must be finite and > 0", kappa);
    PATTN__REQ(pattn__finite(lambda) && lambda >= 0.0, "lambda is %g; it must be finite and >= 0", lambda);
    ell = lambda / s / s;
    PATTN__REQ(pattn__finite(ell), "lambda / s^2 = %g / %g^2 overflows double", lambda, s);
    memset(&L, 0, sizeof L);
    pattn__resolvent(kappa, ell, &L.theta, &L.omega, &L.psi, &L.sqrt_delta, &P);
    for (i = 0; i < n; ++i) {
        L.B1 += pi[i] * b[i];
        L.B2 += pi[i] * b[i] * b[i];
    }
    for (i = 0; i < n; ++i) V += pi[i] * (b[i] - L.B1) * (b[i] - L.B1);
    /* Everything is formed as ratios to 1 + omega, which may be huge (small kappa, large
       ell): D = B2 + 1 + omega, N = tau^2 D^2 = B2 + (1+omega)^2 + V (B2 + 1 + 2 omega),
       No = N / (1+omega)^2, Po = psi (1+omega)^2 (from P = psi omega^2 when omega is large),
       and S^2/m^2 = 1 + Q with Q = psi N / B1^2 = Po No / B1^2. */
    o1 = 1.0 + L.omega;
    D = L.B2 + o1;
    No = L.B2 / o1 / o1 + 1.0 + V * ((L.B2 + 1.0) / o1 / o1 + 2.0 * (L.omega / o1) / o1);
    Po = L.omega > 1.0 ? P * (o1 / L.omega) * (o1 / L.omega) : L.psi * o1 * o1;
    L.m = L.B1 / D;
    L.tau2 = No * (o1 / D) * (o1 / D);
    L.S2 = L.m * L.m + L.psi * L.tau2; /* +inf at the peak: tau2 > 0 always */
    L.wv = v_norm * L.m / s;
    L.w_norm2 = L.S2 / s / s;
    L.mse = (1.0 + L.psi) * L.tau2;
    Q = L.B1 == 0.0 ? HUGE_VAL : Po * No / L.B1 / L.B1;
    L.err = L.B1 == 0.0 ? 0.5 : pattn__law_err_r(n, pi, b, (L.B1 > 0.0 ? 1.0 : -1.0) / sqrt(1.0 + Q));
    /* finite d: the intercept-free head's offset c w'q has variance
       V_t = r^2 (1+omega) tau^2 / (d sqrt_delta), r = R/(R+omega), R = (cq/s)^2; in ratio
       form V_t/m^2 = [r (1+omega)]^2 ((1+omega)/sqrt_delta) No / (d B1^2) */
    if (d > 0 && cq > 0.0) {
        double R = (cq / s) * (cq / s), rc = R / (R + L.omega), ro = R * (o1 / (R + L.omega));
        if (L.sqrt_delta == 0.0) {
            L.var_t = HUGE_VAL;
            L.err_d = 0.5;
        } else {
            double qv = L.B1 == 0.0 ? HUGE_VAL : ro * ro * (o1 / L.sqrt_delta) * No / (double)d / L.B1 / L.B1;
            L.var_t = rc * rc * (o1 / L.sqrt_delta) * L.tau2 / (double)d;
            L.err_d = L.B1 == 0.0 ? 0.5 : pattn__law_err_r(n, pi, b, (L.B1 > 0.0 ? 1.0 : -1.0) / sqrt(1.0 + Q + qv));
        }
    } else {
        L.err_d = L.err;
    }
    L.mse_d = L.mse + L.var_t;
    *out = L;
    return PATTN_OK;
}

PATTN_DEF void pattn_ridge_nodist_risk(double beta, double kappa, double ell, double *err,
                                       double *mse)
{
    double e = PATTN__NAN, q = PATTN__NAN;
    if (!(pattn__finite(beta) && beta >= 0.0 && pattn__finite(kappa) && kappa > 0.0 && pattn__finite(ell) && ell >= 0.0))
        pattn__bad(__func__, "beta = %g, kappa = %g, ell = %g; they must be finite with beta >= 0, kappa > 0, ell >= 0", beta, kappa, ell);
    if (pattn__finite(beta) && beta >= 0.0 && pattn__finite(kappa) && kappa > 0.0 &&
        pattn__finite(ell) && ell >= 0.0) {
        double om, ps, a;
        pattn_ridge_resolvent(kappa, ell, NULL, &om, &ps, NULL);
        a = (1.0 + om) * (1.0 + om);
        if (ps == HUGE_VAL) {
            e = 0.5;
            q = HUGE_VAL;
        } else {
            e = beta == 0.0 ? 0.5 : pattn_norm_cdf(-beta / sqrt(beta + ps * (beta + a)));
            q = (1.0 + ps) * (a + beta) / ((beta + 1.0 + om) * (beta + 1.0 + om));
        }
    }
    if (err) *err = e;
    if (mse) *mse = q;
}

PATTN_DEF void pattn_ridgeless_nodist_risk(double beta, double kappa, double *err, double *mse)
{
    double e = PATTN__NAN, q = PATTN__NAN;
    if (!(pattn__finite(beta) && beta >= 0.0 && pattn__finite(kappa) && kappa > 0.0))
        pattn__bad(__func__, "beta = %g, kappa = %g; they must be finite with beta >= 0, kappa > 0", beta, kappa);
    if (pattn__finite(beta) && beta >= 0.0 && pattn__finite(kappa) && kappa > 0.0) {
        if (kappa > 1.0) {
            e = pattn_norm_cdf(-beta * sqrt((kappa - 1.0) / (1.0 + kappa * beta)));
            q = kappa / ((kappa - 1.0) * (1.0 + beta));
        } else if (kappa < 1.0) {
            e = pattn_norm_cdf(-beta * sqrt(kappa * (1.0 - kappa) / (1.0 + kappa * beta)));
            q = (1.0 + kappa * kappa * beta) /
                ((1.0 - kappa) * (1.0 + kappa * beta) * (1.0 + kappa * beta));
        } else {
            e = 0.5;
            q = HUGE_VAL;
        }
    }
    if (err) *err = e;
    if (mse) *mse = q;
}

PATTN_DEF double pattn_ridge_err_lambda_inf(int n, const double *pi, const double *b,
                                            double kappa)
{
    int i;
    double B1 = 0.0;
    if (!pattn__law_ok(__func__, n, pi, b)) return PATTN__NAN;
    if (!pattn__finite(kappa) || !(kappa > 0.0)) return PATTN__FAIL_NAN(__func__, "kappa is %g; it must be finite and > 0", kappa);
    for (i = 0; i < n; ++i) B1 += pi[i] * b[i];
    return pattn__law_err(n, pi, b, B1, sqrt(B1 * B1 + 1.0 / kappa));
}

PATTN_DEF double pattn_ridgeless_kappa_star(double beta, double x)
{
    if (!pattn__finite(beta) || !(beta > 0.0) || !pattn__finite(x) || !(x >= 0.0))
        return PATTN__FAIL_NAN(__func__, "%s", !(pattn__finite(beta) && beta > 0.0) ? "beta must be finite and > 0" : "x must be finite and >= 0");
    if (beta <= x * x) return HUGE_VAL;
    return (x * x + beta * beta) / (beta * (beta - x * x));
}

/* ==== paper 1 theory: oracles ================================================ */

/* The atoms' |b| in increasing order, with their pi and b; atoms of zero weight dropped. */
typedef struct pattn__bayes_atom {
    double a, pi, b;
} pattn__bayes_atom;

static int pattn__bayes_atom_cmp(const void *x, const void *y)
{
    double a = ((const pattn__bayes_atom *)x)->a, c = ((const pattn__bayes_atom *)y)->a;
    return a < c ? -1 : a > c;
}

/* Sign of f(x) - f(-x), f = sum pi_i phi(. - b_i), for x >= 0. Only atoms with |b| within
   R + 40 of x can matter, R the distance to the nearest one: any other term is below
   e^-800 of the largest and vanishes in double. Exponents are shifted by the largest, so
   the comparison survives where both densities underflow. *from: search hint. */
static int pattn__bayes_sign(const pattn__bayes_atom *at, int n, double x, int *from)
{
    int i, lo, hi, k = *from;
    double R, M, g = 0.0;
    while (k + 1 < n && at[k + 1].a <= x) ++k;
    while (k > 0 && at[k].a > x) --k;
    *from = k;
    R = fabs(x - at[k].a);
    if (k + 1 < n && fabs(at[k + 1].a - x) < R) R = fabs(at[k + 1].a - x);
    M = -0.5 * R * R;
    for (lo = k; lo > 0 && at[lo - 1].a >= x - R - 40.0;) --lo;
    for (hi = k; hi + 1 < n && at[hi + 1].a <= x + R + 40.0;) ++hi;
    for (i = lo; i <= hi; ++i) {
        double bp = x - at[i].b, bm = x + at[i].b, ep = -0.5 * bp * bp - M, em = -0.5 * bm * bm - M;
        /* terms below e^-746 are 0 in double: skip them rather than ask exp to underflow */
        g += at[i].pi * ((ep > -746.0 ? exp(ep) : 0.0) - (em > -746.0 ? exp(em) : 0.0));
    }
    return g > 0.0 ? 1 : (g < 0.0 ? -1 : 0);
}

/* int_l^u of the smaller density: f(-x) where f(x) > f(-x) (sgn > 0), else f(x) */
static double pattn__bayes_piece(const pattn__bayes_atom *at, int n, double l, double u, int sgn)
{
    int i;
    double t = 0.0;
    for (i = 0; i < n; ++i)
        t += at[i].pi * (sgn > 0 ? pattn__phi_between(l + at[i].b, u + at[i].b)
                                 : pattn__phi_between(l - at[i].b, u - at[i].b));
    return t;
}

PATTN_DEF double pattn_bayes_error(int n, const double *pi, const double *b)
{
    int i, m = 0, npos = 0, nneg = 0, sgn = 0, from = 0, w;
    double xprev = 0.0, lo = 0.0, err = 0.0, wend = -1.0;
    const double H = 0.005, W = 12.0;
    pattn__bayes_atom *at;
    if (!pattn__law_ok(__func__, n, pi, b)) return PATTN__NAN;
    for (i = 0; i < n; ++i) {
        if (!(pi[i] > 0.0)) continue;
        if (b[i] > 0.0) ++npos;
        if (b[i] < 0.0) ++nneg;
    }
    if (npos == 0 || nneg == 0) { /* one sign: the sign rule is optimal everywhere */
        for (i = 0; i < n; ++i) err += pi[i] * pattn_norm_cdf(-fabs(b[i]));
        return err;
    }
    at = (pattn__bayes_atom *)PATTN_MALLOC((size_t)n * sizeof *at);
    if (!at) return PATTN__FAIL_NAN(__func__, "cannot allocate %s", "scratch memory");
    for (i = 0; i < n; ++i)
        if (pi[i] > 0.0) {
            at[m].a = fabs(b[i]);
            at[m].pi = pi[i];
            at[m].b = b[i];
            ++m;
        }
    qsort(at, (size_t)m, sizeof *at, pattn__bayes_atom_cmp);
    /* Sign changes are looked for on a grid of step <= H over [|b|-W, |b|+W] around each
       atom, and by bisection between consecutive grid points (across the gaps too). Two
       changes that fall in one gap far from every atom are not seen, but there both
       densities are below phi(W) and such a pair moves the result by less than
       2 Phi(-W) = 3.6e-33. The cost depends on the number of atoms, never on their size. */
    for (w = 0; w < m; ++w) {
        double a0 = at[w].a - W > 0.0 ? at[w].a - W : 0.0, a1 = at[w].a + W, x;
        long j, N;
        if (a1 <= wend) continue;
        if (a0 < wend) a0 = wend;
        while (w + 1 < m && at[w + 1].a - W <= a1) a1 = at[++w].a + W; /* merge windows */
        N = (long)ceil((a1 - a0) / H);
        if (N < 1) N = 1;
        for (j = a0 == 0.0 || a0 != wend ? 0 : 1; j <= N; ++j) {
            int sg;
            x = j == N ? a1 : a0 + (a1 - a0) * ((double)j / (double)N);
            if (!(x > 0.0)) continue;
            sg = pattn__bayes_sign(at, m, x, &from);
            if (sg == 0) { xprev = x; continue; }
            if (sgn == 0) {
                sgn = sg;
            } else if (sg != sgn) {
                /* a sign change in (xprev, x]: bisect, then close the interval [lo, root] */
                double a = xprev, c = x, r;
                int it, f2 = from;
                for (it = 0; it < 2100; ++it) {
                    double mid = 0.5 * (a + c);
                    if (mid <= a || mid >= c) break;
                    if (pattn__bayes_sign(at, m, mid, &f2) == sgn) a = mid;
                    else c = mid;
                }
                r = 0.5 * (a + c);
                err += pattn__bayes_piece(at, m, lo, r, sgn);
                lo = r;
                sgn = sg;
            }
            xprev = x;
        }
        wend = a1;
    }
    /* f(x) = f(-x) everywhere (sgn = 0) only for a symmetric law; either density will do */
    err += pattn__bayes_piece(at, m, lo, HUGE_VAL, sgn == 0 ? 1 : sgn);
    PATTN_FREE(at);
    return err;
}

PATTN_DEF double pattn_ls_pop_error(int n, const double *pi, const double *b, double direction)
{
    int i;
    double e = 0.0, u;
    if (!pattn__law_ok(__func__, n, pi, b)) return PATTN__NAN;
    if (!pattn__finite(direction)) return PATTN__FAIL_NAN(__func__, "direction is %g; it must be finite", direction);

    if (direction == 0.0) return 0.5;
    u = direction > 0.0 ? 1.0 : -1.0;
    for (i = 0; i < n; ++i) e += pi[i] * pattn_norm_cdf(-u * b[i]);
    return e;
}

static double pattn__lin_obj(int n, const double *pi, const double *b, double u, double t)
{
    int i;
    double e = 0.0;
    for (i = 0; i < n; ++i)
        e += pi[i] * (pattn_norm_cdf(-u * b[i] - t) + pattn_norm_cdf(-u * b[i] + t));
    return 0.5 * e;
}

PATTN_DEF double pattn_best_linear_error(int n, const double *pi, const double *b,
                                         int *u_best, double *t_best)
{
    /* the coarse grid thins above 2048 atoms, so that its cost stays near 4 million terms: a
       law of that many atoms is a fine discretisation of a smooth one (T = INT_MAX gives half
       a million), and 2000 points over it would take minutes */
    int NGRID = n <= 2048 ? 2000 : (int)(4096000L / n < 64 ? 64 : 4096000L / n);
    int i, ui, bu = 1;
    double bmax = 0.0, X, best = HUGE_VAL, bt = 0.0;
    if (!pattn__law_ok(__func__, n, pi, b)) return PATTN__NAN;
    for (i = 0; i < n; ++i)
        if (fabs(b[i]) > bmax) bmax = fabs(b[i]);
    X = bmax + 8.0;
    for (ui = 0; ui < 2; ++ui) {
        double u = ui == 0 ? 1.0 : -1.0, gbest = HUGE_VAL, ta, tb, x1, x2, f1, f2;
        int gi = 0, it;
        const double ig = 0.61803398874989484820; /* 1/golden ratio */
        for (i = 0; i < NGRID; ++i) {
            double f = pattn__lin_obj(n, pi, b, u, X * (double)i / (NGRID - 1));
            if (f < gbest) { gbest = f; gi = i; }
        }
        if (gbest < best) { best = gbest; bt = X * (double)gi / (NGRID - 1); bu = (int)u; }
        /* the objective is smooth and unimodal within a grid cell of its minimum */
        ta = X * (double)(gi > 0 ? gi - 1 : 0) / (NGRID - 1);
        tb = X * (double)(gi < NGRID - 1 ? gi + 1 : NGRID - 1) / (NGRID - 1);
        x1 = tb - ig * (tb - ta);
        x2 = ta + ig * (tb - ta);
        f1 = pattn__lin_obj(n, pi, b, u, x1);
        f2 = pattn__lin_obj(n, pi, b, u, x2);
        /* to 1e-12 relative, or 1e-15 of the search range when atoms lie far out (huge b) */
        for (it = 0; it < 200 && tb - ta > 1e-12 * (1.0 + tb) && tb - ta > 1e-15 * X; ++it) {
            if (f1 <= f2) {
                tb = x2; x2 = x1; f2 = f1;
                x1 = tb - ig * (tb - ta);
                f1 = pattn__lin_obj(n, pi, b, u, x1);
            } else {
                ta = x1; x1 = x2; f1 = f2;
                x2 = ta + ig * (tb - ta);
                f2 = pattn__lin_obj(n, pi, b, u, x2);
            }
        }
        if (f1 < best) { best = f1; bt = x1; bu = (int)u; }
        if (f2 < best) { best = f2; bt = x2; bu = (int)u; }
    }
    if (u_best) *u_best = bu;
    if (t_best) *t_best = bt;
    return best;
}

/* ==== paper 1 theory: random per-sample (alpha, s) laws and the fixed point === */

/* scores are deterministic under ORTHO noise (p is parallel to q) and under any noise at
   gamma = 0 */
static int pattn__law_exact(const pattn_cmm *m, double gamma)
{
    return m->noise == PATTN_NOISE_ORTHO || gamma == 0.0;
}

PATTN_DEF int pattn_attention_law_size(const pattn_cmm *m_in, double gamma)
{
    pattn_cmm mc;
    const pattn_cmm *m = pattn__cmm_resolve(m_in, &mc);
    if (!pattn__cmm_theory_ok(__func__, m, gamma)) return 0;
    if (pattn__law_exact(m, gamma)) return pattn__law_natoms(m->T - (int)lround(m->zeta * (double)m->T), m->eps, 1);
    return PATTN_LAW_DRAWS;
}

PATTN_DEF pattn_status pattn_attention_law(const pattn_cmm *m_in, double gamma, double *p,
                                           double *alpha, double *s, double *c, int *n_atoms)
{
    int k, T, nirr, n = 0;
    double a;
    pattn_cmm mc;
    const pattn_cmm *m = pattn__cmm_resolve(m_in, &mc);
    PATTN__REQ(p && alpha && s && n_atoms, "%s is NULL", !p ? "p" : !alpha ? "alpha" : !s ? "s" : "n_atoms");
    if (!pattn__cmm_theory_ok(__func__, m, gamma)) return PATTN_EINVAL;
    T = m->T;
    k = (int)lround(m->zeta * (double)T);
    nirr = T - k;
    a = m->dist_q;
    if (pattn__law_exact(m, gamma)) {
        /* relevant tokens score gamma, distractors a gamma, the rest 0; shift by the
           largest score present so that neither Z overflows nor it underflows to 0 */
        int J, J0 = 0, J1 = nirr;
        double ptot = 0.0;
        if (m->eps == 0.0) J1 = 0;
        else if (m->eps == 1.0) J0 = nirr;
        else pattn__binom_range(nirr, m->eps, &J0, &J1);
        for (J = J0; J <= J1; ++J) {
            double pj = (m->eps == 0.0 || m->eps == 1.0) ? 1.0 : exp(pattn_binom_log_pmf(nirr, J, m->eps));
            double Z, wR, wD, w0, M = gamma, eR, eD, e0;
            if (!(pj > 0.0)) continue;
            if (J > 0 && a * gamma > M) M = a * gamma;
            if (nirr - J > 0 && 0.0 > M) M = 0.0;
            eR = exp(gamma - M);
            eD = exp(a * gamma - M);
            e0 = exp(-M);
            Z = (double)k * eR + (double)J * eD + (double)(nirr - J) * e0;
            wR = eR / Z;
            wD = eD / Z;
            w0 = e0 / Z;
            p[n] = pj;
            alpha[n] = (double)k * wR - m->rho * (double)J * wD;
            s[n] = m->sigma * sqrt((double)k * wR * wR + (double)J * wD * wD + (double)(nirr - J) * w0 * w0);
            if (c) c[n] = (double)k * wR + a * (double)J * wD;
            ptot += pj;
            ++n;
        }
        for (J = 0; J < n; ++J) p[J] /= ptot; /* the mass of the tails beyond double */
    } else {
        /* ISO noise: the q-component of each token's noise perturbs its score by
           gamma sigma xi/|q|; sample the law */
        double *sc, *xi, gs = gamma * m->sigma / m->q_norm, w = 1.0 / (double)PATTN_LAW_DRAWS;
        unsigned char *dis;
        pattn_rng r;
        int i, t;
        /* the sample costs PATTN_LAW_DRAWS * T exponentials: bounded by refusing what would
           take minutes */
        PATTN__REQ(T <= PATTN_LAW_MAX_T, "m->T is %d; a sampled law (ISO noise, gamma != 0) supports T <= %d", T, PATTN_LAW_MAX_T);
        sc = (double *)PATTN_MALLOC(2 * (size_t)T * sizeof(double));
        dis = (unsigned char *)PATTN_MALLOC((size_t)T);
        if (!sc || !dis) {
            PATTN_FREE(sc);
            PATTN_FREE(dis);
            return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
        }
        xi = sc + T;
        pattn_rng_seed(&r, PATTN_LAW_SEED);
        for (i = 0; i < PATTN_LAW_DRAWS; ++i) {
            double mx = -HUGE_VAL, Z = 0.0, aR = 0.0, aD = 0.0, w2 = 0.0, cq = 0.0;
            for (t = 0; t < T; ++t) {
                dis[t] = (unsigned char)(t >= k && m->eps > 0.0 && pattn_rng_uniform_f64(&r) < m->eps);
                xi[t] = pattn_rng_normal_f64(&r);
                sc[t] = gamma * (t < k ? 1.0 : (dis[t] ? a : 0.0)) + gs * xi[t];
                if (sc[t] > mx) mx = sc[t];
            }
            for (t = 0; t < T; ++t) {
                sc[t] = exp(sc[t] - mx);
                Z += sc[t];
            }
            for (t = 0; t < T; ++t) {
                double wt = sc[t] / Z;
                if (t < k) aR += wt;
                else if (dis[t]) aD += wt;
                w2 += wt * wt;
                cq += wt * ((t < k ? 1.0 : (dis[t] ? a : 0.0)) + m->sigma * xi[t] / m->q_norm);
            }
            p[i] = w;
            alpha[i] = aR - m->rho * aD;
            s[i] = m->sigma * sqrt(w2);
            if (c) c[i] = cq;
        }
        n = PATTN_LAW_DRAWS;
        PATTN_FREE(sc);
        PATTN_FREE(dis);
    }
    *n_atoms = n;
    return PATTN_OK;
}

/* kappa eta (lambda + E[s^2/(1+s^2 eta)]) - 1, or kappa E[s^2 eta/(1+s^2 eta)] - 1 at lambda = 0
   (the same thing, written without the 0 * inf the first form would meet) */
static double pattn__fp_gap(int n, const double *p, const double *s, double kappa,
                            double lambda, double eta)
{
    int i;
    double e = 0.0;
    for (i = 0; i < n; ++i) {
        double x = s[i] * s[i] * eta;
        e += p[i] * x / (1.0 + x);
    }
    return kappa * (eta * lambda + e) - 1.0;
}

PATTN_DEF pattn_status pattn_ridge_fixed_point(int n, const double *p, const double *a,
                                               const double *s, double kappa, double lambda,
                                               pattn_ridge_fp *out)
{
    pattn_ridge_fp F;
    int i;
    double Es2 = 0.0, smin = HUGE_VAL, err = 0.0, mse0 = 0.0, nu;
    PATTN__REQ(out, "out is NULL");
    if (!pattn__prob_ok(__func__, n, p)) return PATTN_EINVAL;
    PATTN__REQ(a && s, "%s is NULL", a ? "s" : "a");
    PATTN__REQ(pattn__all_finite_f64(a, (size_t)n), "a holds a NaN or infinite value");
    PATTN__REQ(pattn__finite(kappa) && kappa > 0.0, "kappa is %g; it must be finite and > 0", kappa);
    PATTN__REQ(pattn__finite(lambda) && lambda >= 0.0, "lambda is %g; it must be finite and >= 0", lambda);
    for (i = 0; i < n; ++i) {
        PATTN__REQ(pattn__finite(s[i]) && s[i] > 0.0, "s[%d] is %g; every noise scale must be finite and > 0", i, s[i]);
        Es2 += p[i] * s[i] * s[i];
        if (p[i] > 0.0 && s[i] < smin) smin = s[i];
    }
    memset(&F, 0, sizeof F);
    if (lambda == 0.0 && kappa <= 1.0) {
        /* minimum-norm interpolation: eta -> inf with lambda eta -> (1 - kappa)/kappa */
        double num = 0.0, den = 0.0, e2 = 0.0;
        for (i = 0; i < n; ++i) {
            num += p[i] * a[i] / (s[i] * s[i]);
            den += p[i] * a[i] * a[i] / (s[i] * s[i]);
        }
        F.eta = HUGE_VAL;
        F.w2 = num / (den + 1.0 / kappa);
        for (i = 0; i < n; ++i) {
            double r = 1.0 - F.w2 * a[i];
            e2 += p[i] * (r * r + F.w2 * F.w2 * s[i] * s[i]) / (s[i] * s[i]);
        }
        F.w3_norm2 = kappa == 1.0 ? HUGE_VAL : kappa / (1.0 - kappa) * e2;
    } else {
        /* bracket: E[s^2/(1+s^2 eta)] lies in (0, E s^2], so the root is >= lo and (lambda > 0)
           <= 1/(kappa lambda); for kappa > 1 the smallest s also bounds it above */
        double lo = 1.0 / (kappa * (lambda + Es2)), hi, eta, num = 0.0, den = 0.0, t3 = 0.0, b3 = 0.0;
        int it;
        hi = HUGE_VAL;
        if (lambda > 0.0) hi = 1.0 / (kappa * lambda);
        if (kappa > 1.0) hi = fmin(hi, 1.0 / ((kappa - 1.0) * smin * smin));
        if (!(hi >= lo) || !pattn__finite(hi)) return PATTN__FAIL(PATTN_ENUM, __func__, "no finite bracket for the fixed point (lo %g, hi %g)", lo, hi);
        for (it = 0; it < 400; ++it) {
            double mid = sqrt(lo) * sqrt(hi); /* geometric: the bracket may span decades */
            if (!(mid > lo && mid < hi)) break;
            if (pattn__fp_gap(n, p, s, kappa, lambda, mid) < 0.0) lo = mid;
            else hi = mid;
        }
        if (it == 400) return PATTN__FAIL(PATTN_ENUM, __func__, "the fixed-point bisection did not converge in 400 halvings");
        eta = 0.5 * (lo + hi);
        F.eta = eta;
        for (i = 0; i < n; ++i) {
            double Bb = 1.0 / (1.0 + s[i] * s[i] * eta);
            num += p[i] * a[i] * Bb;
            den += p[i] * (a[i] * a[i] + s[i] * s[i]) * Bb;
        }
        F.w2 = num / (den + lambda);
        for (i = 0; i < n; ++i) {
            double Bb = 1.0 / (1.0 + s[i] * s[i] * eta), r = 1.0 - F.w2 * a[i];
            double t2 = r * r + F.w2 * F.w2 * s[i] * s[i];
            t3 += p[i] * t2 * s[i] * s[i] * Bb * Bb;
            b3 += p[i] * s[i] * s[i] * Bb * Bb;
        }
        F.w3_norm2 = eta * t3 / (lambda + b3);
    }
    F.nu2 = F.w2 * F.w2 + F.w3_norm2;
    nu = sqrt(F.nu2);
    for (i = 0; i < n; ++i) {
        double r = 1.0 - a[i] * F.w2;
        if (F.w2 != 0.0) err += p[i] * pattn_norm_cdf(-a[i] * F.w2 / (s[i] * nu));
        mse0 += p[i] * r * r;
    }
    F.err = (F.w2 == 0.0 || F.nu2 == HUGE_VAL) ? 0.5 : err;
    F.mse = mse0 + Es2 * F.nu2;
    *out = F;
    return PATTN_OK;
}

/* ==== paper 1 theory: the contract ============================================ */

typedef struct pattn__atom { double b, p; } pattn__atom;

/* Laws with more atoms than this (sampled ISO laws, T in the thousands) are merged before
   the grid searches of the Bayes and best-linear oracles: atoms within PATTN__MERGE_WIDTH of
   each other in b become one at their weighted mean. The best-linear objective has
   |d^2/db_i^2| <= phi(1) per unit weight, so merging moves it by at most
   phi(1)/2 (width/2)^2 ~ 2e-7, and the Bayes error likewise to second order; measured on a
   sampled ISO law of 1e5 atoms: 5e-9 for both. */
#define PATTN__MERGE_ABOVE 4096
#define PATTN__MERGE_WIDTH 0.0025

static int pattn__atom_cmp(const void *x, const void *y)
{
    double a = ((const pattn__atom *)x)->b, c = ((const pattn__atom *)y)->b;
    return a < c ? -1 : (a > c ? 1 : 0);
}

/* merge a large law into atoms whose b lie within `width` of each other (weighted mean b):
   the oracles are smooth in b, so this moves them by O(width^2) while making their grid
   searches affordable. Returns the new count, written to pi/b (n entries available). */
static int pattn__law_merge(int n, double *pi, double *b, double width, pattn__atom *scr)
{
    int i, m = 0;
    for (i = 0; i < n; ++i) { scr[i].b = b[i]; scr[i].p = pi[i]; }
    qsort(scr, (size_t)n, sizeof *scr, pattn__atom_cmp);
    i = 0;
    while (i < n) {
        double b0 = scr[i].b, P = 0.0, Pb = 0.0;
        while (i < n && scr[i].b - b0 <= width) {
            P += scr[i].p;
            Pb += scr[i].p * scr[i].b;
            ++i;
        }
        if (P > 0.0) {
            pi[m] = P;
            b[m] = Pb / P;
            ++m;
        }
    }
    return m;
}

PATTN_DEF pattn_status pattn_head_risk_theory(const pattn_cmm *m_in, double gamma, double kappa,
                                              double lambda, pattn_head_risk *out)
{
    pattn_head_risk R;
    pattn_status st;
    int n, i;
    double *buf;
    pattn_cmm mc;
    const pattn_cmm *m = pattn__cmm_resolve(m_in, &mc);
    PATTN__REQ(out, "out is NULL");
    if (!pattn__cmm_theory_ok(__func__, m, gamma)) return PATTN_EINVAL;
    PATTN__REQ(pattn__finite(kappa) && kappa > 0.0, "kappa is %g; it must be finite and > 0 (kappa = n/d)", kappa);
    PATTN__REQ(pattn__finite(lambda) && lambda >= 0.0, "lambda is %g; it must be finite and >= 0", lambda);

    memset(&R, 0, sizeof R);
    if (m->noise == PATTN_NOISE_ORTHO && m->dist_q == 0.0) {
        pattn_feature_law F;
        pattn_ridge_limits L;
        st = pattn_feature_law_eval(m, gamma, &F);
        if (st != PATTN_OK) return pattn__via(__func__, st);
        buf = (double *)PATTN_MALLOC(2 * (size_t)F.n_atoms * sizeof(double));
        if (!buf) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
        n = pattn_feature_law_atoms(&F, buf, buf + F.n_atoms);
        st = n > 0 ? pattn_ridge_limits_eval(n, buf, buf + F.n_atoms, F.s, m->v_norm,
                                             F.c * m->q_norm, m->d, kappa, lambda, &L)
                   : PATTN_EINVAL;
        if (st != PATTN_OK) { PATTN_FREE(buf); return pattn__via(__func__, st); }
        R.c = F.c;
        R.s = F.s;
        R.mean_alpha = F.mean_alpha;
        R.theta = L.theta;
        R.omega = L.omega;
        R.psi = L.psi;
        R.wv = L.wv;
        R.w_norm2 = L.w_norm2;
        R.err = L.err;
        R.mse = L.mse;
        R.err_pop = pattn_ls_pop_error(n, buf, buf + F.n_atoms, L.B1);
        if (n > PATTN__MERGE_ABOVE) { /* only for very long sequences (T > ~4000) */
            pattn__atom *scr = (pattn__atom *)PATTN_MALLOC((size_t)n * sizeof(pattn__atom));
            if (!scr) { PATTN_FREE(buf); return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory"); }
            n = pattn__law_merge(n, buf, buf + F.n_atoms, PATTN__MERGE_WIDTH, scr);
            PATTN_FREE(scr);
        }
        R.bayes = pattn_bayes_error(n, buf, buf + F.n_atoms);
        R.err_lin = pattn_best_linear_error(n, buf, buf + F.n_atoms, NULL, NULL);
        R.var_t = L.var_t;
        R.err_d = L.err_d;
        PATTN_FREE(buf);
    } else {
        pattn_ridge_fp P;
        pattn__atom *scr;
        double *p, *al, *s, *c, *b, ma = 0.0;
        int sz = pattn_attention_law_size(m, gamma);
        buf = (double *)PATTN_MALLOC(5 * (size_t)sz * sizeof(double));
        scr = (pattn__atom *)PATTN_MALLOC((size_t)sz * sizeof(pattn__atom));
        if (!buf || !scr) { PATTN_FREE(buf); PATTN_FREE(scr); return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory"); }
        p = buf; al = p + sz; s = al + sz; c = s + sz; b = c + sz;
        st = pattn_attention_law(m, gamma, p, al, s, c, &n);
        if (st == PATTN_OK) {
            for (i = 0; i < n; ++i) b[i] = al[i] * m->v_norm; /* b holds a_i = alpha_i |v| */
            st = pattn_ridge_fixed_point(n, p, b, s, kappa, lambda, &P);
        }
        if (st != PATTN_OK) { PATTN_FREE(buf); PATTN_FREE(scr); return pattn__via(__func__, st); }
        for (i = 0; i < n; ++i) {
            R.c += p[i] * c[i];
            R.s += p[i] * s[i];
            ma += p[i] * al[i];
            b[i] /= s[i];
        }
        R.mean_alpha = ma;
        R.theta = R.omega = R.psi = PATTN__NAN;
        R.wv = m->v_norm * P.w2;
        R.w_norm2 = P.nu2;
        R.err = P.err;
        R.mse = P.mse;
        R.err_pop = pattn_ls_pop_error(n, p, b, ma);
        if (n > PATTN__MERGE_ABOVE) n = pattn__law_merge(n, p, b, PATTN__MERGE_WIDTH, scr);
        R.bayes = pattn_bayes_error(n, p, b);
        R.err_lin = pattn_best_linear_error(n, p, b, NULL, NULL);
        R.var_t = 0.0;
        R.err_d = R.err;
        PATTN_FREE(buf);
        PATTN_FREE(scr);
    }
    *out = R;
    return PATTN_OK;
}
/* ==== paper 2: closed forms & theory =================================== */

/* The problem in whitened coordinates x~ = S^{-1/2} x: beta~ = S^{1/2} beta, so S becomes I,
   Sigma_k -> S^{1/2} Sigma_k S^{1/2}, mu_k -> S^{1/2} mu_k, W -> S^{1/2} W S^{1/2},
   b -> S^{-1/2} b. Every optimum below is symmetric there (except W_JT) and diagonal in an
   eigenbasis, and the traces tr(S .) become plain traces. */
typedef struct pattn__iclt_wh {
    int d, K;
    double *sh, *sih;          /* S^{1/2}, S^{-1/2} */
    double *sig;               /* K*d*d whitened Sigma_k */
    double *mu;                /* K*d whitened mu_k */
    double *sbar, *mmu, *mm;   /* whitened Sigma-bar, M_mu, M */
    double *tk;                /* tau_k = tr(S Sigma_k) + sigma_k^2 */
    double *tmp;               /* scratch: 6 d*d + 4 d */
    double s2bar, tau, tauc;
    double *mem;
} pattn__iclt_wh;

/* m must have passed pattn_icl_mix_check */
static pattn_status pattn__iclt_whiten(const pattn_icl_mix *m, pattn__iclt_wh *w)
{
    int d = m->d, K = m->K, i, j, k;
    size_t dd = (size_t)d * (size_t)d;
    size_t tot = 5 * dd + (size_t)K * dd + (size_t)K * (size_t)d + (size_t)K + 6 * dd + 4 * (size_t)d;
    double *p, trs = 0.0, trm = 0.0;
    w->d = d;
    w->K = K;
    w->mem = p = (double *)PATTN_MALLOC(tot * sizeof(double));
    if (!p) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    w->sh = p; p += dd;
    w->sih = p; p += dd;
    w->sbar = p; p += dd;
    w->mmu = p; p += dd;
    w->mm = p; p += dd;
    w->sig = p; p += (size_t)K * dd;
    w->mu = p; p += (size_t)K * (size_t)d;
    w->tk = p; p += K;
    w->tmp = p;
    if (m->cov_x) {
        double *ev = w->tmp, *V = w->tmp + d, *f = ev + d + dd;
        pattn_status st = pattn_sym_eig(m->cov_x, d, ev, V);
        if (st == PATTN_OK && !(ev[0] > 0.0)) st = PATTN__FAIL(PATTN_ENUM, "pattn_icl_theory", "cov_x has eigenvalue %g; it must be positive definite", ev[0]);
        if (st != PATTN_OK) { PATTN_FREE(w->mem); w->mem = NULL; return st; }
        for (i = 0; i < d; ++i) f[i] = sqrt(ev[i]);
        pattn__la_vfv(V, f, w->sh, d);
        for (i = 0; i < d; ++i) f[i] = 1.0 / sqrt(ev[i]);
        pattn__la_vfv(V, f, w->sih, d);
    } else {
        pattn__la_eye(w->sh, d);
        pattn__la_eye(w->sih, d);
    }
    memset(w->sbar, 0, dd * sizeof(double));
    memset(w->mmu, 0, dd * sizeof(double));
    w->s2bar = 0.0;
    for (k = 0; k < K; ++k) {
        double *sg = w->sig + (size_t)k * dd, *mu = w->mu + (size_t)k * d, pk = m->pi[k];
        double s2 = m->noise_var ? m->noise_var[k] : 0.0;
        if (m->cov_x) {
            pattn__la_mm(w->sh, 0, m->cov_beta + (size_t)k * dd, 0, w->tmp, d);
            pattn__la_mm(w->tmp, 0, w->sh, 0, sg, d);
        } else {
            memcpy(sg, m->cov_beta + (size_t)k * dd, dd * sizeof(double));
        }
        pattn__la_symm(sg, d);
        if (m->mu) pattn__la_mv(w->sh, 0, m->mu + (size_t)k * d, mu, d);
        else memset(mu, 0, (size_t)d * sizeof(double));
        w->tk[k] = s2;
        for (i = 0; i < d; ++i) w->tk[k] += sg[(size_t)i * d + i];
        for (i = 0; i < d; ++i)
            for (j = 0; j < d; ++j) {
                w->sbar[(size_t)i * d + j] += pk * sg[(size_t)i * d + j];
                w->mmu[(size_t)i * d + j] += pk * (mu[i] * mu[j]);
            }
        w->s2bar += pk * s2;
    }
    for (i = 0; i < (int)dd; ++i) w->mm[i] = w->sbar[i] + w->mmu[i];
    for (i = 0; i < d; ++i) {
        trs += w->sbar[(size_t)i * d + i];
        trm += w->mm[(size_t)i * d + i];
    }
    w->tau = trm + w->s2bar;
    w->tauc = trs + w->s2bar;
    return PATTN_OK;
}

/* lambda/((n+1)lambda + t): the eigenvalue of the optimal W~ along an eigenvector of the
   fitted second moment; 0/0 (nothing to fit, no noise) -> 0 */
static double pattn__iclt_wgain(double lam, double t, int n)
{
    double den = ((double)n + 1.0) * lam + t;
    return den > 0.0 ? lam / den : 0.0;
}

/* lambda - n lambda^2/((n+1)lambda + t) written without cancellation */
static double pattn__iclt_rterm(double lam, double t, int n)
{
    double den = ((double)n + 1.0) * lam + t;
    return den > 0.0 ? lam * (lam + t) / den : 0.0;
}

/* W~_JT = Sigma~ G^{-1}, G = (n+1) Sigma~ + M~_mu + tau I (SPD when tau > 0). scratch: d*d */
static pattn_status pattn__iclt_wjt(const pattn__iclt_wh *w, int n, double *Wt, double *G)
{
    int d = w->d, i, j;
    size_t dd = (size_t)d * (size_t)d;
    pattn_status st;
    if (!(w->tau > 0.0)) { /* y = 0 almost surely: nothing to learn */
        memset(Wt, 0, dd * sizeof(double));
        return PATTN_OK;
    }
    for (i = 0; i < (int)dd; ++i) G[i] = ((double)n + 1.0) * w->sbar[i] + w->mmu[i];
    for (i = 0; i < d; ++i) G[(size_t)i * d + i] += w->tau;
    st = pattn_chol(G, d);
    if (st != PATTN_OK) return st;
    /* G and Sigma~ are symmetric: W~' = G^{-1} Sigma~ is one Cholesky solve */
    memcpy(Wt, w->sbar, dd * sizeof(double));
    st = pattn_chol_solve(G, d, Wt, d);
    if (st != PATTN_OK) return st;
    for (i = 0; i < d; ++i)
        for (j = 0; j < i; ++j) {
            double t = Wt[(size_t)i * d + j];
            Wt[(size_t)i * d + j] = Wt[(size_t)j * d + i];
            Wt[(size_t)j * d + i] = t;
        }
    return PATTN_OK;
}

/* The risks are homogeneous of degree 2 in y: scaling mu by 2^-h and cov_beta, noise_var
   by 2^-2h scales every risk by 2^-2h, exactly. The closed forms run on the copy whose
   largest mu^2, cov_beta or noise entry is near 1, so no product underflows (mixtures at a
   1e-200 scale kept their order of regimes only up to about 1e-150 without it). */
static pattn_status pattn__icl_mix_scaled(const char *fn, const pattn_icl_mix *m, pattn_icl_mix *ms,
                                          double **mem, int *h)
{
    size_t d = (size_t)m->d, K = (size_t)m->K, i;
    double mx = 0.0, *p;
    int e;
    *ms = *m;
    *mem = NULL;
    *h = 0;
    for (i = 0; m->mu && i < K * d; ++i) mx = m->mu[i] * m->mu[i] > mx ? m->mu[i] * m->mu[i] : mx;
    for (i = 0; i < K * d * d; ++i) mx = fabs(m->cov_beta[i]) > mx ? fabs(m->cov_beta[i]) : mx;
    for (i = 0; m->noise_var && i < K; ++i) mx = m->noise_var[i] > mx ? m->noise_var[i] : mx;
    if (!(mx > 0.0)) return PATTN_OK;
    (void)frexp(mx, &e);
    *h = e / 2;
    if (*h == 0) return PATTN_OK;
    p = *mem = (double *)PATTN_MALLOC((K * d + K * d * d + K) * sizeof(double));
    if (!p) return PATTN__FAIL(PATTN_ENOMEM, fn, "cannot allocate %s", "scratch memory");
    if (m->mu) {
        for (i = 0; i < K * d; ++i) p[i] = ldexp(m->mu[i], -*h);
        ms->mu = p;
    }
    p += K * d;
    for (i = 0; i < K * d * d; ++i) p[i] = ldexp(m->cov_beta[i], -2 * *h);
    ms->cov_beta = p;
    p += K * d * d;
    if (m->noise_var) {
        for (i = 0; i < K; ++i) p[i] = ldexp(m->noise_var[i], -2 * *h);
        ms->noise_var = p;
    }
    return PATTN_OK;
}

PATTN_DEF pattn_status pattn_icl_theory(const pattn_icl_mix *m, int n, pattn_icl_risks *out)
{
    pattn__iclt_wh w;
    pattn_icl_risks r;
    pattn_status st;
    int d, K, i, k;
    size_t dd;
    double *lam, *V, *A, *B, *C, *u, *smem;
    pattn_icl_mix ms;
    int h;
    PATTN__REQ(out, "out is NULL");
    PATTN__REQ(n >= 1, "n (the context length) is %d; it must be >= 1", n);
    st = pattn__icl_mix_check(__func__, m);
    if (st != PATTN_OK) return st;
    st = pattn__icl_mix_scaled(__func__, m, &ms, &smem, &h);
    if (st != PATTN_OK) return st;
    m = &ms;
    st = pattn__iclt_whiten(m, &w);
    if (st != PATTN_OK) { PATTN_FREE(smem); return st; }
    d = m->d;
    K = m->K;
    dd = (size_t)d * (size_t)d;
    V = w.tmp;
    A = V + dd;
    B = A + dd;
    C = B + dd;
    lam = w.tmp + 6 * dd;
    u = lam + d;

    /* PT and FT, diagonal in the eigenbasis of M~:
       L_PT = sigma2bar + sum_i lam_i (lam_i + tau)/((n+1) lam_i + tau);
       L_FT adds back only the covariance part: sum_i [e_i^2 v_i'Sigma~v_i + n w_i^2 (lam_i + tau)]
       with w_i the gain and e_i = 1 - n w_i, the prompt cancelling the mean part exactly. */
    st = pattn__la_eig(w.mm, d, lam, V);
    if (st != PATTN_OK) goto done;
    r.pt = r.ft = w.s2bar;
    for (i = 0; i < d; ++i) {
        double g = pattn__iclt_wgain(lam[i], w.tau, n);
        double e = 1.0 - (double)n * g, sii;
        int j;
        for (j = 0; j < d; ++j) u[j] = V[(size_t)j * d + i];
        sii = pattn__la_quad(w.sbar, u, d);
        r.pt += pattn__iclt_rterm(lam[i], w.tau, n);
        r.ft += e * e * sii + (double)n * g * g * (lam[i] + w.tau);
    }

    /* JT: W~ not symmetric; the risk profiled over prompts is
       sigma2bar + tr(E'E Sigma~) + n tr(W'W M~) + n tau |W|_F^2, E = nW - I, a sum of
       non-negative terms (equal to sigma2bar + tr Sigma~ - n tr(W Sigma~) at the optimum). */
    st = pattn__iclt_wjt(&w, n, A, B);
    if (st != PATTN_OK) goto done;
    for (i = 0; i < (int)dd; ++i) B[i] = (double)n * A[i];
    for (i = 0; i < d; ++i) B[(size_t)i * d + i] -= 1.0;
    pattn__la_mm(B, 1, B, 0, C, d);
    r.jt = w.s2bar + pattn__la_frob(C, w.sbar, dd);
    pattn__la_mm(A, 1, A, 0, C, d);
    r.jt += (double)n * pattn__la_frob(C, w.mm, dd) + (double)n * w.tau * pattn__la_frob(A, A, dd);

    /* dec: like PT with M -> Sigma-bar, tau -> tau_c */
    st = pattn__la_eig(w.sbar, d, lam, NULL);
    if (st != PATTN_OK) goto done;
    r.dec = w.s2bar;
    for (i = 0; i < d; ++i) r.dec += pattn__iclt_rterm(lam[i], w.tauc, n);

    /* LB: the same per task */
    r.lb = 0.0;
    for (k = 0; k < K; ++k) {
        double lk = m->noise_var ? m->noise_var[k] : 0.0;
        st = pattn__la_eig(w.sig + (size_t)k * dd, d, lam, NULL);
        if (st != PATTN_OK) goto done;
        for (i = 0; i < d; ++i) lk += pattn__iclt_rterm(lam[i], w.tk[k], n);
        r.lb += m->pi[k] * lk;
    }
    r.ey2 = w.tau;
    r.ey2 = ldexp(r.ey2, 2 * h); r.pt = ldexp(r.pt, 2 * h); r.ft = ldexp(r.ft, 2 * h);
    r.jt = ldexp(r.jt, 2 * h); r.dec = ldexp(r.dec, 2 * h); r.lb = ldexp(r.lb, 2 * h);
    if (!pattn__finite(r.ey2) || !pattn__finite(r.pt) || !pattn__finite(r.ft) ||
        !pattn__finite(r.jt) || !pattn__finite(r.dec) || !pattn__finite(r.lb))
        st = PATTN__FAIL(PATTN_ENUM, __func__, "a result is not finite: the inputs' magnitudes overflow double");
    else
        *out = r;
done:
    PATTN_FREE(w.mem);
    PATTN_FREE(smem);
    return st;
}

PATTN_DEF pattn_status pattn_icl_theory_iso(int d, int n, int K, const double *pi,
                                            const double *mk, const double *s, double sigma2,
                                            pattn_icl_risks *out)
{
    int k;
    double sum = 0.0, sb = 0.0, m2 = 0.0, lam1, tau, ds, d1, dn = (double)n, dd = (double)d;
    pattn_icl_risks r;
    PATTN__REQ(out && pi && s, "%s is NULL", !out ? "out" : !pi ? "pi" : "s");
    PATTN__REQ(d >= 1 && n >= 1 && K >= 1, "%s is %d; it must be >= 1", d < 1 ? "d" : n < 1 ? "n" : "K", d < 1 ? d : n < 1 ? n : K);
    PATTN__REQ(pattn__finite(sigma2) && sigma2 >= 0.0, "sigma2 is %g; it must be finite and >= 0", sigma2);
    for (k = 0; k < K; ++k) {
        PATTN__REQ(pattn__finite(pi[k]) && pi[k] >= 0.0, "pi[%d] is %g; every weight must be finite and >= 0", k, pi[k]);
        PATTN__REQ(pattn__finite(s[k]) && s[k] >= 0.0, "s[%d] is %g; it must be finite and >= 0", k, s[k]);
        PATTN__REQ(!mk || pattn__finite(mk[k]), "mk[%d] is %g; it must be finite", k, mk[k]);
        sum += pi[k];
    }
    PATTN__REQ(fabs(sum - 1.0) <= 1e-9, "pi sums to %.12g; it must sum to 1 (within 1e-9)", sum);

    for (k = 0; k < K; ++k) {
        sb += pi[k] * s[k];
        if (mk) m2 += pi[k] * mk[k] * mk[k];
    }
    lam1 = sb + dd * m2;
    tau = dd * (sb + m2) + sigma2;
    ds = (dn + 1.0) * sb + tau;
    d1 = (dn + 1.0) * lam1 + tau;
    r.ey2 = tau;
    /* the printed printed forms, kept literal so that they check the matrix code */
    r.pt = sigma2;
    if (ds > 0.0) r.pt += (dd - 1.0) * sb * (sb + tau) / ds;
    if (d1 > 0.0) r.pt += lam1 * (lam1 + tau) / d1;
    r.ft = r.pt;
    if (d1 > 0.0) r.ft -= dd * m2 * ((lam1 + tau) / d1) * ((lam1 + tau) / d1);
    r.jt = sigma2 + dd * sb;
    if (sb > 0.0) r.jt -= dn * sb * sb * ((dd - 1.0) / ds + 1.0 / (ds + dd * m2));
    r.dec = sigma2;
    if (sb > 0.0 || sigma2 > 0.0)
        r.dec += dd * sb * ((dd + 1.0) * sb + sigma2) / ((dn + 1.0 + dd) * sb + sigma2);
    r.lb = sigma2;
    for (k = 0; k < K; ++k)
        if (s[k] > 0.0 || sigma2 > 0.0)
            r.lb += pi[k] * dd * s[k] * ((dd + 1.0) * s[k] + sigma2) / ((dn + 1.0 + dd) * s[k] + sigma2);
    if (!pattn__finite(r.ey2) || !pattn__finite(r.pt) || !pattn__finite(r.ft) ||
        !pattn__finite(r.jt) || !pattn__finite(r.dec) || !pattn__finite(r.lb))
        return PATTN__FAIL(PATTN_ENUM, __func__, "a result is not finite: the inputs' magnitudes overflow double");
    *out = r;
    return PATTN_OK;
}

/* FT prompts in whitened coordinates, given M~ = V diag(lam) V': b~_k = mu~_k + tau M~^+ mu~_k.
   mu~_k lies in range(M~) (M~ >= pi_k mu~ mu~'), so the pseudo-inverse is exact; a component
   dropped on an eigenvalue below 1e-12 of the largest costs at most that eigenvalue in risk.
   Scratch: w->tmp past V, A and lam. */
static void pattn__iclt_ft_prompts(const pattn__iclt_wh *w, const double *V, double *lam, double *bt)
{
    int d = w->d, i, k;
    double *f = lam + d, *c = f + d, thr = 1e-12 * lam[d - 1];
    for (i = 0; i < d; ++i) f[i] = lam[i] > thr && lam[i] > 0.0 ? w->tau / lam[i] : 0.0;
    for (k = 0; k < w->K; ++k) {
        double *mu = w->mu + (size_t)k * d, *bk = bt + (size_t)k * d;
        pattn__la_mv(V, 1, mu, c, d);
        for (i = 0; i < d; ++i) c[i] *= f[i];
        pattn__la_mv(V, 0, c, bk, d);
        for (i = 0; i < d; ++i) bk[i] += mu[i];
    }
}

/* JT prompts in whitened coordinates: b~_k = mu~_k + (M~_mu + tau I) Sigma~^+ mu~_k. They
   attain L_JT iff every mu~_k lies in range(Sigma~) (then W~ b~_k = (I - n W~) mu~_k
   exactly); otherwise the optimum is an infimum and this is PATTN_ENUM. Fills V and lam with
   the eigen-decomposition of Sigma~. */
static pattn_status pattn__iclt_jt_prompts(const pattn__iclt_wh *w, double *V, double *lam, double *bt)
{
    int d = w->d, i, k;
    double *c = lam + 2 * d, *z = c + d, thr;
    pattn_status st = pattn__la_eig(w->sbar, d, lam, V);
    if (st != PATTN_OK) return st;
    thr = 1e-12 * lam[d - 1];
    for (k = 0; k < w->K; ++k) {
        double *mu = w->mu + (size_t)k * d, *bk = bt + (size_t)k * d;
        double nmu = sqrt(pattn__la_frob(mu, mu, (size_t)d));
        pattn__la_mv(V, 1, mu, c, d);
        for (i = 0; i < d; ++i) {
            if (lam[i] > thr && lam[i] > 0.0) c[i] /= lam[i];
            else if (fabs(c[i]) > 1e-8 * nmu)
                return PATTN__FAIL(PATTN_ENUM, "pattn_icl_optimum", "task %d's mean leaves the range of Sigma-bar: the JT optimum is an infimum no finite prompt attains (pass b = NULL for W alone)", k);
            else c[i] = 0.0;
        }
        pattn__la_mv(V, 0, c, z, d);
        pattn__la_mv(w->mmu, 0, z, bk, d);
        for (i = 0; i < d; ++i) bk[i] += mu[i] + w->tau * z[i];
    }
    return PATTN_OK;
}

PATTN_DEF pattn_status pattn_icl_optimum(const pattn_icl_mix *m, int n, pattn_icl_regime regime, double *W,
                                         double *b)
{
    pattn__iclt_wh w;
    pattn_status st;
    int d, K, i, k, nw;
    size_t dd;
    double *Wt, *bt, *V, *A, *lam, *f, *c;
    PATTN__REQ(W, "W is NULL");
    PATTN__REQ(n >= 1, "n (the context length) is %d; it must be >= 1", n);
    PATTN__REQ(regime >= PATTN_ICL_PT && regime <= PATTN_ICL_LB, "regime is %d; it must be a pattn_icl_regime value", (int)regime);
    st = pattn__icl_mix_check(__func__, m);
    if (st != PATTN_OK) return st;
    st = pattn__iclt_whiten(m, &w);
    if (st != PATTN_OK) return st;
    d = m->d;
    K = m->K;
    dd = (size_t)d * (size_t)d;
    nw = regime == PATTN_ICL_LB ? K : 1;
    Wt = (double *)PATTN_MALLOC(((size_t)nw * dd + (size_t)K * (size_t)d) * sizeof(double));
    if (!Wt) { PATTN_FREE(w.mem); return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory"); }
    bt = Wt + (size_t)nw * dd;
    memset(bt, 0, (size_t)K * (size_t)d * sizeof(double));
    V = w.tmp;
    A = V + dd;
    lam = w.tmp + 6 * dd;
    f = lam + d;
    c = f + d;

    switch (regime) {
    case PATTN_ICL_PT:
    case PATTN_ICL_FT:
        st = pattn__la_eig(w.mm, d, lam, V);
        if (st != PATTN_OK) break;
        for (i = 0; i < d; ++i) f[i] = pattn__iclt_wgain(lam[i], w.tau, n);
        pattn__la_vfv(V, f, Wt, d);
        if (regime == PATTN_ICL_FT && b) pattn__iclt_ft_prompts(&w, V, lam, bt);
        break;
    case PATTN_ICL_JT:
        st = pattn__iclt_wjt(&w, n, Wt, A);
        if (st == PATTN_OK && b) st = pattn__iclt_jt_prompts(&w, V, lam, bt);
        break;
    case PATTN_ICL_DEC:
        st = pattn__la_eig(w.sbar, d, lam, V);
        if (st != PATTN_OK) break;
        for (i = 0; i < d; ++i) f[i] = pattn__iclt_wgain(lam[i], w.tauc, n);
        pattn__la_vfv(V, f, Wt, d);
        break;
    default: /* PATTN_ICL_LB */
        for (k = 0; k < K && st == PATTN_OK; ++k) {
            st = pattn__la_eig(w.sig + (size_t)k * dd, d, lam, V);
            if (st != PATTN_OK) break;
            for (i = 0; i < d; ++i) f[i] = pattn__iclt_wgain(lam[i], w.tk[k], n);
            pattn__la_vfv(V, f, Wt + (size_t)k * dd, d);
        }
        break;
    }
    if (st == PATTN_OK) {
        /* back to the caller's coordinates: W = S^{-1/2} W~ S^{-1/2}, b = S^{1/2} b~ */
        for (k = 0; k < nw; ++k) {
            pattn__la_mm(w.sih, 0, Wt + (size_t)k * dd, 0, A, d);
            pattn__la_mm(A, 0, w.sih, 0, Wt + (size_t)k * dd, d);
        }
        if (b) {
            if (regime == PATTN_ICL_FT || regime == PATTN_ICL_JT) {
                for (k = 0; k < K; ++k) {
                    memcpy(c, bt + (size_t)k * d, (size_t)d * sizeof(double));
                    pattn__la_mv(w.sh, 0, c, bt + (size_t)k * d, d);
                }
            } else if ((regime == PATTN_ICL_DEC || regime == PATTN_ICL_LB) && m->mu) {
                memcpy(bt, m->mu, (size_t)K * (size_t)d * sizeof(double));
            }
        }
        if (!pattn__all_finite_f64(Wt, (size_t)nw * dd + (size_t)K * (size_t)d)) st = PATTN__FAIL(PATTN_ENUM, __func__, "a result is not finite: the inputs' magnitudes overflow double");
    }
    if (st == PATTN_OK) {
        memcpy(W, Wt, (size_t)nw * dd * sizeof(double));
        if (b) memcpy(b, bt, (size_t)K * (size_t)d * sizeof(double));
    }
    PATTN_FREE(Wt);
    PATTN_FREE(w.mem);
    return st;
}

/* ---- exact risk of any parameters -------------------------------------------------------- */

/* Per-W pieces of the risk, in the caller's coordinates: E = nWS - I, P1 = E'SE,
   P2 = S W'SW S, *trA = tr(W'SW S). Scratch t1, t2: d*d each. */
static void pattn__iclt_prep(const double *S, const double *W, int d, int n, double *E,
                             double *P1, double *P2, double *trA, double *t1, double *t2)
{
    int i;
    size_t dd = (size_t)d * (size_t)d;
    pattn__la_mm(S, 0, W, 0, t1, d);  /* SW */
    pattn__la_mm(W, 1, t1, 0, t2, d); /* A = W'SW */
    *trA = pattn__la_frob(t2, S, dd);
    pattn__la_mm(S, 0, t2, 0, t1, d);
    pattn__la_mm(t1, 0, S, 0, P2, d);
    pattn__la_mm(W, 0, S, 0, t1, d);
    for (i = 0; i < (int)dd; ++i) E[i] = (double)n * t1[i];
    for (i = 0; i < d; ++i) E[(size_t)i * d + i] -= 1.0;
    pattn__la_mm(S, 0, E, 0, t1, d);
    pattn__la_mm(E, 1, t1, 0, P1, d);
}

/* Risk of task k, split as E[(W g - beta)'S(W g - beta)] + sigma^2 with g = X'y + b into the
   mean part (nWS - I)beta + W b, the Wishart fluctuation W(X'X - nS)beta and the noise
   W X'xi, which are uncorrelated: every term is a non-negative quadratic form. mu, bk may be
   NULL (zero). Scratch v, u: d each. */
static double pattn__iclt_task(const double *S, const double *W, const double *E,
                               const double *P1, const double *P2, double trA,
                               const double *Sig, const double *mu, const double *bk,
                               double s2, int d, int n, double *v, double *u)
{
    int i;
    size_t dd = (size_t)d * (size_t)d;
    double trSR = pattn__la_frob(S, Sig, dd);
    double t1 = pattn__la_frob(P1, Sig, dd), t3 = pattn__la_frob(P2, Sig, dd);
    memset(v, 0, (size_t)d * sizeof(double));
    if (mu) {
        trSR += pattn__la_quad(S, mu, d);
        t3 += pattn__la_quad(P2, mu, d);
        pattn__la_mv(E, 0, mu, v, d);
    }
    if (bk) {
        pattn__la_mv(W, 0, bk, u, d);
        for (i = 0; i < d; ++i) v[i] += u[i];
    }
    return s2 + t1 + pattn__la_quad(S, v, d) + (double)n * t3 + (double)n * trA * (trSR + s2);
}

/* shared by pattn_icl_risk (centred = 0) and pattn_icl_risk_pgd (centred = 1) */
static pattn_status pattn__iclt_risk(const char *fn, const pattn_icl_mix *m, int n, const double *W, int nw,
                                     const double *b, int centred, double *risk_k, double *risk)
{
    int d, K, k;
    size_t dd;
    double *S, *E, *P1, *P2, *t1, *t2, *v, *u, *rk, trA = 0.0, tot = 0.0;
    pattn_status st;
    if (!W || !risk) return PATTN__FAIL(PATTN_EINVAL, fn, "%s is NULL", W ? "risk" : "W");
    if (n < 1) return PATTN__FAIL(PATTN_EINVAL, fn, "n (the context length) is %d; it must be >= 1", n);
    st = pattn__icl_mix_check(fn, m);
    if (st != PATTN_OK) return st;
    d = m->d;
    K = m->K;
    dd = (size_t)d * (size_t)d;
    if (!pattn__all_finite_f64(W, (size_t)nw * dd)) return PATTN__FAIL(PATTN_EINVAL, fn, "W holds a NaN or infinite value");
    if (b && !pattn__all_finite_f64(b, (size_t)K * (size_t)d)) return PATTN__FAIL(PATTN_EINVAL, fn, "b holds a NaN or infinite value");
    S = (double *)PATTN_MALLOC((6 * dd + 2 * (size_t)d + (size_t)K) * sizeof(double));
    if (!S) return PATTN__FAIL(PATTN_ENOMEM, fn, "cannot allocate %s", "scratch memory");
    E = S + dd;
    P1 = E + dd;
    P2 = P1 + dd;
    t1 = P2 + dd;
    t2 = t1 + dd;
    v = t2 + dd;
    u = v + d;
    rk = u + d;
    if (m->cov_x) memcpy(S, m->cov_x, dd * sizeof(double));
    else pattn__la_eye(S, d);
    for (k = 0; k < K; ++k) {
        const double *Wk = W + (nw > 1 ? (size_t)k * dd : 0);
        const double *mu = m->mu && !centred ? m->mu + (size_t)k * d : NULL;
        const double *bk = b ? b + (size_t)k * d : NULL;
        if (k == 0 || nw > 1) pattn__iclt_prep(S, Wk, d, n, E, P1, P2, &trA, t1, t2);
        rk[k] = pattn__iclt_task(S, Wk, E, P1, P2, trA, m->cov_beta + (size_t)k * dd, mu, bk,
                                 m->noise_var ? m->noise_var[k] : 0.0, d, n, v, u);
        tot += m->pi[k] * rk[k];
    }
    if (!pattn__all_finite_f64(rk, (size_t)K) || !pattn__finite(tot)) {
        st = PATTN__FAIL(PATTN_ENUM, fn, "a result is not finite: the inputs' magnitudes overflow double");
    } else {
        if (risk_k) memcpy(risk_k, rk, (size_t)K * sizeof(double));
        *risk = tot;
    }
    PATTN_FREE(S);
    return st;
}

PATTN_DEF pattn_status pattn_icl_risk(const pattn_icl_mix *m, int n, const double *W,
                                      const double *b, double *risk_k, double *risk)
{
    return pattn__iclt_risk(__func__, m, n, W, 1, b, 0, risk_k, risk);
}

PATTN_DEF pattn_status pattn_icl_risk_pgd(const pattn_icl_mix *m, int n, const double *W,
                                          int per_task, double *risk_k, double *risk)
{
    PATTN__REQ(m, "m (the mixture) is NULL");
    PATTN__REQ(per_task == 0 || per_task == 1, "per_task is %d; it must be 0 (one W) or 1 (W_k per task)", per_task);
    return pattn__iclt_risk(__func__, m, n, W, per_task ? (m->K > 0 ? m->K : 1) : 1, NULL, 1, risk_k, risk);
}

#ifdef __cplusplus
}
#endif
#ifdef PATTN__GXX_PR105593
#pragma GCC diagnostic pop
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT DEFAULT
#elif defined(PATTN__GCC_OPTIONS_PUSHED)
#pragma GCC pop_options
#endif
#endif /* PATTN__IMPLEMENTED */
#endif /* PATTN_IMPLEMENTATION */

/* ======================================================================================== */
/*          THE SIMD PART (compiled through PATTN_SELF_INCLUDE, once per path)               */
/* ======================================================================================== */
#if defined(PATTN__SIMD_PASS) && defined(PATTN__IMPLEMENTED)
#undef PATTN__AVX2
#undef PATTN__AVX512
#undef PATTN__NEON
#undef PATTN__KDEF
#define PATTN__AVX2 (PATTN__SIMD_PASS == 2)
#define PATTN__NEON (PATTN__SIMD_PASS == 3)
#define PATTN__AVX512 (PATTN__SIMD_PASS == 2 && PATTN__HAVE_AVX512)
#if PATTN__DISPATCH
#define PATTN__KDEF static PATTN__UNUSED
#else
#define PATTN__KDEF PATTN_DEF
#endif
#if PATTN__DISPATCH && PATTN__SIMD_PASS == 2
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#endif

/* a*b + c with one rounding, the same bits on every path and platform. The AVX2 and NEON
   paths have the instruction. The scalar path calls the C library's fmaf, except where that
   rounds twice (mingw-w64's does) or PATTN_SOFT_FMA asks: there it computes the product
   exactly in double, rounds the sum to odd (of the two doubles around the exact sum, the
   one whose last bit is 1), and rounding that to float is then the correctly rounded
   result, as double has more than 24 + 2 bits. */
#if PATTN__AVX2
PATTN__INLINE float pattn__fmaf(float a, float b, float c)
{
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}
#elif PATTN__NEON
PATTN__INLINE float pattn__fmaf(float a, float b, float c) { return vgetq_lane_f32(vfmaq_f32(vdupq_n_f32(c), vdupq_n_f32(a), vdupq_n_f32(b)), 0); }
#elif !defined(PATTN_SOFT_FMA) && !defined(__MINGW32__)
/* C99 requires fmaf to round once, and glibc, musl, Apple's and Microsoft's libraries do
   (glibc with the instruction where the CPU has it) */
PATTN__INLINE float pattn__fmaf(float a, float b, float c) { return fmaf(a, b, c); }
#else
PATTN__INLINE float pattn__fmaf(float a, float b, float c)
{
    double p = (double)a * (double)b, cd = (double)c, s = p + cd;
    double t = s - p, e = (p - (s - t)) + (cd - t); /* s + e == p + c exactly (TwoSum) */
    if (e != 0.0 && s - s == 0.0) {
        uint64_t u;
        memcpy(&u, &s, sizeof u);
        if (!(u & 1)) u += (e > 0.0) == (s > 0.0) ? 1 : (uint64_t)-1; /* step towards the exact sum */
        memcpy(&s, &u, sizeof s);
    }
    return (float)s;
}
#endif

/* the AVX-512 kernels exist in the AVX2 path only */
PATTN__INLINE int pattn__has_avx512(void) { return PATTN__AVX512 && pattn__cpu_avx512(); }

/* ---- the 8-lane vector abstraction ------------------------------------------------------
   Every kernel is written once in these operations. The scalar form does per lane exactly
   what the AVX2 instruction does (same rounding, same NaN choice in min/max, fmaf for FMA),
   which is what makes the two builds bit-identical. */
#if PATTN__AVX2
typedef __m256 pattn__f8;
typedef __m256i pattn__i8;
PATTN__INLINE pattn__f8 pattn__f8_set1(float a) { return _mm256_set1_ps(a); }
PATTN__INLINE pattn__f8 pattn__f8_load(const float *p) { return _mm256_loadu_ps(p); }
PATTN__INLINE void pattn__f8_store(float *p, pattn__f8 a) { _mm256_storeu_ps(p, a); }
/* non-temporal store (p 32-byte aligned): skips the read-for-ownership of big outputs */
PATTN__INLINE void pattn__f8_store_stream(float *p, pattn__f8 a) { _mm256_stream_ps(p, a); }
PATTN__INLINE void pattn__stream_fence(void) { _mm_sfence(); }
PATTN__INLINE pattn__i8 pattn__tailmask(int rem)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
/* first rem lanes from p, the others `fill` */
PATTN__INLINE pattn__f8 pattn__f8_load_part(const float *p, int rem, float fill)
{
    pattn__i8 m = pattn__tailmask(rem);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
PATTN__INLINE void pattn__f8_store_part(float *p, int rem, pattn__f8 a)
{
    _mm256_maskstore_ps(p, pattn__tailmask(rem), a);
}
PATTN__INLINE pattn__f8 pattn__f8_add(pattn__f8 a, pattn__f8 b) { return _mm256_add_ps(a, b); }
PATTN__INLINE pattn__f8 pattn__f8_sub(pattn__f8 a, pattn__f8 b) { return _mm256_sub_ps(a, b); }
PATTN__INLINE pattn__f8 pattn__f8_mul(pattn__f8 a, pattn__f8 b) { return _mm256_mul_ps(a, b); }
PATTN__INLINE pattn__f8 pattn__f8_div(pattn__f8 a, pattn__f8 b) { return _mm256_div_ps(a, b); }
PATTN__INLINE pattn__f8 pattn__f8_sqrt(pattn__f8 a) { return _mm256_sqrt_ps(a); }
/* a*b + c and c - a*b, one rounding */
PATTN__INLINE pattn__f8 pattn__f8_fma(pattn__f8 a, pattn__f8 b, pattn__f8 c) { return _mm256_fmadd_ps(a, b, c); }
PATTN__INLINE pattn__f8 pattn__f8_fnma(pattn__f8 a, pattn__f8 b, pattn__f8 c) { return _mm256_fnmadd_ps(a, b, c); }
/* (a > b ? a : b) and (a < b ? a : b), the instructions' exact semantics */
PATTN__INLINE pattn__f8 pattn__f8_max(pattn__f8 a, pattn__f8 b) { return _mm256_max_ps(a, b); }
PATTN__INLINE pattn__f8 pattn__f8_min(pattn__f8 a, pattn__f8 b) { return _mm256_min_ps(a, b); }
/* lanes where a < b (ordered) take x, the others y */
PATTN__INLINE pattn__f8 pattn__f8_select_lt(pattn__f8 a, pattn__f8 b, pattn__f8 x, pattn__f8 y)
{
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
}
/* lanes where the integer k == c take x, the others y */
PATTN__INLINE pattn__f8 pattn__f8_select_ieq(pattn__i8 k, int c, pattn__f8 x, pattn__f8 y)
{
    return _mm256_blendv_ps(y, x, _mm256_castsi256_ps(_mm256_cmpeq_epi32(k, _mm256_set1_epi32(c))));
}
PATTN__INLINE pattn__f8 pattn__f8_neg(pattn__f8 a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
/* a (an exact integer in int32 range) as int32 lanes */
PATTN__INLINE pattn__i8 pattn__f8_to_i8(pattn__f8 a) { return _mm256_cvttps_epi32(a); }
PATTN__INLINE pattn__f8 pattn__i8_to_f8(pattn__i8 k) { return _mm256_cvtepi32_ps(k); }
PATTN__INLINE pattn__i8 pattn__i8_and(pattn__i8 k, int m) { return _mm256_and_si256(k, _mm256_set1_epi32(m)); }
PATTN__INLINE pattn__i8 pattn__i8_add(pattn__i8 k, int c) { return _mm256_add_epi32(k, _mm256_set1_epi32(c)); }
PATTN__INLINE pattn__i8 pattn__i8_sub(pattn__i8 a, pattn__i8 b) { return _mm256_sub_epi32(a, b); }
PATTN__INLINE pattn__i8 pattn__f8_bits(pattn__f8 a) { return _mm256_castps_si256(a); }
PATTN__INLINE pattn__f8 pattn__f8_from_bits(pattn__i8 k) { return _mm256_castsi256_ps(k); }
PATTN__INLINE pattn__i8 pattn__i8_shl(pattn__i8 k, int s) { return _mm256_slli_epi32(k, s); }
PATTN__INLINE pattn__i8 pattn__i8_shr(pattn__i8 k, int s) { return _mm256_srli_epi32(k, s); }
PATTN__INLINE pattn__i8 pattn__i8_load(const uint32_t *p) { return _mm256_loadu_si256((const __m256i *)(const void *)p); }
PATTN__INLINE void pattn__i8_store(uint32_t *p, pattn__i8 k) { _mm256_storeu_si256((__m256i *)(void *)p, k); }
PATTN__INLINE pattn__i8 pattn__i8_addv(pattn__i8 a, pattn__i8 b) { return _mm256_add_epi32(a, b); }
PATTN__INLINE pattn__i8 pattn__i8_xor(pattn__i8 a, pattn__i8 b) { return _mm256_xor_si256(a, b); }
PATTN__INLINE pattn__i8 pattn__i8_or(pattn__i8 a, pattn__i8 b) { return _mm256_or_si256(a, b); }
/* Horizontal sum in the canonical order ((v0+v4)+(v1+v5)) + ((v2+v6)+(v3+v7)); hsum8 gives
   eight such sums at once (lane j = hsum(a[j])) by a transposing hadd tree with exactly the
   same additions, so a kernel may reduce tokens one at a time or eight at a time. */
PATTN__INLINE float pattn__f8_hsum(pattn__f8 a)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_hadd_ps(s, s);
    s = _mm_hadd_ps(s, s);
    return _mm_cvtss_f32(s);
}
PATTN__INLINE pattn__f8 pattn__f8_hsum8(pattn__f8 a0, pattn__f8 a1, pattn__f8 a2, pattn__f8 a3, pattn__f8 a4,
                                         pattn__f8 a5, pattn__f8 a6, pattn__f8 a7)
{
    __m256 p0 = _mm256_add_ps(_mm256_permute2f128_ps(a0, a4, 0x20), _mm256_permute2f128_ps(a0, a4, 0x31));
    __m256 p1 = _mm256_add_ps(_mm256_permute2f128_ps(a1, a5, 0x20), _mm256_permute2f128_ps(a1, a5, 0x31));
    __m256 p2 = _mm256_add_ps(_mm256_permute2f128_ps(a2, a6, 0x20), _mm256_permute2f128_ps(a2, a6, 0x31));
    __m256 p3 = _mm256_add_ps(_mm256_permute2f128_ps(a3, a7, 0x20), _mm256_permute2f128_ps(a3, a7, 0x31));
    return _mm256_hadd_ps(_mm256_hadd_ps(p0, p1), _mm256_hadd_ps(p2, p3));
}
PATTN__INLINE float pattn__f8_hmax(pattn__f8 a)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}
PATTN__INLINE float pattn__f8_first(pattn__f8 a) { return _mm256_cvtss_f32(a); }
/* lo = (a0..a3, b0..b3), hi = (a4..a7, b4..b7) */
PATTN__INLINE void pattn__f8_halves(pattn__f8 a, pattn__f8 b, pattn__f8 *lo, pattn__f8 *hi)
{
    *lo = _mm256_permute2f128_ps(a, b, 0x20);
    *hi = _mm256_permute2f128_ps(a, b, 0x31);
}
#elif PATTN__NEON
/* Two 128-bit NEON registers per 8 lanes. min, max and the conversions are written to give
   exactly what the AVX2 instructions give (NEON's own vmaxq and vcvtq differ on NaN and on
   out-of-range inputs); vfmaq is the same single-rounding fma. */
typedef struct pattn__f8 { float32x4_t lo, hi; } pattn__f8;
typedef struct pattn__i8 { int32x4_t lo, hi; } pattn__i8;
#define PATTN__N2(op, a, b) do { r.lo = op((a).lo, (b).lo); r.hi = op((a).hi, (b).hi); } while (0)
PATTN__INLINE pattn__f8 pattn__f8_set1(float a) { pattn__f8 r; r.lo = r.hi = vdupq_n_f32(a); return r; }
PATTN__INLINE pattn__f8 pattn__f8_load(const float *p) { pattn__f8 r; r.lo = vld1q_f32(p); r.hi = vld1q_f32(p + 4); return r; }
PATTN__INLINE void pattn__f8_store(float *p, pattn__f8 a) { vst1q_f32(p, a.lo); vst1q_f32(p + 4, a.hi); }
PATTN__INLINE void pattn__f8_store_stream(float *p, pattn__f8 a) { pattn__f8_store(p, a); }
PATTN__INLINE void pattn__stream_fence(void) {}
PATTN__INLINE pattn__f8 pattn__f8_load_part(const float *p, int rem, float fill)
{
    float t[8];
    int j;
    for (j = 0; j < 8; ++j) t[j] = j < rem ? p[j] : fill;
    return pattn__f8_load(t);
}
PATTN__INLINE void pattn__f8_store_part(float *p, int rem, pattn__f8 a)
{
    float t[8];
    int j;
    pattn__f8_store(t, a);
    for (j = 0; j < rem && j < 8; ++j) p[j] = t[j];
}
PATTN__INLINE pattn__f8 pattn__f8_add(pattn__f8 a, pattn__f8 b) { pattn__f8 r; PATTN__N2(vaddq_f32, a, b); return r; }
PATTN__INLINE pattn__f8 pattn__f8_sub(pattn__f8 a, pattn__f8 b) { pattn__f8 r; PATTN__N2(vsubq_f32, a, b); return r; }
PATTN__INLINE pattn__f8 pattn__f8_mul(pattn__f8 a, pattn__f8 b) { pattn__f8 r; PATTN__N2(vmulq_f32, a, b); return r; }
PATTN__INLINE pattn__f8 pattn__f8_div(pattn__f8 a, pattn__f8 b) { pattn__f8 r; PATTN__N2(vdivq_f32, a, b); return r; }
PATTN__INLINE pattn__f8 pattn__f8_sqrt(pattn__f8 a) { a.lo = vsqrtq_f32(a.lo); a.hi = vsqrtq_f32(a.hi); return a; }
PATTN__INLINE pattn__f8 pattn__f8_fma(pattn__f8 a, pattn__f8 b, pattn__f8 c)
{
    c.lo = vfmaq_f32(c.lo, a.lo, b.lo);
    c.hi = vfmaq_f32(c.hi, a.hi, b.hi);
    return c;
}
PATTN__INLINE pattn__f8 pattn__f8_fnma(pattn__f8 a, pattn__f8 b, pattn__f8 c)
{
    c.lo = vfmsq_f32(c.lo, a.lo, b.lo);
    c.hi = vfmsq_f32(c.hi, a.hi, b.hi);
    return c;
}
/* a > b ? a : b (b when either is NaN), as vmaxps */
PATTN__INLINE pattn__f8 pattn__f8_max(pattn__f8 a, pattn__f8 b)
{
    a.lo = vbslq_f32(vcgtq_f32(a.lo, b.lo), a.lo, b.lo);
    a.hi = vbslq_f32(vcgtq_f32(a.hi, b.hi), a.hi, b.hi);
    return a;
}
PATTN__INLINE pattn__f8 pattn__f8_min(pattn__f8 a, pattn__f8 b)
{
    a.lo = vbslq_f32(vcltq_f32(a.lo, b.lo), a.lo, b.lo);
    a.hi = vbslq_f32(vcltq_f32(a.hi, b.hi), a.hi, b.hi);
    return a;
}
PATTN__INLINE pattn__f8 pattn__f8_select_lt(pattn__f8 a, pattn__f8 b, pattn__f8 x, pattn__f8 y)
{
    y.lo = vbslq_f32(vcltq_f32(a.lo, b.lo), x.lo, y.lo);
    y.hi = vbslq_f32(vcltq_f32(a.hi, b.hi), x.hi, y.hi);
    return y;
}
PATTN__INLINE pattn__f8 pattn__f8_select_ieq(pattn__i8 k, int c, pattn__f8 x, pattn__f8 y)
{
    int32x4_t cc = vdupq_n_s32(c);
    y.lo = vbslq_f32(vceqq_s32(k.lo, cc), x.lo, y.lo);
    y.hi = vbslq_f32(vceqq_s32(k.hi, cc), x.hi, y.hi);
    return y;
}
PATTN__INLINE pattn__f8 pattn__f8_neg(pattn__f8 a) { a.lo = vnegq_f32(a.lo); a.hi = vnegq_f32(a.hi); return a; }
/* truncation; NaN and |a| >= 2^31 give INT32_MIN, as vcvttps2dq */
PATTN__INLINE int32x4_t pattn__neon_cvtt(float32x4_t a)
{
    uint32x4_t ok = vcltq_f32(vabsq_f32(a), vdupq_n_f32(2147483648.0f));
    return vbslq_s32(ok, vcvtq_s32_f32(a), vdupq_n_s32(INT32_MIN));
}
PATTN__INLINE pattn__i8 pattn__f8_to_i8(pattn__f8 a) { pattn__i8 k; k.lo = pattn__neon_cvtt(a.lo); k.hi = pattn__neon_cvtt(a.hi); return k; }
PATTN__INLINE pattn__f8 pattn__i8_to_f8(pattn__i8 k) { pattn__f8 a; a.lo = vcvtq_f32_s32(k.lo); a.hi = vcvtq_f32_s32(k.hi); return a; }
PATTN__INLINE pattn__i8 pattn__i8_and(pattn__i8 k, int m) { int32x4_t v = vdupq_n_s32(m); k.lo = vandq_s32(k.lo, v); k.hi = vandq_s32(k.hi, v); return k; }
PATTN__INLINE pattn__i8 pattn__i8_add(pattn__i8 k, int c) { int32x4_t v = vdupq_n_s32(c); k.lo = vaddq_s32(k.lo, v); k.hi = vaddq_s32(k.hi, v); return k; }
PATTN__INLINE pattn__i8 pattn__i8_sub(pattn__i8 a, pattn__i8 b) { pattn__i8 r; PATTN__N2(vsubq_s32, a, b); return r; }
PATTN__INLINE pattn__i8 pattn__f8_bits(pattn__f8 a) { pattn__i8 k; k.lo = vreinterpretq_s32_f32(a.lo); k.hi = vreinterpretq_s32_f32(a.hi); return k; }
PATTN__INLINE pattn__f8 pattn__f8_from_bits(pattn__i8 k) { pattn__f8 a; a.lo = vreinterpretq_f32_s32(k.lo); a.hi = vreinterpretq_f32_s32(k.hi); return a; }
PATTN__INLINE int32x4_t pattn__neon_shift(int32x4_t k, int s) { return vreinterpretq_s32_u32(vshlq_u32(vreinterpretq_u32_s32(k), vdupq_n_s32(s))); }
PATTN__INLINE pattn__i8 pattn__i8_shl(pattn__i8 k, int s) { k.lo = pattn__neon_shift(k.lo, s); k.hi = pattn__neon_shift(k.hi, s); return k; }
PATTN__INLINE pattn__i8 pattn__i8_shr(pattn__i8 k, int s) { k.lo = pattn__neon_shift(k.lo, -s); k.hi = pattn__neon_shift(k.hi, -s); return k; }
PATTN__INLINE pattn__i8 pattn__i8_load(const uint32_t *p) { pattn__i8 k; k.lo = vreinterpretq_s32_u32(vld1q_u32(p)); k.hi = vreinterpretq_s32_u32(vld1q_u32(p + 4)); return k; }
PATTN__INLINE void pattn__i8_store(uint32_t *p, pattn__i8 k) { vst1q_u32(p, vreinterpretq_u32_s32(k.lo)); vst1q_u32(p + 4, vreinterpretq_u32_s32(k.hi)); }
PATTN__INLINE pattn__i8 pattn__i8_addv(pattn__i8 a, pattn__i8 b) { pattn__i8 r; PATTN__N2(vaddq_s32, a, b); return r; }
PATTN__INLINE pattn__i8 pattn__i8_xor(pattn__i8 a, pattn__i8 b) { pattn__i8 r; PATTN__N2(veorq_s32, a, b); return r; }
PATTN__INLINE pattn__i8 pattn__i8_or(pattn__i8 a, pattn__i8 b) { pattn__i8 r; PATTN__N2(vorrq_s32, a, b); return r; }
/* ((v0+v4)+(v1+v5)) + ((v2+v6)+(v3+v7)), the canonical order */
PATTN__INLINE float pattn__f8_hsum(pattn__f8 a)
{
    float32x4_t t = vaddq_f32(a.lo, a.hi);
    return (vgetq_lane_f32(t, 0) + vgetq_lane_f32(t, 1)) + (vgetq_lane_f32(t, 2) + vgetq_lane_f32(t, 3));
}
PATTN__INLINE pattn__f8 pattn__f8_hsum8(pattn__f8 a0, pattn__f8 a1, pattn__f8 a2, pattn__f8 a3, pattn__f8 a4,
                                         pattn__f8 a5, pattn__f8 a6, pattn__f8 a7)
{
    /* the same additions as hsum, eight columns at once: pairwise sums of the halves, then
       two rounds of pairwise adds (vpaddq adds neighbours, as hadd does) */
    float32x4_t t0 = vaddq_f32(a0.lo, a0.hi), t1 = vaddq_f32(a1.lo, a1.hi), t2 = vaddq_f32(a2.lo, a2.hi);
    float32x4_t t3 = vaddq_f32(a3.lo, a3.hi), t4 = vaddq_f32(a4.lo, a4.hi), t5 = vaddq_f32(a5.lo, a5.hi);
    float32x4_t t6 = vaddq_f32(a6.lo, a6.hi), t7 = vaddq_f32(a7.lo, a7.hi);
    pattn__f8 r;
    r.lo = vpaddq_f32(vpaddq_f32(t0, t1), vpaddq_f32(t2, t3));
    r.hi = vpaddq_f32(vpaddq_f32(t4, t5), vpaddq_f32(t6, t7));
    return r;
}
PATTN__INLINE float pattn__f8_hmax1(float a, float b) { return a > b ? a : b; }
PATTN__INLINE float pattn__f8_hmax(pattn__f8 a)
{
    float32x4_t m = vbslq_f32(vcgtq_f32(a.lo, a.hi), a.lo, a.hi); /* max(v0, v4), ... */
    return pattn__f8_hmax1(pattn__f8_hmax1(vgetq_lane_f32(m, 0), vgetq_lane_f32(m, 2)),
                           pattn__f8_hmax1(vgetq_lane_f32(m, 1), vgetq_lane_f32(m, 3)));
}
PATTN__INLINE float pattn__f8_first(pattn__f8 a) { return vgetq_lane_f32(a.lo, 0); }
PATTN__INLINE void pattn__f8_halves(pattn__f8 a, pattn__f8 b, pattn__f8 *lo, pattn__f8 *hi)
{
    lo->lo = a.lo;
    lo->hi = b.lo;
    hi->lo = a.hi;
    hi->hi = b.hi;
}
#else
typedef struct pattn__f8 { float v[8]; } pattn__f8;
typedef struct pattn__i8 { int32_t v[8]; } pattn__i8;
#define PATTN__LANES(expr) do { int j_; for (j_ = 0; j_ < 8; ++j_) { expr; } } while (0)
PATTN__INLINE pattn__f8 pattn__f8_set1(float a) { pattn__f8 r; PATTN__LANES(r.v[j_] = a); return r; }
PATTN__INLINE pattn__f8 pattn__f8_load(const float *p) { pattn__f8 r; memcpy(r.v, p, sizeof r.v); return r; }
PATTN__INLINE void pattn__f8_store(float *p, pattn__f8 a) { memcpy(p, a.v, sizeof a.v); }
PATTN__INLINE void pattn__f8_store_stream(float *p, pattn__f8 a) { memcpy(p, a.v, sizeof a.v); }
PATTN__INLINE void pattn__stream_fence(void) {}
PATTN__INLINE pattn__f8 pattn__f8_load_part(const float *p, int rem, float fill)
{
    pattn__f8 r;
    PATTN__LANES(r.v[j_] = j_ < rem ? p[j_] : fill);
    return r;
}
PATTN__INLINE void pattn__f8_store_part(float *p, int rem, pattn__f8 a)
{
    PATTN__LANES(if (j_ < rem) p[j_] = a.v[j_]);
}
PATTN__INLINE pattn__f8 pattn__f8_add(pattn__f8 a, pattn__f8 b) { PATTN__LANES(a.v[j_] = a.v[j_] + b.v[j_]); return a; }
PATTN__INLINE pattn__f8 pattn__f8_sub(pattn__f8 a, pattn__f8 b) { PATTN__LANES(a.v[j_] = a.v[j_] - b.v[j_]); return a; }
PATTN__INLINE pattn__f8 pattn__f8_mul(pattn__f8 a, pattn__f8 b) { PATTN__LANES(a.v[j_] = a.v[j_] * b.v[j_]); return a; }
PATTN__INLINE pattn__f8 pattn__f8_div(pattn__f8 a, pattn__f8 b) { PATTN__LANES(a.v[j_] = a.v[j_] / b.v[j_]); return a; }
PATTN__INLINE pattn__f8 pattn__f8_sqrt(pattn__f8 a) { PATTN__LANES(a.v[j_] = sqrtf(a.v[j_])); return a; }
PATTN__INLINE pattn__f8 pattn__f8_fma(pattn__f8 a, pattn__f8 b, pattn__f8 c) { PATTN__LANES(a.v[j_] = pattn__fmaf(a.v[j_], b.v[j_], c.v[j_])); return a; }
PATTN__INLINE pattn__f8 pattn__f8_fnma(pattn__f8 a, pattn__f8 b, pattn__f8 c) { PATTN__LANES(a.v[j_] = pattn__fmaf(-a.v[j_], b.v[j_], c.v[j_])); return a; }
PATTN__INLINE pattn__f8 pattn__f8_max(pattn__f8 a, pattn__f8 b) { PATTN__LANES(a.v[j_] = a.v[j_] > b.v[j_] ? a.v[j_] : b.v[j_]); return a; }
PATTN__INLINE pattn__f8 pattn__f8_min(pattn__f8 a, pattn__f8 b) { PATTN__LANES(a.v[j_] = a.v[j_] < b.v[j_] ? a.v[j_] : b.v[j_]); return a; }
PATTN__INLINE pattn__f8 pattn__f8_select_lt(pattn__f8 a, pattn__f8 b, pattn__f8 x, pattn__f8 y)
{
    PATTN__LANES(y.v[j_] = a.v[j_] < b.v[j_] ? x.v[j_] : y.v[j_]);
    return y;
}
PATTN__INLINE pattn__f8 pattn__f8_select_ieq(pattn__i8 k, int c, pattn__f8 x, pattn__f8 y)
{
    PATTN__LANES(y.v[j_] = k.v[j_] == c ? x.v[j_] : y.v[j_]);
    return y;
}
PATTN__INLINE pattn__f8 pattn__f8_neg(pattn__f8 a) { PATTN__LANES(a.v[j_] = -a.v[j_]); return a; }
/* truncation; NaN and |a| >= 2^31 give INT32_MIN, as vcvttps2dq (a plain cast would be
   undefined there) */
PATTN__INLINE pattn__i8 pattn__f8_to_i8(pattn__f8 a)
{
    pattn__i8 k;
    PATTN__LANES(k.v[j_] = fabsf(a.v[j_]) < 2147483648.0f ? (int32_t)a.v[j_] : INT32_MIN);
    return k;
}
PATTN__INLINE pattn__f8 pattn__i8_to_f8(pattn__i8 k) { pattn__f8 a; PATTN__LANES(a.v[j_] = (float)k.v[j_]); return a; }
PATTN__INLINE pattn__i8 pattn__i8_and(pattn__i8 k, int m) { PATTN__LANES(k.v[j_] &= m); return k; }
PATTN__INLINE pattn__i8 pattn__i8_add(pattn__i8 k, int c) { PATTN__LANES(k.v[j_] = (int32_t)((uint32_t)k.v[j_] + (uint32_t)c)); return k; }
PATTN__INLINE pattn__i8 pattn__i8_sub(pattn__i8 a, pattn__i8 b) { PATTN__LANES(a.v[j_] = (int32_t)((uint32_t)a.v[j_] - (uint32_t)b.v[j_])); return a; }
PATTN__INLINE pattn__i8 pattn__f8_bits(pattn__f8 a) { pattn__i8 k; memcpy(k.v, a.v, sizeof k.v); return k; }
PATTN__INLINE pattn__f8 pattn__f8_from_bits(pattn__i8 k) { pattn__f8 a; memcpy(a.v, k.v, sizeof a.v); return a; }
PATTN__INLINE pattn__i8 pattn__i8_shl(pattn__i8 k, int s) { PATTN__LANES(k.v[j_] = (int32_t)((uint32_t)k.v[j_] << s)); return k; }
PATTN__INLINE pattn__i8 pattn__i8_shr(pattn__i8 k, int s) { PATTN__LANES(k.v[j_] = (int32_t)((uint32_t)k.v[j_] >> s)); return k; }
PATTN__INLINE pattn__i8 pattn__i8_load(const uint32_t *p) { pattn__i8 k; memcpy(k.v, p, sizeof k.v); return k; }
PATTN__INLINE void pattn__i8_store(uint32_t *p, pattn__i8 k) { memcpy(p, k.v, sizeof k.v); }
PATTN__INLINE pattn__i8 pattn__i8_addv(pattn__i8 a, pattn__i8 b) { PATTN__LANES(a.v[j_] = (int32_t)((uint32_t)a.v[j_] + (uint32_t)b.v[j_])); return a; }
PATTN__INLINE pattn__i8 pattn__i8_xor(pattn__i8 a, pattn__i8 b) { PATTN__LANES(a.v[j_] ^= b.v[j_]); return a; }
PATTN__INLINE pattn__i8 pattn__i8_or(pattn__i8 a, pattn__i8 b) { PATTN__LANES(a.v[j_] |= b.v[j_]); return a; }
PATTN__INLINE float pattn__f8_hsum(pattn__f8 a)
{
    const float *v = a.v;
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}
PATTN__INLINE pattn__f8 pattn__f8_hsum8(pattn__f8 a0, pattn__f8 a1, pattn__f8 a2, pattn__f8 a3, pattn__f8 a4,
                                         pattn__f8 a5, pattn__f8 a6, pattn__f8 a7)
{
    pattn__f8 r;
    r.v[0] = pattn__f8_hsum(a0); r.v[1] = pattn__f8_hsum(a1); r.v[2] = pattn__f8_hsum(a2); r.v[3] = pattn__f8_hsum(a3);
    r.v[4] = pattn__f8_hsum(a4); r.v[5] = pattn__f8_hsum(a5); r.v[6] = pattn__f8_hsum(a6); r.v[7] = pattn__f8_hsum(a7);
    return r;
}
PATTN__INLINE float pattn__f8_hmax1(float a, float b) { return a > b ? a : b; }
PATTN__INLINE float pattn__f8_hmax(pattn__f8 a)
{
    const float *v = a.v;
    return pattn__f8_hmax1(pattn__f8_hmax1(pattn__f8_hmax1(v[0], v[4]), pattn__f8_hmax1(v[2], v[6])),
                           pattn__f8_hmax1(pattn__f8_hmax1(v[1], v[5]), pattn__f8_hmax1(v[3], v[7])));
}
PATTN__INLINE float pattn__f8_first(pattn__f8 a) { return a.v[0]; }
PATTN__INLINE void pattn__f8_halves(pattn__f8 a, pattn__f8 b, pattn__f8 *lo, pattn__f8 *hi)
{
    memcpy(lo->v, a.v, 4 * sizeof(float));
    memcpy(lo->v + 4, b.v, 4 * sizeof(float));
    memcpy(hi->v, a.v + 4, 4 * sizeof(float));
    memcpy(hi->v + 4, b.v + 4, 4 * sizeof(float));
}
#endif
PATTN__INLINE pattn__f8 pattn__f8_zero(void) { return pattn__f8_set1(0.0f); }

#if PATTN__AVX512
/* ---- 16 lanes (AVX-512), for the run-time dispatched kernels -----------------------------
   The same operations as pattn__f8 on 16 lanes; a kernel puts two canonical 8-lane vectors
   (lo, hi) side by side, or 16 independent columns, so every lane sees the same ops. */
typedef __m512 pattn__f16;
typedef __m512i pattn__i16;
#define PATTN__D512 PATTN__T512 PATTN__INLINE
PATTN__D512 pattn__f16 pattn__f16_set1(float a) { return _mm512_set1_ps(a); }
PATTN__D512 pattn__f16 pattn__f16_zero(void) { return _mm512_setzero_ps(); }
PATTN__D512 pattn__f16 pattn__f16_load(const float *p) { return _mm512_loadu_ps(p); }
PATTN__D512 void pattn__f16_store(float *p, pattn__f16 a) { _mm512_storeu_ps(p, a); }
PATTN__D512 pattn__f16 pattn__f16_add(pattn__f16 a, pattn__f16 b) { return _mm512_add_ps(a, b); }
PATTN__D512 pattn__f16 pattn__f16_sub(pattn__f16 a, pattn__f16 b) { return _mm512_sub_ps(a, b); }
PATTN__D512 pattn__f16 pattn__f16_mul(pattn__f16 a, pattn__f16 b) { return _mm512_mul_ps(a, b); }
PATTN__D512 pattn__f16 pattn__f16_sqrt(pattn__f16 a) { return _mm512_sqrt_ps(a); }
PATTN__D512 pattn__f16 pattn__f16_fma(pattn__f16 a, pattn__f16 b, pattn__f16 c) { return _mm512_fmadd_ps(a, b, c); }
PATTN__D512 pattn__f16 pattn__f16_fnma(pattn__f16 a, pattn__f16 b, pattn__f16 c) { return _mm512_fnmadd_ps(a, b, c); }
PATTN__D512 pattn__f16 pattn__f16_max(pattn__f16 a, pattn__f16 b) { return _mm512_max_ps(a, b); }
PATTN__D512 pattn__f16 pattn__f16_min(pattn__f16 a, pattn__f16 b) { return _mm512_min_ps(a, b); }
PATTN__D512 pattn__f16 pattn__f16_select_lt(pattn__f16 a, pattn__f16 b, pattn__f16 x, pattn__f16 y)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x);
}
PATTN__D512 pattn__f16 pattn__f16_select_ieq(pattn__i16 k, int c, pattn__f16 x, pattn__f16 y)
{
    return _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(c)), y, x);
}
PATTN__D512 pattn__f16 pattn__f16_neg(pattn__f16 a) { return _mm512_xor_ps(a, _mm512_set1_ps(-0.0f)); }
PATTN__D512 pattn__i16 pattn__f16_toi(pattn__f16 a) { return _mm512_cvttps_epi32(a); }
PATTN__D512 pattn__f16 pattn__i16_tof(pattn__i16 k) { return _mm512_cvtepi32_ps(k); }
PATTN__D512 pattn__i16 pattn__f16_bits(pattn__f16 a) { return _mm512_castps_si512(a); }
PATTN__D512 pattn__f16 pattn__f16_from_bits(pattn__i16 k) { return _mm512_castsi512_ps(k); }
PATTN__D512 pattn__i16 pattn__i16_and(pattn__i16 k, int m) { return _mm512_and_si512(k, _mm512_set1_epi32(m)); }
PATTN__D512 pattn__i16 pattn__i16_add(pattn__i16 k, int c) { return _mm512_add_epi32(k, _mm512_set1_epi32(c)); }
PATTN__D512 pattn__i16 pattn__i16_addv(pattn__i16 a, pattn__i16 b) { return _mm512_add_epi32(a, b); }
PATTN__D512 pattn__i16 pattn__i16_shl(pattn__i16 k, int s) { return _mm512_slli_epi32(k, (unsigned)s); }
PATTN__D512 pattn__i16 pattn__i16_shr(pattn__i16 k, int s) { return _mm512_srli_epi32(k, (unsigned)s); }
/* (lo, hi) side by side, and back */
PATTN__D512 pattn__f16 pattn__f16_join(pattn__f8 lo, pattn__f8 hi) { return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1); }
PATTN__D512 pattn__i16 pattn__i16_join(pattn__i8 lo, pattn__i8 hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }
PATTN__D512 pattn__f8 pattn__f16_lo(pattn__f16 a) { return _mm512_castps512_ps256(a); }
PATTN__D512 pattn__f8 pattn__f16_hi(pattn__f16 a) { return _mm512_extractf32x8_ps(a, 1); }
/* an 8-float vector in both halves */
PATTN__D512 pattn__f16 pattn__f16_dup8(const float *p) { return _mm512_broadcast_f32x8(_mm256_loadu_ps(p)); }
#endif

/* ---- elementary functions on 8 lanes ---------------------------------------------------- */

/* exp: Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial (Cephes
   coefficients). 2^n is applied as 2^(n1) * 2^(n2) with n1 = floor(n/2): both factors are
   normal floats, the first product is exact and the second rounds once, so results in the
   subnormal range (x down to -103.97) are as accurate as the format allows. Inputs below
   -104 give 0, above 88.38 are clamped. */
PATTN__INLINE pattn__f8 pattn__f8_exp(pattn__f8 x)
{
    const pattn__f8 lo = pattn__f8_set1(-104.0f);
    pattn__f8 xc = pattn__f8_min(pattn__f8_set1(88.3762626647949f), x); /* NaN x stays NaN */
    pattn__f8 n, r, p, r2, y;
    pattn__i8 ni, n1;
    xc = pattn__f8_max(lo, xc);
    /* round to nearest through the 1.5*2^23 shifter: exact for |t| < 2^22 */
    n = pattn__f8_sub(pattn__f8_add(pattn__f8_mul(xc, pattn__f8_set1(1.44269504088896341f)),
                                    pattn__f8_set1(12582912.0f)), pattn__f8_set1(12582912.0f));
    r = pattn__f8_fnma(n, pattn__f8_set1(0.693359375f), xc);
    r = pattn__f8_fnma(n, pattn__f8_set1(-2.12194440e-4f), r);
    p = pattn__f8_set1(1.9875691500e-4f);
    p = pattn__f8_fma(p, r, pattn__f8_set1(1.3981999507e-3f));
    p = pattn__f8_fma(p, r, pattn__f8_set1(8.3334519073e-3f));
    p = pattn__f8_fma(p, r, pattn__f8_set1(4.1665795894e-2f));
    p = pattn__f8_fma(p, r, pattn__f8_set1(1.6666665459e-1f));
    p = pattn__f8_fma(p, r, pattn__f8_set1(5.0000001201e-1f));
    r2 = pattn__f8_mul(r, r);
    y = pattn__f8_add(pattn__f8_fma(p, r2, r), pattn__f8_set1(1.0f));
    ni = pattn__f8_to_i8(n);                                         /* -150 .. 128 */
    n1 = pattn__i8_add(pattn__i8_shr(pattn__i8_add(ni, 256), 1), -128); /* floor(n/2) */
    y = pattn__f8_mul(y, pattn__f8_from_bits(pattn__i8_shl(pattn__i8_add(n1, 127), 23)));
    n1 = pattn__i8_sub(ni, n1);
    y = pattn__f8_mul(y, pattn__f8_from_bits(pattn__i8_shl(pattn__i8_add(n1, 127), 23)));
    return pattn__f8_select_lt(x, lo, pattn__f8_zero(), y);
}

/* The functions below are written once as bodies over a lane type F with integer type I
   (F##_fma, I##_add, ...) and instantiated for pattn__f8 and, where AVX-512 is compiled in,
   pattn__f16: both widths run literally the same operations. */
#define pattn__f8_toi pattn__f8_to_i8
#define pattn__i8_tof pattn__i8_to_f8

/* A cheaper exp for softmax rows whose arguments are known to lie in [-87.33, 0] (normal
   results): degree-5 minimax polynomial (relative error 7.5e-8 before rounding, fitted by
   Lawson's algorithm for this library) and 2^n written straight into the exponent field:
   11 operations instead of 24. The shifter k holds 0x4b400000 + n in its bits; shifted by
   23 only n << 23 remains. */
#define PATTN__DEF_EXP_NORMAL(ATTR, F, I)                                                    \
    ATTR PATTN__INLINE F F##_exp_normal(F x)                                                  \
    {                                                                                         \
        F k = F##_fma(x, F##_set1(1.44269504088896341f), F##_set1(12582912.0f));             \
        F n = F##_sub(k, F##_set1(12582912.0f)), r, p;                                        \
        r = F##_fnma(n, F##_set1(0.693359375f), x);                                          \
        r = F##_fnma(n, F##_set1(-2.12194440e-4f), r);                                       \
        p = F##_fma(F##_set1(8.297647350e-3f), r, F##_set1(4.191543162e-2f));                \
        p = F##_fma(p, r, F##_set1(1.666757464e-1f));                                        \
        p = F##_fma(p, r, F##_set1(4.999889433e-1f));                                        \
        p = F##_fma(p, r, F##_set1(9.999997020e-1f));                                        \
        p = F##_fma(p, r, F##_set1(1.000000119e+00f));                                       \
        return F##_from_bits(I##_addv(F##_bits(p), I##_shl(F##_bits(k), 23)));               \
    }

/* natural log for x in (0, 1] (all Box-Muller needs): x = 2^e m, m in [sqrt(1/2), sqrt(2)),
   Cephes degree-8 polynomial in m - 1; m < sqrt(1/2) becomes 2m - 1. */
#define PATTN__DEF_LOG01(ATTR, F, I)                                                         \
    ATTR PATTN__INLINE F F##_log01(F x)                                                       \
    {                                                                                         \
        I bits = F##_bits(x);                                                                 \
        F e = I##_tof(I##_add(I##_shr(bits, 23), -126));                                      \
        F m = F##_from_bits(I##_add(I##_and(bits, 0x007fffff), 0x3f000000));                 \
        F one = F##_set1(1.0f), z, y, mlow;                                                   \
        mlow = F##_select_lt(m, F##_set1(0.707106781186547524f), one, F##_zero());           \
        e = F##_sub(e, mlow);                                                                 \
        m = F##_sub(F##_add(m, F##_mul(m, mlow)), one);                                       \
        z = F##_mul(m, m);                                                                    \
        y = F##_set1(7.0376836292e-2f);                                                       \
        y = F##_fma(y, m, F##_set1(-1.1514610310e-1f));                                       \
        y = F##_fma(y, m, F##_set1(1.1676998740e-1f));                                        \
        y = F##_fma(y, m, F##_set1(-1.2420140846e-1f));                                       \
        y = F##_fma(y, m, F##_set1(1.4249322787e-1f));                                        \
        y = F##_fma(y, m, F##_set1(-1.6668057665e-1f));                                       \
        y = F##_fma(y, m, F##_set1(2.0000714765e-1f));                                        \
        y = F##_fma(y, m, F##_set1(-2.4999993993e-1f));                                       \
        y = F##_fma(y, m, F##_set1(3.3333331174e-1f));                                        \
        y = F##_mul(F##_mul(y, m), z);                                                        \
        y = F##_fma(e, F##_set1(-2.12194440e-4f), y);                                         \
        y = F##_fnma(F##_set1(0.5f), z, y);                                                   \
        return F##_fma(e, F##_set1(0.693359375f), F##_add(m, y));                             \
    }

/* sin and cos of 2*pi*u for u in [0, 1): u = j/4 + f exactly, |f| <= 1/8, so the polynomial
   argument 2*pi*f stays in [-pi/4, pi/4] and the quadrant j swaps and negates:
   sin = (s, c, -s, -c)[j], cos = (c, -s, -c, s)[j]. */
#define PATTN__DEF_SINCOS2PI(ATTR, F, I)                                                     \
    ATTR PATTN__INLINE void F##_sincos2pi(F u, F *s, F *c)                                    \
    {                                                                                         \
        F jf = F##_sub(F##_add(F##_mul(u, F##_set1(4.0f)), F##_set1(12582912.0f)), F##_set1(12582912.0f)); \
        F x = F##_mul(F##_fnma(jf, F##_set1(0.25f), u), F##_set1(6.28318530717958648f));     \
        F z = F##_mul(x, x), ps, pc, ns, nc;                                                  \
        I j = I##_and(F##_toi(jf), 3);                                                        \
        ps = F##_set1(-1.9515295891e-4f);                                                     \
        ps = F##_fma(ps, z, F##_set1(8.3321608736e-3f));                                      \
        ps = F##_fma(ps, z, F##_set1(-1.6666654611e-1f));                                     \
        ps = F##_fma(F##_mul(ps, z), x, x);                                                   \
        pc = F##_set1(2.443315711809948e-5f);                                                 \
        pc = F##_fma(pc, z, F##_set1(-1.388731625493765e-3f));                                \
        pc = F##_fma(pc, z, F##_set1(4.166664568298827e-2f));                                 \
        pc = F##_fma(F##_mul(pc, z), z, F##_fnma(F##_set1(0.5f), z, F##_set1(1.0f)));        \
        ns = F##_neg(ps);                                                                     \
        nc = F##_neg(pc);                                                                     \
        *s = F##_select_ieq(j, 1, pc, F##_select_ieq(j, 2, ns, F##_select_ieq(j, 3, nc, ps))); \
        *c = F##_select_ieq(j, 1, ns, F##_select_ieq(j, 2, nc, F##_select_ieq(j, 3, ps, pc))); \
    }

/* Box-Muller on uniforms u1 in (0, 1], u2 in [0, 1): c = r cos(2 pi u2), s = r sin(2 pi u2)
   with r = sqrt(-2 log u1) */
#define PATTN__DEF_BOXMULLER(ATTR, F, I)                                                     \
    ATTR PATTN__INLINE void F##_boxmuller(F u1, F u2, F *c, F *s)                             \
    {                                                                                         \
        F rad = F##_sqrt(F##_mul(F##_set1(-2.0f), F##_log01(u1))), sn, cs;                    \
        F##_sincos2pi(u2, &sn, &cs);                                                          \
        *c = F##_mul(rad, cs);                                                                \
        *s = F##_mul(rad, sn);                                                                \
    }

PATTN__DEF_EXP_NORMAL(, pattn__f8, pattn__i8)
PATTN__DEF_LOG01(, pattn__f8, pattn__i8)
PATTN__DEF_SINCOS2PI(, pattn__f8, pattn__i8)
PATTN__DEF_BOXMULLER(, pattn__f8, pattn__i8)
#if PATTN__AVX512
PATTN__DEF_EXP_NORMAL(PATTN__T512, pattn__f16, pattn__i16)
PATTN__DEF_LOG01(PATTN__T512, pattn__f16, pattn__i16)
PATTN__DEF_SINCOS2PI(PATTN__T512, pattn__f16, pattn__i16)
PATTN__DEF_BOXMULLER(PATTN__T512, pattn__f16, pattn__i16)
#endif

/* ---- normals -----------------------------------------------------------------------------
   Box-Muller rather than ziggurat: it is branch-free, so all 8 lanes do identical work and
   the scalar twin is the same straight-line code; one log, one sqrt and one sincos give 2
   normals, and its tails are exact up to the 24-bit uniforms (|z| <= 5.9). */
static void pattn__normal16(pattn_rng *r, float *out)
{
    uint32_t a[8], b[8];
    pattn__f8 u1, u2, s, c;
    int j;
    for (j = 0; j < 8; ++j) {
        uint64_t w = pattn_rng_u64(r);
        a[j] = (uint32_t)(w >> 40) + 1u;          /* 1 .. 2^24 */
        b[j] = (uint32_t)(w >> 8) & 0xffffffu;    /* 0 .. 2^24-1 */
    }
    u1 = pattn__f8_mul(pattn__i8_to_f8(pattn__i8_load(a)), pattn__f8_set1(1.0f / 16777216.0f));
    u2 = pattn__f8_mul(pattn__i8_to_f8(pattn__i8_load(b)), pattn__f8_set1(1.0f / 16777216.0f));
    pattn__f8_boxmuller(u1, u2, &c, &s);
    pattn__f8_store(out, c);
    pattn__f8_store(out + 8, s);
}

PATTN__KDEF void pattn_rng_normal_f32(pattn_rng *r, float *out, int n)
{
    int i;
    float tmp[16];
    if (!r || !out || n < 0) pattn__bad(__func__, !r ? "r is NULL" : !out ? "out is NULL" : "n is negative");
    if (!r || !out || n <= 0) return;
    for (i = 0; i <= n - 16; i += 16) pattn__normal16(r, out + i);
    if (i < n) {
        pattn__normal16(r, tmp);
        memcpy(out + i, tmp, (size_t)(n - i) * sizeof(float));
    }
}

/* ---- eight-lane generator ------------------------------------------------------------- */

PATTN__KDEF void pattn_rng8_seed(pattn_rng8 *r, uint64_t seed, uint64_t stream)
{
    pattn_rng base;
    int j, w;
    if (!r) return;
    pattn_rng_stream(&base, seed, stream);
    for (j = 0; j < 8; ++j) {
        uint64_t a = pattn_rng_u64(&base), b = pattn_rng_u64(&base);
        if (!(a | b)) a = 0x9e3779b97f4a7c15ULL; /* the all-zero state is a fixed point */
        for (w = 0; w < 4; ++w) r->s[w][j] = (uint32_t)((w < 2 ? a : b) >> (32 * (w & 1)));
    }
}

PATTN__INLINE pattn__i8 pattn__i8_rotl(pattn__i8 x, int k) { return pattn__i8_or(pattn__i8_shl(x, k), pattn__i8_shr(x, 32 - k)); }

/* One xoshiro128** step in every lane (the state stays in registers across a fill): _raw
   advances the state and returns the word the output is made from, _starstar is the output
   function rotl(5 x, 7) 9 (lane-wise, so it may run on 16 lanes holding two steps). */
#define PATTN__DEF_STARSTAR(ATTR, I, V)                                                      \
    ATTR PATTN__INLINE V I##_starstar(V x)                                                    \
    {                                                                                         \
        V rot = I##_rotl(I##_addv(I##_shl(x, 2), x), 7);                                      \
        return I##_addv(I##_shl(rot, 3), rot);                                                \
    }
#define PATTN__DEF_RNG8_NEXT(ATTR, I)                                                        \
    ATTR PATTN__INLINE pattn__i8 I##_rng8_raw(pattn__i8 *s)                                   \
    {                                                                                         \
        pattn__i8 x = s[1], t = I##_shl(s[1], 9);                                             \
        s[2] = I##_xor(s[2], s[0]);                                                           \
        s[3] = I##_xor(s[3], s[1]);                                                           \
        s[1] = I##_xor(s[1], s[2]);                                                           \
        s[0] = I##_xor(s[0], s[3]);                                                           \
        s[2] = I##_xor(s[2], t);                                                              \
        s[3] = I##_rotl(s[3], 11);                                                            \
        return x;                                                                             \
    }                                                                                         \
    ATTR PATTN__INLINE pattn__i8 I##_rng8_next(pattn__i8 *s) { return I##_starstar(I##_rng8_raw(s)); }
/* (instantiated at file level only: a macro argument handed on to another macro would be
   expanded, and the dispatching build renames these names per path) */
PATTN__DEF_STARSTAR(, pattn__i8, pattn__i8)
PATTN__DEF_RNG8_NEXT(, pattn__i8)
#define pattn__rng8_next pattn__i8_rng8_next

/* the two uniforms of Box-Muller from two 32-bit draws: u1 in (0, 1], u2 in [0, 1) */
#define PATTN__RNG8_U1(F, I, a) F##_mul(I##_tof(I##_add(I##_shr(a, 8), 1)), F##_set1(1.0f / 16777216.0f))
#define PATTN__RNG8_U2(F, I, b) F##_mul(I##_tof(I##_shr(b, 8)), F##_set1(1.0f / 16777216.0f))

/* 16 normals from two steps: Box-Muller as in pattn__normal16 */
PATTN__INLINE void pattn__rng8_normal16(pattn__i8 *s, float *out)
{
    pattn__i8 a = pattn__rng8_next(s), b = pattn__rng8_next(s);
    pattn__f8 c, sn;
    pattn__f8_boxmuller(PATTN__RNG8_U1(pattn__f8, pattn__i8, a), PATTN__RNG8_U2(pattn__f8, pattn__i8, b), &c, &sn);
    pattn__f8_store(out, c);
    pattn__f8_store(out + 8, sn);
}

#if PATTN__AVX512
/* The same stream 32 normals at a time: four 8-lane steps (with AVX-512VL's one-instruction
   rotate), then Box-Muller on 16 lanes holding two consecutive 16-normal blocks side by
   side. A tail of under 32 normals takes the 8-lane code's steps, so the stream advances
   exactly as there. */
#define pattn__v8_addv pattn__i8_addv
#define pattn__v8_shl pattn__i8_shl
#define pattn__v8_xor pattn__i8_xor
#define pattn__v8_rotl(x, k) _mm256_rol_epi32(x, k)
#define pattn__i16_rotl(x, k) _mm512_rol_epi32(x, k)
PATTN__DEF_STARSTAR(PATTN__T512, pattn__v8, pattn__i8)
PATTN__DEF_RNG8_NEXT(PATTN__T512, pattn__v8)
PATTN__DEF_STARSTAR(PATTN__T512, pattn__i16, pattn__i16)
/* four steps; a = outputs of steps 1 and 3 side by side, b = of steps 2 and 4 */
PATTN__T512 PATTN__INLINE void pattn__rng8_four_512(pattn__i8 *s, pattn__i16 *a, pattn__i16 *b)
{
    pattn__i8 r0 = pattn__v8_rng8_raw(s), r1 = pattn__v8_rng8_raw(s);
    pattn__i8 r2 = pattn__v8_rng8_raw(s), r3 = pattn__v8_rng8_raw(s);
    *a = pattn__i16_starstar(pattn__i16_join(r0, r2));
    *b = pattn__i16_starstar(pattn__i16_join(r1, r3));
}
PATTN__T512 static void pattn__rng8_normal_512(pattn__i8 *st, float *out, int n)
{
    pattn__i8 s[4];
    float tmp[16];
    int i, w;
    for (w = 0; w < 4; ++w) s[w] = st[w];
    for (i = 0; i <= n - 32; i += 32) {
        pattn__i16 a, b;
        pattn__f16 c, sn;
        pattn__rng8_four_512(s, &a, &b);
        pattn__f16_boxmuller(PATTN__RNG8_U1(pattn__f16, pattn__i16, a), PATTN__RNG8_U2(pattn__f16, pattn__i16, b), &c, &sn);
        pattn__f8_store(out + i, pattn__f16_lo(c));
        pattn__f8_store(out + i + 8, pattn__f16_lo(sn));
        pattn__f8_store(out + i + 16, pattn__f16_hi(c));
        pattn__f8_store(out + i + 24, pattn__f16_hi(sn));
    }
    for (; i <= n - 16; i += 16) pattn__rng8_normal16(s, out + i);
    if (i < n) {
        pattn__rng8_normal16(s, tmp);
        memcpy(out + i, tmp, (size_t)(n - i) * sizeof(float));
    }
    for (w = 0; w < 4; ++w) st[w] = s[w];
}
#endif

PATTN__KDEF void pattn_rng8_normal_f32(pattn_rng8 *r, float *out, int n)
{
    pattn__i8 s[4];
    float tmp[16];
    int i = 0, w;
    if (!r || !out || n < 0) pattn__bad(__func__, !r ? "r is NULL" : !out ? "out is NULL" : "n is negative");
    if (!r || !out || n <= 0) return;
    for (w = 0; w < 4; ++w) s[w] = pattn__i8_load(r->s[w]);
#if PATTN__AVX512
    if (n >= 32 && pattn__has_avx512()) {
        pattn__rng8_normal_512(s, out, n);
        i = n;
    }
#endif
    for (; i <= n - 16; i += 16) pattn__rng8_normal16(s, out + i);
    if (i < n) {
        pattn__rng8_normal16(s, tmp);
        memcpy(out + i, tmp, (size_t)(n - i) * sizeof(float));
    }
    for (w = 0; w < 4; ++w) pattn__i8_store(r->s[w], s[w]);
}

PATTN__KDEF void pattn_rng8_uniform_f32(pattn_rng8 *r, float *out, int n)
{
    pattn__i8 s[4];
    int i, w;
    if (!r || !out || n < 0) pattn__bad(__func__, !r ? "r is NULL" : !out ? "out is NULL" : "n is negative");
    if (!r || !out || n <= 0) return;
    for (w = 0; w < 4; ++w) s[w] = pattn__i8_load(r->s[w]);
    for (i = 0; i < n; i += 8) {
        pattn__f8 u = pattn__f8_mul(pattn__i8_to_f8(pattn__i8_shr(pattn__rng8_next(s), 8)), pattn__f8_set1(1.0f / 16777216.0f));
        if (i + 8 <= n) pattn__f8_store(out + i, u);
        else pattn__f8_store_part(out + i, n - i, u);
    }
    for (w = 0; w < 4; ++w) pattn__i8_store(r->s[w], s[w]);
}

/* ---- SIMD primitives -------------------------------------------------------------------- */

PATTN__INLINE float pattn__dot(const float *x, const float *y, int n)
{
    pattn__f8 acc = pattn__f8_zero();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = pattn__f8_fma(pattn__f8_load(x + i), pattn__f8_load(y + i), acc);
    if (i < n) acc = pattn__f8_fma(pattn__f8_load_part(x + i, n - i, 0.0f), pattn__f8_load_part(y + i, n - i, 0.0f), acc);
    return pattn__f8_hsum(acc);
}

/* y += a x */
PATTN__INLINE void pattn__axpy(int n, float a, const float *x, float *y)
{
    pattn__f8 va = pattn__f8_set1(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) pattn__f8_store(y + i, pattn__f8_fma(va, pattn__f8_load(x + i), pattn__f8_load(y + i)));
    if (i < n) pattn__f8_store_part(y + i, n - i, pattn__f8_fma(va, pattn__f8_load_part(x + i, n - i, 0.0f), pattn__f8_load_part(y + i, n - i, 0.0f)));
}

PATTN__INLINE void pattn__scale(int n, float a, float *x)
{
    pattn__f8 va = pattn__f8_set1(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) pattn__f8_store(x + i, pattn__f8_mul(va, pattn__f8_load(x + i)));
    if (i < n) pattn__f8_store_part(x + i, n - i, pattn__f8_mul(va, pattn__f8_load_part(x + i, n - i, 0.0f)));
}

PATTN__KDEF float pattn_dot_f32(const float *x, const float *y, int n)
{
    if (!x || !y || n < 0) {
        pattn__bad(__func__, !x ? "x is NULL" : !y ? "y is NULL" : "n is negative; it must be >= 0");
        return PATTN__NAN;
    }
    return pattn__dot(x, y, n);
}
PATTN__KDEF void pattn_axpy_f32(int n, float a, const float *x, float *y)
{
    if (!x || !y || n < 0) pattn__bad(__func__, !x ? "x is NULL" : !y ? "y is NULL" : "n is negative");
    else if (n > 0) pattn__axpy(n, a, x, y);
}
PATTN__KDEF void pattn_scale_f32(int n, float a, float *x)
{
    if (!x || n < 0) pattn__bad(__func__, !x ? "x is NULL" : "n is negative");
    else if (n > 0) pattn__scale(n, a, x);
}

PATTN__KDEF float pattn_expf(float x) { return pattn__f8_first(pattn__f8_exp(pattn__f8_set1(x))); }

PATTN__KDEF void pattn_exp_f32(const float *x, float *y, int n)
{
    int i = 0;
    if (!x || !y || n < 0) pattn__bad(__func__, !x ? "x is NULL" : !y ? "y is NULL" : "n is negative");
    if (!x || !y || n <= 0) return;
    for (; i + 8 <= n; i += 8) pattn__f8_store(y + i, pattn__f8_exp(pattn__f8_load(x + i)));
    if (i < n) pattn__f8_store_part(y + i, n - i, pattn__f8_exp(pattn__f8_load_part(x + i, n - i, 0.0f)));
}

/* Attention scores that overflowed float (|x'p| > FLT_MAX from finite inputs) are held at
   +-FLT_MAX, so exp(s - max) never sees inf - inf: the tokens that overflowed share the
   weight, as they would in the limit. NaN stays NaN. */
PATTN__INLINE void pattn__clamp_scores(float *x, int n)
{
    pattn__f8 hi = pattn__f8_set1(FLT_MAX), lo = pattn__f8_set1(-FLT_MAX);
    int i = 0;
    for (; i + 8 <= n; i += 8) pattn__f8_store(x + i, pattn__f8_min(hi, pattn__f8_max(lo, pattn__f8_load(x + i))));
    for (; i < n; ++i) x[i] = x[i] > FLT_MAX ? FLT_MAX : (x[i] < -FLT_MAX ? -FLT_MAX : x[i]);
}

PATTN__INLINE float pattn__max(const float *x, int n)
{
    pattn__f8 m = pattn__f8_set1(-INFINITY);
    int i = 0;
    for (; i + 8 <= n; i += 8) m = pattn__f8_max(pattn__f8_load(x + i), m);
    if (i < n) m = pattn__f8_max(pattn__f8_load_part(x + i, n - i, -INFINITY), m);
    return pattn__f8_hmax(m);
}

/* rows up to this length keep their exponentials on the stack between the two passes */
#define PATTN__SOFTMAX_STACK 1024

/* Three passes over the row: max (and min), exponentials and their sum, scaling; each
   unrolled twice with two accumulators, since a row is a short dependent chain. When the
   row's spread is under 87 no exponential can be subnormal and the cheaper exp_normal
   applies. `stream`: y is 32-byte aligned and the caller wants
   non-temporal stores. */
#define PATTN__SOFTMAX_EXP_PASS(EXP)                                                      \
    for (; i + 16 <= n; i += 16) {                                                       \
        t = EXP(pattn__f8_sub(pattn__f8_load(x + i), vm));                               \
        u = EXP(pattn__f8_sub(pattn__f8_load(x + i + 8), vm));                           \
        s0 = pattn__f8_add(s0, t);                                                       \
        s1 = pattn__f8_add(s1, u);                                                       \
        pattn__f8_store(e + i, t);                                                       \
        pattn__f8_store(e + i + 8, u);                                                   \
        if (((i + 16) & (PATTN__SOFTMAX_BLK - 1)) == 0) {                                \
            tot += (double)pattn__f8_hsum(pattn__f8_add(s0, s1));                        \
            s0 = s1 = pattn__f8_zero();                                                  \
        }                                                                                \
    }                                                                                    \
    if (i + 8 <= n) {                                                                    \
        t = EXP(pattn__f8_sub(pattn__f8_load(x + i), vm));                               \
        s0 = pattn__f8_add(s0, t);                                                       \
        pattn__f8_store(e + i, t);                                                       \
        i += 8;                                                                          \
    }

/* Long rows: the vector sums are folded into a double total every PATTN__SOFTMAX_BLK
   floats, so the sum keeps its accuracy at any length (rows up to that length, and the
   AVX-512 pairs, never fold and get the same bits). */
#define PATTN__SOFTMAX_BLK 4096
static void pattn__softmax_row(const float *x, float *y, int n, int stream)
{
    float buf[PATTN__SOFTMAX_STACK], *e = n <= PATTN__SOFTMAX_STACK ? buf : y, mx, mn, inv;
    double tot = 0.0;
    pattn__f8 a0 = pattn__f8_set1(-INFINITY), a1 = a0, b0 = pattn__f8_set1(INFINITY), b1 = b0;
    pattn__f8 vm, s0 = pattn__f8_zero(), s1 = s0, t, u, z = s0, zero = s0;
    int i;
    /* z sums min(0, max(0, x)): 0 for any non-NaN x (-inf included), NaN for a NaN, which
       max and min skip as a first operand and the fast exponential would not propagate */
    for (i = 0; i + 16 <= n; i += 16) {
        t = pattn__f8_load(x + i);
        u = pattn__f8_load(x + i + 8);
        z = pattn__f8_add(z, pattn__f8_add(pattn__f8_min(zero, pattn__f8_max(zero, t)),
                                           pattn__f8_min(zero, pattn__f8_max(zero, u))));
        a0 = pattn__f8_max(t, a0);
        a1 = pattn__f8_max(u, a1);
        b0 = pattn__f8_min(t, b0);
        b1 = pattn__f8_min(u, b1);
    }
    if (i + 8 <= n) {
        t = pattn__f8_load(x + i);
        z = pattn__f8_add(z, pattn__f8_min(zero, pattn__f8_max(zero, t)));
        a0 = pattn__f8_max(t, a0);
        b0 = pattn__f8_min(t, b0);
        i += 8;
    }
    if (i < n) {
        z = pattn__f8_add(z, pattn__f8_min(zero, pattn__f8_max(zero, pattn__f8_load_part(x + i, n - i, 0.0f))));
        a1 = pattn__f8_max(pattn__f8_load_part(x + i, n - i, -INFINITY), a1);
        b1 = pattn__f8_min(pattn__f8_load_part(x + i, n - i, INFINITY), b1);
    }
    mx = pattn__f8_hmax(pattn__f8_max(a0, a1));
    mn = -pattn__f8_hmax(pattn__f8_neg(pattn__f8_min(b0, b1)));
    /* a NaN input (z), or no finite maximum: NaN everywhere, as documented */
    if (!pattn__finite((double)mx) || pattn__f8_hsum(z) != 0.0f) {
        for (i = 0; i < n; ++i) y[i] = PATTN__NAN;
        return;
    }
    vm = pattn__f8_set1(mx);
    i = 0;
    if (mn - mx >= -87.0f) {
        PATTN__SOFTMAX_EXP_PASS(pattn__f8_exp_normal)
    } else {
        PATTN__SOFTMAX_EXP_PASS(pattn__f8_exp)
    }
    if (i < n) {
        t = pattn__f8_exp(pattn__f8_sub(pattn__f8_load_part(x + i, n - i, -INFINITY), vm));
        s1 = pattn__f8_add(s1, t);
        pattn__f8_store_part(e + i, n - i, t);
    }
    {
        float sf = pattn__f8_hsum(pattn__f8_add(s0, s1));
        inv = tot == 0.0 ? 1.0f / sf : (float)(1.0 / (tot + (double)sf));
    }
    if (inv != inv) { /* a NaN among the inputs */
        for (i = 0; i < n; ++i) y[i] = PATTN__NAN;
        return;
    }
    vm = pattn__f8_set1(inv);
    i = 0;
    if (stream) {
        for (; i + 8 <= n; i += 8) pattn__f8_store_stream(y + i, pattn__f8_mul(vm, pattn__f8_load(e + i)));
    } else {
        for (; i + 16 <= n; i += 16) {
            t = pattn__f8_mul(vm, pattn__f8_load(e + i));
            u = pattn__f8_mul(vm, pattn__f8_load(e + i + 8));
            pattn__f8_store(y + i, t);
            pattn__f8_store(y + i + 8, u);
        }
        if (i + 8 <= n) {
            pattn__f8_store(y + i, pattn__f8_mul(vm, pattn__f8_load(e + i)));
            i += 8;
        }
    }
    if (i < n) pattn__f8_store_part(y + i, n - i, pattn__f8_mul(vm, pattn__f8_load_part(e + i, n - i, 0.0f)));
}
#undef PATTN__SOFTMAX_EXP_PASS

#if PATTN__AVX512
/* Two rows of 16k floats (k <= 32) at once on 16 lanes, for finite rows of spread under 87
   (the common case): a row alone is a chain of dependent steps (max, exponentials, sum,
   division) too long for the out-of-order window to overlap with the next row, so the two
   rows' passes are interleaved. Half lo of each vector carries the first accumulator's 8
   floats and half hi the second's, as in the two-accumulator loops of pattn__softmax_row,
   so each row gets exactly its bits. `stream`: y 64-byte aligned. Returns 0, having
   written nothing, when either row needs the general path. */
PATTN__T512 static int pattn__softmax_pair_512(const float *x, float *y, int n, int stream)
{
    float eA[PATTN__SOFTMAX_STACK / 2], eB[PATTN__SOFTMAX_STACK / 2], mx[2], mn[2], inv[2];
    const float *xB = x + n;
    float *yB = y + n;
    pattn__f16 aA = pattn__f16_set1(-INFINITY), aB = aA, bA = pattn__f16_set1(INFINITY), bB = bA;
    pattn__f16 sA = pattn__f16_zero(), sB = sA, t, u, vA, vB, z = sA, zero = sA;
    int i;
    for (i = 0; i < n; i += 16) {
        t = pattn__f16_load(x + i); u = pattn__f16_load(xB + i);
        z = pattn__f16_add(z, pattn__f16_add(pattn__f16_min(zero, pattn__f16_max(zero, t)),
                                             pattn__f16_min(zero, pattn__f16_max(zero, u))));
        aA = pattn__f16_max(t, aA); bA = pattn__f16_min(t, bA);
        aB = pattn__f16_max(u, aB); bB = pattn__f16_min(u, bB);
    }
    mx[0] = pattn__f8_hmax(pattn__f8_max(pattn__f16_lo(aA), pattn__f16_hi(aA)));
    mx[1] = pattn__f8_hmax(pattn__f8_max(pattn__f16_lo(aB), pattn__f16_hi(aB)));
    mn[0] = -pattn__f8_hmax(pattn__f8_neg(pattn__f8_min(pattn__f16_lo(bA), pattn__f16_hi(bA))));
    mn[1] = -pattn__f8_hmax(pattn__f8_neg(pattn__f8_min(pattn__f16_lo(bB), pattn__f16_hi(bB))));
    if (pattn__f8_hsum(pattn__f8_add(pattn__f16_lo(z), pattn__f16_hi(z))) != 0.0f ||
        !pattn__finite((double)mx[0]) || !pattn__finite((double)mx[1]) || !(mn[0] - mx[0] >= -87.0f) ||
        !(mn[1] - mx[1] >= -87.0f))
        return 0;
    vA = pattn__f16_set1(mx[0]); vB = pattn__f16_set1(mx[1]);
    for (i = 0; i < n; i += 16) {
        t = pattn__f16_exp_normal(pattn__f16_sub(pattn__f16_load(x + i), vA));
        u = pattn__f16_exp_normal(pattn__f16_sub(pattn__f16_load(xB + i), vB));
        sA = pattn__f16_add(sA, t); sB = pattn__f16_add(sB, u);
        pattn__f16_store(eA + i, t); pattn__f16_store(eB + i, u);
    }
    inv[0] = 1.0f / pattn__f8_hsum(pattn__f8_add(pattn__f16_lo(sA), pattn__f16_hi(sA)));
    inv[1] = 1.0f / pattn__f8_hsum(pattn__f8_add(pattn__f16_lo(sB), pattn__f16_hi(sB)));
    if (inv[0] != inv[0] || inv[1] != inv[1]) return 0;
    vA = pattn__f16_set1(inv[0]); vB = pattn__f16_set1(inv[1]);
    for (i = 0; i < n; i += 16) {
        t = pattn__f16_mul(vA, pattn__f16_load(eA + i));
        u = pattn__f16_mul(vB, pattn__f16_load(eB + i));
        if (stream) {
            _mm512_stream_ps(y + i, t);
            _mm512_stream_ps(yB + i, u);
        } else {
            pattn__f16_store(y + i, t);
            pattn__f16_store(yB + i, u);
        }
    }
    return 1;
}
#endif

/* softmax of one row held in cache (no streaming stores); y may alias x */
PATTN__INLINE void pattn__softmax(const float *x, float *y, int n) { pattn__softmax_row(x, y, n, 0); }

PATTN__KDEF void pattn_softmax_f32(const float *x, float *y, int n)
{
    if (!x || !y || n < 0) pattn__bad(__func__, !x ? "x is NULL" : !y ? "y is NULL" : "n is negative");
    if (!x || !y || n <= 0) return;
    pattn__softmax(x, y, n);
}

PATTN__KDEF void pattn_softmax_rows_f32(const float *x, float *y, int rows, int n)
{
    int stream, pairs = 0;
    if (!x || !y || rows < 0 || n < 0) pattn__bad(__func__, !x ? "x is NULL" : !y ? "y is NULL" : "rows or n is negative");
    if (!x || !y || rows <= 0 || n <= 0) return;
    if (!pattn__fits(rows, n, 1, sizeof(float))) { pattn__bad(__func__, "rows*n = %d*%d would not fit in size_t", rows, n); return; }
    /* outputs far larger than the caches go around them, when every row stays aligned */
    stream = (double)rows * n * sizeof(float) > 16e6 && n % 8 == 0 && ((uintptr_t)y & 31) == 0 && x != y;
#if PATTN__AVX512
    pairs = n % 16 == 0 && n <= PATTN__SOFTMAX_STACK / 2 && rows >= 2 && (!stream || ((uintptr_t)y & 63) == 0) &&
            pattn__has_avx512();
#endif
    /* every thread fences its own streaming stores */
    PATTN__OMP_PAR
    {
        long r;
        if (pairs) {
#if PATTN__AVX512
            PATTN__OMP_FOR_NOWAIT
            for (r = 0; r < (long)rows / 2; ++r) {
                const float *xr = x + (size_t)(2 * r) * (size_t)n;
                float *yr = y + (size_t)(2 * r) * (size_t)n;
                if (!pattn__softmax_pair_512(xr, yr, n, stream)) {
                    pattn__softmax_row(xr, yr, n, stream);
                    pattn__softmax_row(xr + n, yr + n, n, stream);
                }
            }
#endif
        } else {
            PATTN__OMP_FOR_NOWAIT
            for (r = 0; r < (long)rows; ++r)
                pattn__softmax_row(x + (size_t)r * (size_t)n, y + (size_t)r * (size_t)n, n, stream);
        }
        if (stream) pattn__stream_fence();
    }
    if (pairs && (rows & 1))
        pattn__softmax_row(x + (size_t)(rows - 1) * (size_t)n, y + (size_t)(rows - 1) * (size_t)n, n, stream);
    if (stream) pattn__stream_fence();
}

PATTN__KDEF void pattn_matvec_f32(const float *X, int T, int d, const float *p, float *s)
{
    int t;
    if (!X || !p || !s || T < 0 || d < 0) pattn__bad(__func__, !X ? "X is NULL" : !p ? "p is NULL" : !s ? "s is NULL" : "T or d is negative");
    if (!X || !p || !s || T <= 0 || d <= 0) return;
    if (!pattn__fits(T, d, 1, sizeof(float))) { pattn__bad(__func__, "T*d = %d*%d would not fit in size_t", T, d); return; }
    for (t = 0; t < T; ++t) s[t] = pattn__dot(X + (size_t)t * (size_t)d, p, d);
}

PATTN__KDEF void pattn_matvec_t_f32(const float *X, int T, int d, const float *a, float *h)
{
    int t;
    if (!X || !a || !h || T < 0 || d < 0) pattn__bad(__func__, !X ? "X is NULL" : !a ? "a is NULL" : !h ? "h is NULL" : "T or d is negative");
    if (!X || !a || !h || T <= 0 || d <= 0) return;
    if (!pattn__fits(T, d, 1, sizeof(float))) { pattn__bad(__func__, "T*d = %d*%d would not fit in size_t", T, d); return; }
    memset(h, 0, (size_t)d * sizeof(float));
    for (t = 0; t < T; ++t) pattn__axpy(d, a[t], X + (size_t)t * (size_t)d, h);
}

/* ---- prompt-attention kernel ------------------------------------------------------------ */

/* Both scores of one token in one sweep over its row: s = x.p and u = x.v. */
PATTN__INLINE void pattn__dot2(const float *x, const float *p, const float *v, int d, float *s, float *u)
{
    pattn__f8 as = pattn__f8_zero(), au = pattn__f8_zero(), xv;
    int i = 0;
    for (; i + 8 <= d; i += 8) {
        xv = pattn__f8_load(x + i);
        as = pattn__f8_fma(xv, pattn__f8_load(p + i), as);
        au = pattn__f8_fma(xv, pattn__f8_load(v + i), au);
    }
    if (i < d) {
        xv = pattn__f8_load_part(x + i, d - i, 0.0f);
        as = pattn__f8_fma(xv, pattn__f8_load_part(p + i, d - i, 0.0f), as);
        au = pattn__f8_fma(xv, pattn__f8_load_part(v + i, d - i, 0.0f), au);
    }
    *s = pattn__f8_hsum(as);
    *u = pattn__f8_hsum(au);
}

/* H += e x and (if G) G += eu x, over d coordinates */
PATTN__INLINE void pattn__acc2(const float *x, int d, float e, float eu, float *H, float *G)
{
    pattn__f8 ve = pattn__f8_set1(e), veu = pattn__f8_set1(eu), xv;
    int i = 0;
    for (; i + 8 <= d; i += 8) {
        xv = pattn__f8_load(x + i);
        pattn__f8_store(H + i, pattn__f8_fma(ve, xv, pattn__f8_load(H + i)));
        if (G) pattn__f8_store(G + i, pattn__f8_fma(veu, xv, pattn__f8_load(G + i)));
    }
    if (i < d) {
        int rem = d - i;
        xv = pattn__f8_load_part(x + i, rem, 0.0f);
        pattn__f8_store_part(H + i, rem, pattn__f8_fma(ve, xv, pattn__f8_load_part(H + i, rem, 0.0f)));
        if (G) pattn__f8_store_part(G + i, rem, pattn__f8_fma(veu, xv, pattn__f8_load_part(G + i, rem, 0.0f)));
    }
}

/* The stack holds the accumulators (3d doubles) up to d = PATTN__PA_STACK/3; larger d
   allocates them. */
#define PATTN__PA_STACK 768
/* Tokens per float block of the running sums; blocks are added into double totals, so the
   error of h and grad_p is that of a PATTN__PA_BLK-term float sum at any T. */
#define PATTN__PA_BLK 256

PATTN__INLINE float pattn__clamp_score(float s)
{
    return s > FLT_MAX ? FLT_MAX : (s < -FLT_MAX ? -FLT_MAX : s);
}

PATTN__KDEF float pattn_pa_forward_backward_f32(const float *X, int T, int d, const float *p,
                                              const float *v, float *h, float *grad_p)
{
    double stk[PATTN__PA_STACK], *buf, *Hd, *Gd, Z = 0.0, F = 0.0, fd;
    float *Hb, *Gb, mx = -INFINITY, s, u, e, c = 0.0f;
    int t, j, nb = 0;
    if (!X || !p || !v) return (float)PATTN__FAIL_NAN(__func__, "%s is NULL", !X ? "X" : !p ? "p" : "v");
    if (T < 1 || d < 1) return (float)PATTN__FAIL_NAN(__func__, "%s is %d; it must be >= 1", T < 1 ? "T" : "d", T < 1 ? T : d);
    if (!pattn__fits(T, d, 1, sizeof(float))) return (float)PATTN__FAIL_NAN(__func__, "T*d = %d*%d would not fit in size_t", T, d);
    if (!pattn__all_finite_f32(p, d) || !pattn__all_finite_f32(v, d))
        return (float)PATTN__FAIL_NAN(__func__, "%s holds a NaN or infinite value", pattn__all_finite_f32(p, d) ? "v" : "p");
    if (h && h == grad_p) return (float)PATTN__FAIL_NAN(__func__, "h and grad_p are the same array; they must not overlap");
    if (!h && !grad_p) { /* f alone: scalars only */
        for (t = 0; t < T; ++t) {
            pattn__dot2(X + (size_t)t * (size_t)d, p, v, d, &s, &u);
            s = pattn__clamp_score(s);
            if (s > mx) { e = pattn_expf(mx - s); Z *= (double)e; F *= (double)e; mx = s; }
            e = pattn_expf(s - mx);
            Z += (double)e;
            F += (double)e * (double)u; /* exact product: no rounding to fuse */
        }
        return (float)(F / Z);
    }
    /* double totals Hd, Gd (2d doubles) and float block sums Hb, Gb (2d floats) */
    if ((size_t)d <= PATTN__PA_STACK / 3) {
        buf = stk;
    } else {
        buf = (double *)PATTN_MALLOC(3 * (size_t)d * sizeof(double));
        if (!buf) return (float)PATTN__FAIL_NAN(__func__, "cannot allocate %s", "scratch memory");
    }
    Hd = buf;
    Gd = Hd + d;
    Hb = (float *)(void *)(Gd + d);
    Gb = Hb + d;
    memset(buf, 0, 3 * (size_t)d * sizeof(double));
    for (t = 0; t < T; ++t) {
        const float *x = X + (size_t)t * (size_t)d;
        pattn__dot2(x, p, v, d, &s, &u);
        s = pattn__clamp_score(s);
        if (s > mx) { /* the maximum moved: rescale what was summed under the old one */
            e = pattn_expf(mx - s);
            Z *= (double)e;
            F *= (double)e;
            if (t > 0) { /* and re-centre G on the new leading token's u */
                double dc = (double)c - (double)u;
                for (j = 0; j < d; ++j) {
                    Hd[j] *= (double)e;
                    Gd[j] = Gd[j] * (double)e + dc * Hd[j];
                }
                pattn__scale(d, e, Hb);
                pattn__scale(d, e, Gb);
                pattn__axpy(d, c - u, Hb, Gb);
            }
            mx = s;
            c = u;
        }
        e = pattn_expf(s - mx);
        Z += (double)e;
        F += (double)e * (double)u;
        pattn__acc2(x, d, e, e * (u - c), Hb, Gb);
        if (++nb == PATTN__PA_BLK || t == T - 1) {
            for (j = 0; j < d; ++j) {
                Hd[j] += (double)Hb[j];
                Gd[j] += (double)Gb[j];
                Hb[j] = Gb[j] = 0.0f;
            }
            nb = 0;
        }
    }
    /* f = F/Z, h = H/Z and grad_p = (G - (f - c) H)/Z, all in double: G is summed centred
       on the leading token's c = u, which makes the gradient at T = 1 exactly 0 and keeps
       e (u - c) x finite where e u x would overflow */
    fd = F / Z;
    for (j = 0; j < d; ++j) {
        if (grad_p) grad_p[j] = (float)((Gd[j] - (fd - (double)c) * Hd[j]) / Z);
        if (h) h[j] = (float)(Hd[j] / Z);
    }
    if (buf != stk) PATTN_FREE(buf);
    return (float)fd;
}

/* ==== paper 1 models: PA, LPA, SA, LIN ========================================== */

/* Samples per block: the unit of partial gradient sums (added in block order, so results do
   not depend on the thread count). 64 samples up to 2^14 floats a sample; larger samples
   take fewer, so that a block stays near 2^20 floats and a batch of a few long samples still
   splits over the threads. A function of the shape alone, never of the thread count.
   Blocks per group: partials held at once, which bounds the workspace independently of n;
   each group ends in a barrier, so groups are made large (a barrier costs a whole time slice
   when another process holds a core). SA's partials carry a d x d gradient, hence its
   smaller groups. */
#define PATTN__P1_BLK 64
PATTN__INLINE long pattn__p1_blk(int T, int d)
{
    double td = (double)T * (double)d;
    long b = td <= 16384.0 ? PATTN__P1_BLK : (long)(1048576.0 / td);
    return b < 1 ? 1 : b;
}
/* Samples whose losses are taken together: a logistic loss is a chain of some hundred
   dependent double operations, which at small sizes cost more than the sample's attention;
   eight independent chains overlap. Their H and G wait in the thread's slot meanwhile
   (2d floats each). SA keeps one, as its backward pass reads the sample's scratch. */
#define PATTN__P1_LB 8
PATTN__INLINE int pattn__p1_lb(pattn_model m, int d) { return m == PATTN_SA || d > 512 ? 1 : PATTN__P1_LB; }
/* PA samples of at most this many floats go PATTN__P1_LB at a time through one score pass
   (pattn__p1_pa_few): below it, a sample's fixed costs outweigh its arithmetic. */
#define PATTN__P1_FEW 512
PATTN__INLINE int pattn__p1_few(pattn_model m, int T, int d) { return m == PATTN_PA && (double)T * (double)d <= PATTN__P1_FEW; }
#define PATTN__P1_GROUP 256
#define PATTN__P1_GROUP_SA 32


PATTN__INLINE size_t pattn__p1_round16(size_t x) { return (x + 15) & ~(size_t)15; }

/* Threads for a loop over `units` independent pieces touching about `work` floats: one
   below ~256K (tens of microseconds: a fork/join costs microseconds when idle, and a whole
   time slice when another process holds the other core), never more than there are pieces.
   The results never depend on this choice. */
static int pattn__p1_threads(int nth, double work, long units)
{
    if (work < 262144.0 || units < 2) return 1;
    return units < (long)nth ? (int)units : nth;
}

/* H (+)= X'a for a T x d sample. Column chunks outer, tokens inner: the accumulators stay in
   registers (four independent chains per chunk of 32), and each lane sums over t in order, so
   the result does not depend on the chunking. */
static void pattn__p1_xt1(const float *X, int T, int d, const float *a, float *H, int add)
{
    int j = 0, t;
    for (; j + 32 <= d; j += 32) {
        pattn__f8 h0 = pattn__f8_zero(), h1 = h0, h2 = h0, h3 = h0;
        if (add) {
            h0 = pattn__f8_load(H + j); h1 = pattn__f8_load(H + j + 8);
            h2 = pattn__f8_load(H + j + 16); h3 = pattn__f8_load(H + j + 24);
        }
        for (t = 0; t < T; ++t) {
            const float *x = X + (size_t)t * (size_t)d + j;
            pattn__f8 va = pattn__f8_set1(a[t]);
            h0 = pattn__f8_fma(va, pattn__f8_load(x), h0);
            h1 = pattn__f8_fma(va, pattn__f8_load(x + 8), h1);
            h2 = pattn__f8_fma(va, pattn__f8_load(x + 16), h2);
            h3 = pattn__f8_fma(va, pattn__f8_load(x + 24), h3);
        }
        pattn__f8_store(H + j, h0); pattn__f8_store(H + j + 8, h1);
        pattn__f8_store(H + j + 16, h2); pattn__f8_store(H + j + 24, h3);
    }
    for (; j + 8 <= d; j += 8) {
        pattn__f8 h0 = add ? pattn__f8_load(H + j) : pattn__f8_zero();
        for (t = 0; t < T; ++t) h0 = pattn__f8_fma(pattn__f8_set1(a[t]), pattn__f8_load(X + (size_t)t * (size_t)d + j), h0);
        pattn__f8_store(H + j, h0);
    }
    if (j < d) {
        int rem = d - j;
        pattn__f8 h0 = add ? pattn__f8_load_part(H + j, rem, 0.0f) : pattn__f8_zero();
        for (t = 0; t < T; ++t) h0 = pattn__f8_fma(pattn__f8_set1(a[t]), pattn__f8_load_part(X + (size_t)t * (size_t)d + j, rem, 0.0f), h0);
        pattn__f8_store_part(H + j, rem, h0);
    }
}

/* A cache hint: no effect on any result. */
#ifndef PATTN__P1_PREFETCH
#if defined(__GNUC__) || defined(__clang__)
#define PATTN__P1_PREFETCH(p) __builtin_prefetch((const void *)(p), 0, 3)
#else
#define PATTN__P1_PREFETCH(p) ((void)(p))
#endif
#endif

#if PATTN__AVX512
/* The column chunks of pattn__p1_xt2 on 16 lanes, 64 columns per sweep: each column is a
   lane of its own with the same chain over t as in the 8-lane code, so the grouping cannot
   change a bit. Returns the first column it left for the 8-lane code. */
PATTN__T512 static int pattn__p1_xt2_512(const float *X, int T, int d, const float *a, const float *b, float *H,
                                         float *G, const float *nx)
{
    int j = 0, t;
    /* four named accumulator pairs, not an array: at -O2 GCC keeps an array of vectors in
       memory, which costs a load and a store per FMA */
    for (; j + 64 <= d; j += 64) {
        pattn__f16 h0 = pattn__f16_zero(), h1 = h0, h2 = h0, h3 = h0, g0 = h0, g1 = h0, g2 = h0, g3 = h0, x0, x1, x2, x3;
        for (t = 0; t < T; ++t) {
            const float *x = X + (size_t)t * (size_t)d + j, *nr = nx + (size_t)t * (size_t)d + j;
            pattn__f16 va = pattn__f16_set1(a[t]), vb = pattn__f16_set1(b[t]);
            x0 = pattn__f16_load(x); x1 = pattn__f16_load(x + 16);
            x2 = pattn__f16_load(x + 32); x3 = pattn__f16_load(x + 48);
            PATTN__P1_PREFETCH(nr); PATTN__P1_PREFETCH(nr + 16);
            PATTN__P1_PREFETCH(nr + 32); PATTN__P1_PREFETCH(nr + 48);
            h0 = pattn__f16_fma(va, x0, h0); g0 = pattn__f16_fma(vb, x0, g0);
            h1 = pattn__f16_fma(va, x1, h1); g1 = pattn__f16_fma(vb, x1, g1);
            h2 = pattn__f16_fma(va, x2, h2); g2 = pattn__f16_fma(vb, x2, g2);
            h3 = pattn__f16_fma(va, x3, h3); g3 = pattn__f16_fma(vb, x3, g3);
        }
        pattn__f16_store(H + j, h0); pattn__f16_store(H + j + 16, h1);
        pattn__f16_store(H + j + 32, h2); pattn__f16_store(H + j + 48, h3);
        pattn__f16_store(G + j, g0); pattn__f16_store(G + j + 16, g1);
        pattn__f16_store(G + j + 32, g2); pattn__f16_store(G + j + 48, g3);
    }
    for (; j + 16 <= d; j += 16) {
        pattn__f16 h0 = pattn__f16_zero(), g0 = h0;
        for (t = 0; t < T; ++t) {
            pattn__f16 x0 = pattn__f16_load(X + (size_t)t * (size_t)d + j);
            PATTN__P1_PREFETCH(nx + (size_t)t * (size_t)d + j);
            h0 = pattn__f16_fma(pattn__f16_set1(a[t]), x0, h0);
            g0 = pattn__f16_fma(pattn__f16_set1(b[t]), x0, g0);
        }
        pattn__f16_store(H + j, h0);
        pattn__f16_store(G + j, g0);
    }
    return j;
}
#endif

/* H = X'a and G = X'b in one sweep over the sample (eight chains per chunk of 32). This
   second pass runs on L1-resident data and leaves the memory bus idle, so it prefetches the
   rows of a later sample nx (a T x d sample; X itself when there is none). */
static void pattn__p1_xt2(const float *X, int T, int d, const float *a, const float *b, float *H, float *G,
                          const float *nx)
{
    int j = 0, t;
#if PATTN__AVX512
    if (pattn__has_avx512()) j = pattn__p1_xt2_512(X, T, d, a, b, H, G, nx);
#endif
    for (; j + 32 <= d; j += 32) {
        pattn__f8 h0 = pattn__f8_zero(), h1 = h0, h2 = h0, h3 = h0, g0 = h0, g1 = h0, g2 = h0, g3 = h0;
        for (t = 0; t < T; ++t) {
            const float *x = X + (size_t)t * (size_t)d + j;
            pattn__f8 va = pattn__f8_set1(a[t]), vb = pattn__f8_set1(b[t]);
            PATTN__P1_PREFETCH(nx + (size_t)t * (size_t)d + j);
            PATTN__P1_PREFETCH(nx + (size_t)t * (size_t)d + j + 16);
            pattn__f8 x0 = pattn__f8_load(x), x1 = pattn__f8_load(x + 8);
            pattn__f8 x2 = pattn__f8_load(x + 16), x3 = pattn__f8_load(x + 24);
            h0 = pattn__f8_fma(va, x0, h0); g0 = pattn__f8_fma(vb, x0, g0);
            h1 = pattn__f8_fma(va, x1, h1); g1 = pattn__f8_fma(vb, x1, g1);
            h2 = pattn__f8_fma(va, x2, h2); g2 = pattn__f8_fma(vb, x2, g2);
            h3 = pattn__f8_fma(va, x3, h3); g3 = pattn__f8_fma(vb, x3, g3);
        }
        pattn__f8_store(H + j, h0); pattn__f8_store(H + j + 8, h1);
        pattn__f8_store(H + j + 16, h2); pattn__f8_store(H + j + 24, h3);
        pattn__f8_store(G + j, g0); pattn__f8_store(G + j + 8, g1);
        pattn__f8_store(G + j + 16, g2); pattn__f8_store(G + j + 24, g3);
    }
    for (; j + 8 <= d; j += 8) {
        pattn__f8 h0 = pattn__f8_zero(), g0 = h0;
        for (t = 0; t < T; ++t) {
            pattn__f8 x0 = pattn__f8_load(X + (size_t)t * (size_t)d + j);
            h0 = pattn__f8_fma(pattn__f8_set1(a[t]), x0, h0);
            g0 = pattn__f8_fma(pattn__f8_set1(b[t]), x0, g0);
        }
        pattn__f8_store(H + j, h0);
        pattn__f8_store(G + j, g0);
    }
    if (j < d) {
        int rem = d - j;
        pattn__f8 h0 = pattn__f8_zero(), g0 = h0;
        for (t = 0; t < T; ++t) {
            pattn__f8 x0 = pattn__f8_load_part(X + (size_t)t * (size_t)d + j, rem, 0.0f);
            h0 = pattn__f8_fma(pattn__f8_set1(a[t]), x0, h0);
            g0 = pattn__f8_fma(pattn__f8_set1(b[t]), x0, g0);
        }
        pattn__f8_store_part(H + j, rem, h0);
        pattn__f8_store_part(G + j, rem, g0);
    }
}

/* Long samples: the token sums of pattn__p1_xt1/xt2 and of the scores run over blocks of
   PATTN__P1_TBLK tokens whose float sums are added into double totals, so their error is
   that of a PATTN__P1_TBLK-term float sum at any T. Samples up to that length take the
   single pass and keep their bits. dw: PATTN__P1_DW(d) doubles of scratch. */
#define PATTN__P1_TBLK 4096
#define PATTN__P1_DW(d) (3 * (size_t)(d))
/* pattn__p1_xt2 on two samples A and B of the same shape at once, their chains interleaved:
   for short narrow samples (pattn__p1_pa_few, d < 64), whose one or two accumulators a
   column chunk would otherwise wait on each other's FMA latency. Each column is one chain
   over t from +0, here as there, so the chunking is free and each sample gets
   pattn__p1_xt2's bits. nx, nx2: samples whose rows are prefetched. */
static void pattn__p1_xt2x2(const float *XA, const float *XB, int T, int d, const float *aA, const float *bA,
                            const float *aB, const float *bB, float *HA, float *GA, float *HB, float *GB,
                            const float *nx, const float *nx2)
{
    size_t dd = (size_t)d;
    int j = 0, t;
    for (; j + 16 <= d; j += 16) {
        pattn__f8 hA0 = pattn__f8_zero(), hA1 = hA0, gA0 = hA0, gA1 = hA0, hB0 = hA0, hB1 = hA0, gB0 = hA0, gB1 = hA0;
        for (t = 0; t < T; ++t) {
            const float *xa = XA + (size_t)t * dd + j, *xb = XB + (size_t)t * dd + j;
            pattn__f8 vaA = pattn__f8_set1(aA[t]), vbA = pattn__f8_set1(bA[t]);
            pattn__f8 vaB = pattn__f8_set1(aB[t]), vbB = pattn__f8_set1(bB[t]);
            pattn__f8 xa0 = pattn__f8_load(xa), xa1 = pattn__f8_load(xa + 8);
            pattn__f8 xb0 = pattn__f8_load(xb), xb1 = pattn__f8_load(xb + 8);
            PATTN__P1_PREFETCH(nx + (size_t)t * dd + j);
            PATTN__P1_PREFETCH(nx2 + (size_t)t * dd + j);
            hA0 = pattn__f8_fma(vaA, xa0, hA0); gA0 = pattn__f8_fma(vbA, xa0, gA0);
            hA1 = pattn__f8_fma(vaA, xa1, hA1); gA1 = pattn__f8_fma(vbA, xa1, gA1);
            hB0 = pattn__f8_fma(vaB, xb0, hB0); gB0 = pattn__f8_fma(vbB, xb0, gB0);
            hB1 = pattn__f8_fma(vaB, xb1, hB1); gB1 = pattn__f8_fma(vbB, xb1, gB1);
        }
        pattn__f8_store(HA + j, hA0); pattn__f8_store(HA + j + 8, hA1);
        pattn__f8_store(GA + j, gA0); pattn__f8_store(GA + j + 8, gA1);
        pattn__f8_store(HB + j, hB0); pattn__f8_store(HB + j + 8, hB1);
        pattn__f8_store(GB + j, gB0); pattn__f8_store(GB + j + 8, gB1);
    }
    for (; j < d; j += 8) { /* 8 columns, or the last 1 to 7 */
        int rem = d - j < 8 ? d - j : 8;
        pattn__f8 hA = pattn__f8_zero(), gA = hA, hB = hA, gB = hA;
        for (t = 0; t < T; ++t) {
            pattn__f8 xa = pattn__f8_load_part(XA + (size_t)t * dd + j, rem, 0.0f);
            pattn__f8 xb = pattn__f8_load_part(XB + (size_t)t * dd + j, rem, 0.0f);
            if (!(j & 15)) {
                PATTN__P1_PREFETCH(nx + (size_t)t * dd + j);
                PATTN__P1_PREFETCH(nx2 + (size_t)t * dd + j);
            }
            hA = pattn__f8_fma(pattn__f8_set1(aA[t]), xa, hA); gA = pattn__f8_fma(pattn__f8_set1(bA[t]), xa, gA);
            hB = pattn__f8_fma(pattn__f8_set1(aB[t]), xb, hB); gB = pattn__f8_fma(pattn__f8_set1(bB[t]), xb, gB);
        }
        pattn__f8_store_part(HA + j, rem, hA); pattn__f8_store_part(GA + j, rem, gA);
        pattn__f8_store_part(HB + j, rem, hB); pattn__f8_store_part(GB + j, rem, gB);
    }
}

static void pattn__p1_xtl(const float *X, int T, int d, const float *a, const float *b, float *H,
                          float *G, const float *nx, double *dw)
{
    double *hd, *gd;
    float *tf, *tg;
    int t0, j;
    if (T <= PATTN__P1_TBLK) { /* dw is not needed (and may be NULL) */
        if (G) pattn__p1_xt2(X, T, d, a, b, H, G, nx);
        else pattn__p1_xt1(X, T, d, a, H, 0);
        return;
    }
    hd = dw;
    gd = dw + d;
    tf = (float *)(void *)(dw + 2 * (size_t)d);
    tg = tf + d;
    memset(hd, 0, 2 * (size_t)d * sizeof(double));
    for (t0 = 0; t0 < T; t0 += PATTN__P1_TBLK) {
        int n = T - t0 < PATTN__P1_TBLK ? T - t0 : PATTN__P1_TBLK;
        const float *Xb = X + (size_t)t0 * (size_t)d;
        if (G) pattn__p1_xt2(Xb, n, d, a + t0, b + t0, tf, tg, nx);
        else pattn__p1_xt1(Xb, n, d, a + t0, tf, 0);
        for (j = 0; j < d; ++j) {
            hd[j] += (double)tf[j];
            if (G) gd[j] += (double)tg[j];
        }
    }
    for (j = 0; j < d; ++j) {
        H[j] = (float)hd[j];
        if (G) G[j] = (float)gd[j];
    }
}

/* x'y over n floats, blocked in the same way for n > PATTN__P1_TBLK */
static float pattn__p1_dotl(const float *x, const float *y, int n)
{
    double t = 0.0;
    int i;
    if (n <= PATTN__P1_TBLK) return pattn__dot(x, y, n);
    for (i = 0; i < n; i += PATTN__P1_TBLK)
        t += (double)pattn__dot(x + i, y + i, n - i < PATTN__P1_TBLK ? n - i : PATTN__P1_TBLK);
    return (float)t;
}

/* x = (x o (u - c)) k over n floats: SA's backward weights a_t o (u - f_t) scale/T */
static void pattn__p1_mul_shift(float *x, const float *u, float c, float k, int n)
{
    pattn__f8 vc = pattn__f8_set1(c), vk = pattn__f8_set1(k);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        pattn__f8_store(x + i, pattn__f8_mul(pattn__f8_mul(pattn__f8_load(x + i), pattn__f8_sub(pattn__f8_load(u + i), vc)), vk));
    if (i < n) {
        int rem = n - i;
        pattn__f8 r = pattn__f8_mul(pattn__f8_mul(pattn__f8_load_part(x + i, rem, 0.0f), pattn__f8_sub(pattn__f8_load_part(u + i, rem, 0.0f), vc)), vk);
        pattn__f8_store_part(x + i, rem, r);
    }
}

/* (s_t..s_t+3, u_t..u_t+3) of four consecutive rows: four tokens share each load of p and
   v (eight independent chains), and each dot is one 8-lane chain over d followed by a
   horizontal sum (hsum8 = eight hsums at once). */
PATTN__INLINE pattn__f8 pattn__p1_scores4(const float *X, int d, const float *p, const float *v)
{
    const float *x0 = X, *x1 = x0 + d, *x2 = x1 + d, *x3 = x2 + d;
    pattn__f8 s0 = pattn__f8_zero(), s1 = s0, s2 = s0, s3 = s0, u0 = s0, u1 = s0, u2 = s0, u3 = s0, vp, vv, xv;
    int j;
    for (j = 0; j + 8 <= d; j += 8) {
        vp = pattn__f8_load(p + j);
        vv = pattn__f8_load(v + j);
        xv = pattn__f8_load(x0 + j); s0 = pattn__f8_fma(xv, vp, s0); u0 = pattn__f8_fma(xv, vv, u0);
        xv = pattn__f8_load(x1 + j); s1 = pattn__f8_fma(xv, vp, s1); u1 = pattn__f8_fma(xv, vv, u1);
        xv = pattn__f8_load(x2 + j); s2 = pattn__f8_fma(xv, vp, s2); u2 = pattn__f8_fma(xv, vv, u2);
        xv = pattn__f8_load(x3 + j); s3 = pattn__f8_fma(xv, vp, s3); u3 = pattn__f8_fma(xv, vv, u3);
    }
    if (j < d) {
        int rem = d - j;
        vp = pattn__f8_load_part(p + j, rem, 0.0f);
        vv = pattn__f8_load_part(v + j, rem, 0.0f);
        xv = pattn__f8_load_part(x0 + j, rem, 0.0f); s0 = pattn__f8_fma(xv, vp, s0); u0 = pattn__f8_fma(xv, vv, u0);
        xv = pattn__f8_load_part(x1 + j, rem, 0.0f); s1 = pattn__f8_fma(xv, vp, s1); u1 = pattn__f8_fma(xv, vv, u1);
        xv = pattn__f8_load_part(x2 + j, rem, 0.0f); s2 = pattn__f8_fma(xv, vp, s2); u2 = pattn__f8_fma(xv, vv, u2);
        xv = pattn__f8_load_part(x3 + j, rem, 0.0f); s3 = pattn__f8_fma(xv, vp, s3); u3 = pattn__f8_fma(xv, vv, u3);
    }
    return pattn__f8_hsum8(s0, s1, s2, s3, u0, u1, u2, u3);
}

#if PATTN__AVX512
/* The eight-token steps of pattn__p1_scores2 on 16 lanes, for d a multiple of 8: lane half
   lo of pair k holds token t+k's 8-lane chain of pattn__p1_scores4 and half hi token
   t+4+k's, so the two halves feed the same hsum8 reductions. Returns the tokens done. */
PATTN__T512 static int pattn__p1_scores_512(const float *X, int T, int d, const float *p, const float *v, float *s,
                                            float *u, const float *nx)
{
    int t = 0, j, t8 = T - T % 8;
    size_t dd = (size_t)d;
    if (d % 8) return 0;
    for (; t < t8; t += 8) {
        const float *x = X + (size_t)t * dd;
        /* rows k and k + 4 share a register; named accumulators, as in pattn__p1_xt2_512 */
        pattn__f16 s0 = pattn__f16_zero(), s1 = s0, s2 = s0, s3 = s0, u0 = s0, u1 = s0, u2 = s0, u3 = s0, vp, vv, xz;
        pattn__f8 lo, hi;
        if (nx)
            for (j = 0; j < 8 * d; j += 16) PATTN__P1_PREFETCH(nx + (size_t)t * dd + j);
        for (j = 0; j < d; j += 8) {
            vp = pattn__f16_dup8(p + j);
            vv = pattn__f16_dup8(v + j);
            xz = pattn__f16_join(pattn__f8_load(x + j), pattn__f8_load(x + 4 * dd + j));
            s0 = pattn__f16_fma(xz, vp, s0); u0 = pattn__f16_fma(xz, vv, u0);
            xz = pattn__f16_join(pattn__f8_load(x + dd + j), pattn__f8_load(x + 5 * dd + j));
            s1 = pattn__f16_fma(xz, vp, s1); u1 = pattn__f16_fma(xz, vv, u1);
            xz = pattn__f16_join(pattn__f8_load(x + 2 * dd + j), pattn__f8_load(x + 6 * dd + j));
            s2 = pattn__f16_fma(xz, vp, s2); u2 = pattn__f16_fma(xz, vv, u2);
            xz = pattn__f16_join(pattn__f8_load(x + 3 * dd + j), pattn__f8_load(x + 7 * dd + j));
            s3 = pattn__f16_fma(xz, vp, s3); u3 = pattn__f16_fma(xz, vv, u3);
        }
        pattn__f8_halves(pattn__f8_hsum8(pattn__f16_lo(s0), pattn__f16_lo(s1), pattn__f16_lo(s2), pattn__f16_lo(s3),
                                         pattn__f16_lo(u0), pattn__f16_lo(u1), pattn__f16_lo(u2), pattn__f16_lo(u3)),
                         pattn__f8_hsum8(pattn__f16_hi(s0), pattn__f16_hi(s1), pattn__f16_hi(s2), pattn__f16_hi(s3),
                                         pattn__f16_hi(u0), pattn__f16_hi(u1), pattn__f16_hi(u2), pattn__f16_hi(u3)),
                         &lo, &hi);
        pattn__f8_store(s + t, lo);
        pattn__f8_store(u + t, hi);
    }
    return t;
}
#endif

/* s = Xp and u = Xv for all T tokens, eight rows per step stored as whole vectors (so later
   vector loads of s and u do not stall on partial store forwarding); the last T mod 4
   tokens the same way one at a time, so a token gets the same bits wherever it falls.
   Each step prefetches the same rows of the sample nx (may be NULL). */
static void pattn__p1_scores2(const float *X, int T, int d, const float *p, const float *v, float *s, float *u,
                              const float *nx)
{
    int t = 0, t8 = T - T % 8, t4 = T - T % 4;
#if PATTN__AVX512
    if (pattn__has_avx512()) t = pattn__p1_scores_512(X, T, d, p, v, s, u, nx);
#endif
    for (; t < t8; t += 8) {
        pattn__f8 lo, hi;
        int j;
        if (nx)
            for (j = 0; j < 8 * d; j += 16) PATTN__P1_PREFETCH(nx + (size_t)t * (size_t)d + j);
        pattn__f8_halves(pattn__p1_scores4(X + (size_t)t * (size_t)d, d, p, v),
                         pattn__p1_scores4(X + (size_t)(t + 4) * (size_t)d, d, p, v), &lo, &hi);
        pattn__f8_store(s + t, lo);
        pattn__f8_store(u + t, hi);
    }
    if (t8 < t4) {
        float r8[8];
        pattn__f8_store(r8, pattn__p1_scores4(X + (size_t)t8 * (size_t)d, d, p, v));
        memcpy(s + t8, r8, 4 * sizeof(float));
        memcpy(u + t8, r8 + 4, 4 * sizeof(float));
    }
    for (t = t4; t < T; ++t) pattn__dot2(X + (size_t)t * (size_t)d, p, v, d, s + t, u + t);
}

/* In-place softmax of a short row (SA's T keys): one max pass, one exp-and-sum pass, one
   scaling pass, without the bookkeeping a long-row softmax pays for. */
static void pattn__p1_softmax(float *x, int n)
{
    float mx = pattn__max(x, n);
    pattn__f8 vm, sum = pattn__f8_zero(), e;
    int i = 0;
    if (mx > FLT_MAX || mx < -FLT_MAX) { /* only an infinite maximum needs the clamp */
        pattn__clamp_scores(x, n);
        mx = pattn__max(x, n);
    }
    vm = pattn__f8_set1(mx);
    for (; i + 8 <= n; i += 8) {
        e = pattn__f8_exp(pattn__f8_sub(pattn__f8_load(x + i), vm));
        pattn__f8_store(x + i, e);
        sum = pattn__f8_add(sum, e);
    }
    if (i < n) {
        e = pattn__f8_exp(pattn__f8_sub(pattn__f8_load_part(x + i, n - i, -INFINITY), vm));
        pattn__f8_store_part(x + i, n - i, e);
        sum = pattn__f8_add(sum, e);
    }
    pattn__scale(n, 1.0f / pattn__f8_hsum(sum), x);
}

/* The softmax of one sample's T scores s, in place: s becomes the weights a = softmax(s), and
   with want_g, u becomes a o (u - f). Returns f = a'u (0 when u is NULL); zm (may be NULL)
   gets the float sum of the exponentials and the (clamped) maximum score when
   T <= PATTN__P1_TBLK, which the one-pass form folds chunks with. */
static float pattn__p1_pa_soft(float *s, float *u, int T, int want_g, float *zm)
{
    float mx, invZ, f;
    double zd = 0.0, fd = 0.0;
    pattn__f8 vm, vz = pattn__f8_zero(), vf = pattn__f8_zero(), e, vi, vfv;
    int i = 0;
    mx = pattn__max(s, T);
    if (mx > FLT_MAX || mx < -FLT_MAX) { /* only an infinite maximum needs the clamp */
        pattn__clamp_scores(s, T);
        mx = pattn__max(s, T);
    }
    vm = pattn__f8_set1(mx);
    for (; i + 8 <= T; i += 8) {
        e = pattn__f8_exp(pattn__f8_sub(pattn__f8_load(s + i), vm));
        pattn__f8_store(s + i, e);
        vz = pattn__f8_add(vz, e);
        if (u) vf = pattn__f8_fma(e, pattn__f8_load(u + i), vf);
        if (T > PATTN__P1_TBLK && ((i + 8) & (PATTN__P1_TBLK - 1)) == 0) { /* long samples: fold into double */
            zd += (double)pattn__f8_hsum(vz);
            fd += (double)pattn__f8_hsum(vf);
            vz = vf = pattn__f8_zero();
        }
    }
    if (i < T) {
        e = pattn__f8_exp(pattn__f8_sub(pattn__f8_load_part(s + i, T - i, -INFINITY), vm));
        pattn__f8_store_part(s + i, T - i, e);
        vz = pattn__f8_add(vz, e);
        if (u) vf = pattn__f8_fma(e, pattn__f8_load_part(u + i, T - i, 0.0f), vf);
    }
    if (T <= PATTN__P1_TBLK) {
        float z = pattn__f8_hsum(vz);
        if (zm) {
            zm[0] = z;
            zm[1] = mx;
        }
        invZ = 1.0f / z;
        f = u ? pattn__f8_hsum(vf) * invZ : 0.0f;
    } else {
        zd += (double)pattn__f8_hsum(vz);
        fd += (double)pattn__f8_hsum(vf);
        invZ = (float)(1.0 / zd);
        f = u ? (float)(fd / zd) : 0.0f;
    }
    vi = pattn__f8_set1(invZ);
    vfv = pattn__f8_set1(f);
    for (i = 0; i + 8 <= T; i += 8) {
        pattn__f8 a = pattn__f8_mul(pattn__f8_load(s + i), vi);
        pattn__f8_store(s + i, a);
        if (want_g) pattn__f8_store(u + i, pattn__f8_mul(a, pattn__f8_sub(pattn__f8_load(u + i), vfv)));
    }
    if (i < T) {
        pattn__f8 a = pattn__f8_mul(pattn__f8_load_part(s + i, T - i, 0.0f), vi);
        pattn__f8_store_part(s + i, T - i, a);
        if (want_g) pattn__f8_store_part(u + i, T - i, pattn__f8_mul(a, pattn__f8_sub(pattn__f8_load_part(u + i, T - i, 0.0f), vfv)));
    }
    return f;
}

/* Samples of more than PATTN__P1_STREAM floats outgrow the caches between two passes, so
   they take one pass over memory: chunks of about PATTN__P1_CHUNK floats (L1-resident
   between their two sweeps) each get pattn__p1_pa_soft's softmax and the sums, normalised within
   the chunk and centred on the chunk's own f, and are folded into double totals with the
   online softmax's rescaling. A function of T and d alone picks the form, so the bits never
   depend on the machine. */
#ifndef PATTN__P1_STREAM
#define PATTN__P1_STREAM 32768
#endif
#ifndef PATTN__P1_CHUNK
#define PATTN__P1_CHUNK 8192
#endif

/* dw: PATTN__P1_DW(d) doubles; sc: 2T floats */
static float pattn__p1_pa_stream(const float *X, int T, int d, const float *p, const float *v, float *sc,
                                 float *H, float *G, const float *nx, double *dw)
{
    size_t dd = (size_t)d;
    int tc = PATTN__P1_CHUNK / d, t0, t, j, n, first = 1;
    double *Hd = dw, *Gd = dw + dd, Z = 0.0, F = 0.0, c0 = 0.0, fd;
    float *s = sc, *u, *Hc = (float *)(void *)(dw + 2 * dd), *Gc = Hc + dd, zm[2], M = 0.0f, mc, zc, fc;
    tc = tc < 8 ? 8 : tc > PATTN__P1_TBLK ? PATTN__P1_TBLK : tc - tc % 8; /* pa_soft folds a chunk in float up to a block */
    if (tc > T) tc = T; /* sc holds 2T floats */
    u = sc + tc;
    memset(Hd, 0, 2 * dd * sizeof(double));
    for (t0 = 0; t0 < T; t0 += tc) {
        const float *Xc = X + (size_t)t0 * dd, *pf;
        double Wc;
        n = T - t0 < tc ? T - t0 : tc;
        /* prefetch the next chunk while this one is scored, or the next sample's first */
        pf = t0 + 2 * tc <= T ? Xc + (size_t)tc * dd : (t0 + tc >= T ? nx : NULL);
        if (v)
            pattn__p1_scores2(Xc, n, d, p, v, s, u, pf);
        else
            for (t = 0; t < n; ++t) s[t] = pattn__dot(Xc + (size_t)t * dd, p, d);
        fc = pattn__p1_pa_soft(s, v ? u : NULL, n, G != NULL, zm);
        zc = zm[0];
        mc = zm[1];
        if (G) pattn__p1_xt2(Xc, n, d, s, u, Hc, Gc, Xc);
        else pattn__p1_xt1(Xc, n, d, s, Hc, 0);
        /* this chunk's weight e^(mc - M) zc, rescaling the totals when the maximum moves */
        if (first || mc > M) {
            double r = first ? 1.0 : pattn__exp_d((double)M - (double)mc);
            Z *= r; F *= r;
            for (j = 0; j < d; ++j) { Hd[j] *= r; Gd[j] *= r; }
            if (first) c0 = (double)fc;
            M = mc;
            first = 0;
            Wc = (double)zc;
        } else {
            Wc = pattn__exp_d((double)mc - (double)M) * (double)zc;
        }
        Z += Wc;
        F += Wc * (double)fc;
        for (j = 0; j < d; ++j) {
            Hd[j] += Wc * (double)Hc[j];
            if (G) Gd[j] += Wc * ((double)Gc[j] + ((double)fc - c0) * (double)Hc[j]);
        }
    }
    /* G was summed centred on c0 (the first chunk's f): re-centre on f */
    fd = F / Z;
    for (j = 0; j < d; ++j) {
        if (H) H[j] = (float)(Hd[j] / Z);
        if (G) G[j] = (float)((Gd[j] - (fd - c0) * Hd[j]) / Z);
    }
    return v ? (float)fd : 0.0f;
}

/* PA on one sample, p already W p. Two passes over the (L1-resident) sample rather than one
   online-softmax pass: the first computes the scores s = Xp and u = Xv, so the T exponentials
   are taken 8 at a time and f is known before the second pass, which then accumulates
   h = X'a and G = X'(a o (u - f)) = df/d(Wp) directly, with no rescaling.
   sc: 2T floats. v NULL: features only (returns 0). */
static float pattn__p1_pa_one(const float *X, int T, int d, const float *p, const float *v,
                              float *sc, float *H, float *G, const float *nx, const float *nx2)
{
    float *s = sc, *u = sc + T, f;
    double *dw = (double *)(void *)(sc + 2 * (size_t)T);
    int t;
    if ((double)T * (double)d > PATTN__P1_STREAM) return pattn__p1_pa_stream(X, T, d, p, v, sc, H, G, nx, dw);
    if (v)
        pattn__p1_scores2(X, T, d, p, v, s, u, nx);
    else
        for (t = 0; t < T; ++t) s[t] = pattn__dot(X + (size_t)t * (size_t)d, p, d);
    f = pattn__p1_pa_soft(s, v ? u : NULL, T, G != NULL, NULL);
    pattn__p1_xtl(X, T, d, s, u, H, G, nx2, dw);
    return f;
}

/* PA on nl consecutive short samples at once: one score pass over their nl T rows (a row's
   scores do not depend on where it falls), then each sample's softmax and sums as in
   pattn__p1_pa_one, so each gets that function's bits. sc: 2 nl T floats; H: nl rows of d,
   Hrow apart; G (may be NULL): nl rows of d, d apart. */
static void pattn__p1_pa_few(const float *X, int nl, int T, int d, const float *p, const float *v, float *sc,
                             float *H, size_t Hrow, float *G, float *f, const float *nx, const float *nx2)
{
    size_t rows = (size_t)nl * (size_t)T, Td = (size_t)T * (size_t)d;
    float *s = sc, *u = sc + rows;
    int k;
    pattn__p1_scores2(X, (int)rows, d, p, v, s, u, nx);
    for (k = 0; k < nl; ++k) f[k] = pattn__p1_pa_soft(s + (size_t)k * T, u + (size_t)k * T, T, G != NULL, NULL);
    for (k = 0; k < nl; ++k) {
        if (G && d < 64 && k + 1 < nl) { /* narrow short samples: two chains' latency at once */
            pattn__p1_xt2x2(X + (size_t)k * Td, X + (size_t)(k + 1) * Td, T, d, s + (size_t)k * T, u + (size_t)k * T,
                            s + (size_t)(k + 1) * T, u + (size_t)(k + 1) * T, H + (size_t)k * Hrow, G + (size_t)k * (size_t)d,
                            H + (size_t)(k + 1) * Hrow, G + (size_t)(k + 1) * (size_t)d, nx2, nx2);
            ++k;
            continue;
        }
        pattn__p1_xtl(X + (size_t)k * Td, T, d, s + (size_t)k * T, u + (size_t)k * T, H + (size_t)k * Hrow,
                      G ? G + (size_t)k * (size_t)d : NULL, nx2, NULL);
    }
}

/* LPA on one sample (p already W p): f = s'u/T, h = X's/T, df/d(Wp) = X'u/T. */
static float pattn__p1_lpa_one(const float *X, int T, int d, const float *p, const float *v,
                               float *sc, float *H, float *G)
{
    float *s = sc, *u = sc + T, invT = 1.0f / (float)T, f;
    double *dw = (double *)(void *)(sc + 2 * (size_t)T);
    pattn__p1_scores2(X, T, d, p, v, s, u, NULL);
    f = pattn__p1_dotl(s, u, T) * invT;
    pattn__scale(T, invT, s);
    if (G) pattn__scale(T, invT, u);
    pattn__p1_xtl(X, T, d, s, u, H, G, X, dw);
    return f;
}

/* LIN on one sample: h = mean token, f = v'h. */
static float pattn__p1_lin_one(const float *X, int T, int d, const float *v, float *sc, float *H)
{
    float invT = 1.0f / (float)T;
    int t;
    for (t = 0; t < T; ++t) sc[t] = invT;
    pattn__p1_xtl(X, T, d, sc, NULL, H, NULL, X, (double *)(void *)(sc + 2 * (size_t)T));
    return pattn__dot(v, H, d);
}

/* SA works on rows of Tp = T rounded up to 8 floats: padded keys score -inf (weight 0),
   so no vector op needs a masked tail. Scratch: Kt (d Tp), A (T Tp), u, ft, abar, tmp (Tp
   each), C (T d), krow (d). */
PATTN__INLINE int pattn__p1_pad8(int T) { return (T + 7) & ~7; }
PATTN__INLINE size_t pattn__p1_sa_floats(int T, int d, int *ok)
{
    size_t Tp = ((size_t)T + 7) & ~(size_t)7, r;
    r = pattn__zmul((size_t)d + (size_t)T + 4, Tp, ok);
    r = pattn__zadd(r, pattn__zmul((size_t)T + 1, (size_t)d, ok), ok);
    return r;
}

/* SA forward on one sample: row t of A is the attention of query t over the keys s, scores
   x_s'W x_t = K_s . x_t with K_s = W'x_s. The keys are kept transposed (Kt = K', d x Tp), so
   a query's scores are one register-resident pass A_t = sum_j x_t[j] Kt_j with no horizontal
   sums. f = abar'u with abar the mean attention and u = Xv; h = X'abar. Leaves A, u, ft in
   the scratch for the backward pass. */
static float pattn__p1_sa_fwd(const float *X, int T, int d, const float *W, const float *v,
                              float *sc, float *H)
{
    int Tp = pattn__p1_pad8(T), s, t, j;
    float *Kt = sc, *A = Kt + (size_t)d * (size_t)Tp, *u = A + (size_t)T * (size_t)Tp;
    float *ft = u + Tp, *ab = ft + Tp, *krow = ab + 2 * (size_t)Tp + (size_t)T * (size_t)d;
    float invT = 1.0f / (float)T;
    for (s = T; s < Tp; ++s) { /* padding keys: zero columns, no value */
        for (j = 0; j < d; ++j) Kt[(size_t)j * (size_t)Tp + s] = 0.0f;
        u[s] = 0.0f;
    }
    for (s = 0; s < T; ++s) {
        const float *xs = X + (size_t)s * (size_t)d;
        if (W) {
            pattn__p1_xt1(W, d, d, xs, krow, 0);
            xs = krow;
        }
        for (j = 0; j < d; ++j) Kt[(size_t)j * (size_t)Tp + s] = xs[j];
        u[s] = pattn__dot(X + (size_t)s * (size_t)d, v, d);
    }
    memset(ab, 0, (size_t)Tp * sizeof(float));
    for (t = 0; t < T; ++t) {
        float *At = A + (size_t)t * (size_t)Tp;
        pattn__p1_xt1(Kt, d, Tp, X + (size_t)t * (size_t)d, At, 0);
        pattn__clamp_scores(At, T);
        for (s = T; s < Tp; ++s) At[s] = -INFINITY;
        pattn__p1_softmax(At, Tp);
        ft[t] = pattn__dot(At, u, Tp);
        pattn__axpy(Tp, invT, At, ab);
    }
    pattn__p1_xt1(X, T, d, ab, H, 0);
    return pattn__dot(ab, u, Tp);
}

/* gW += (scale/T) X' B X with B[s][t] = A[t][s] (u_s - ft_t): the T x (d x d) part of SA,
   as C = B X (row C_s = sum_t B[s][t] x_t) and then gW row i += sum_s x_s[i] C_s, both
   register-resident passes. */
static void pattn__p1_sa_bwd(const float *X, int T, int d, float *sc, float scale, float *gW)
{
    int Tp = pattn__p1_pad8(T), s, t, i;
    float *A = sc + (size_t)d * (size_t)Tp, *u = A + (size_t)T * (size_t)Tp, *ft = u + Tp;
    float *tmp = ft + 2 * (size_t)Tp, *C = tmp + Tp;
    float k = scale / (float)T;
    for (t = 0; t < T; ++t) pattn__p1_mul_shift(A + (size_t)t * (size_t)Tp, u, ft[t], k, Tp);
    for (s = 0; s < T; ++s) {
        for (t = 0; t < T; ++t) tmp[t] = A[(size_t)t * (size_t)Tp + s];
        pattn__p1_xt1(X, T, d, tmp, C + (size_t)s * (size_t)d, 0);
    }
    for (i = 0; i < d; ++i) {
        for (s = 0; s < T; ++s) tmp[s] = X[(size_t)s * (size_t)d + i];
        pattn__p1_xt1(C, T, d, tmp, gW + (size_t)i * (size_t)d, 1);
    }
}

/* out = W x (or W'x), accumulated in double; W NULL copies x */
static void pattn__p1_matvec(const float *W, int d, const float *x, int transpose, float *out)
{
    int i, j;
    if (!W) {
        memcpy(out, x, (size_t)d * sizeof(float));
        return;
    }
    for (i = 0; i < d; ++i) {
        double acc = 0.0;
        for (j = 0; j < d; ++j)
            acc += (double)(transpose ? W[(size_t)j * (size_t)d + i] : W[(size_t)i * (size_t)d + j]) * (double)x[j];
        out[i] = (float)acc;
    }
}

/* scratch floats of one sample of model m (besides the H and G vectors) */
/* floats of one sample's scratch; *ok cleared when it would not fit in size_t */
static size_t pattn__p1_scratch(pattn_model m, int T, int d, int *ok)
{
    /* PA, LPA, LIN: scores and values (2T floats), then the long-sample totals (doubles);
       SA-query: its query W x_1 (d floats, rounded to 16) in front of PA's scratch */
    size_t pa = pattn__zadd(pattn__zmul(2, (size_t)T, ok), 2 * PATTN__P1_DW(d), ok);
    return m == PATTN_SA ? pattn__p1_sa_floats(T, d, ok)
         : m == PATTN_SA_QUERY ? pattn__zadd(pattn__p1_round16((size_t)d), pa, ok) : pa;
}

/* f of one sample; H = df/dv; G (PA/LPA/SA-query, may be NULL) = df/d(Wp). pe = W p; nx and nx2:
   the next two samples, for prefetching (X itself when there are none). */
static float pattn__p1_fwd(pattn_model m, const float *X, int T, int d, const float *pe,
                           const float *v, const float *W, float *sc, float *H, float *G,
                           const float *nx, const float *nx2)
{
    switch (m) {
    case PATTN_PA: return pattn__p1_pa_one(X, T, d, pe, v, sc, H, G, nx, nx2);
    case PATTN_LPA: return pattn__p1_lpa_one(X, T, d, pe, v, sc, H, G);
    case PATTN_SA: return pattn__p1_sa_fwd(X, T, d, W, v, sc, H);
    case PATTN_SA_QUERY: /* PA with the prompt x_1: the query W x_1 sits in front of the scratch */
        pattn__p1_matvec(W, d, X, 0, sc);
        return pattn__p1_pa_one(X, T, d, sc, v, sc + pattn__p1_round16((size_t)d), H, G, nx, nx2);
    default: return pattn__p1_lin_one(X, T, d, v, sc, H);
    }
}

PATTN__KDEF const char *pattn_model_name(pattn_model m)
{
    switch (m) {
    case PATTN_PA: return "PA";
    case PATTN_LPA: return "LPA";
    case PATTN_SA: return "SA";
    case PATTN_LIN: return "LIN";
    case PATTN_SA_QUERY: return "SA-query";
    }
    return "?";
}

static int pattn__loss_ok(pattn_loss l)
{
    return l == PATTN_LOSS_SQUARED || l == PATTN_LOSS_LOGISTIC || l == PATTN_LOSS_CORRELATION;
}

static double pattn__p1_loss(pattn_loss l, double f, double y, double *dl)
{
    double m, e, sg;
    if (l == PATTN_LOSS_SQUARED) {
        *dl = f - y;
        return 0.5 * (y - f) * (y - f);
    }
    if (l == PATTN_LOSS_CORRELATION) {
        *dl = -y;
        return -y * f;
    }
    /* log(1 + e^m), m = -y f, as max(m, 0) + log1p(e^-|m|): no overflow for any f */
    m = -y * f;
    e = pattn__exp_d(-fabs(m));
    sg = m > 0 ? 1.0 / (1.0 + e) : e / (1.0 + e); /* sigmoid(m) */
    *dl = -y * sg;
    return (m > 0 ? m : 0.0) + pattn__log1p_d(e);
}

PATTN__KDEF double pattn_loss_value(pattn_loss l, double f, double y, double *dldf)
{
    double dl;
    if (!pattn__loss_ok(l)) {
        pattn__bad(__func__, "l is %d; it must be PATTN_LOSS_SQUARED, _LOGISTIC or _CORRELATION", (int)l);
        if (dldf) *dldf = PATTN__NAN;

        return PATTN__NAN;
    }
    f = pattn__p1_loss(l, f, y, &dl);
    if (dldf) *dldf = dl;
    return f;
}

/* Four logistic losses at once. For small samples the loss, in double with the library's
   own exp and log, is a large share of a sample's cost, so the AVX2 path takes four lanes of
   pattn__p1_loss's operations in its order: pattn__exp_d of -|m|, then pattn__log1p_d of e,
   whose 1 + e lies in [1, 2], where frexp is one comparison. Each lane gets the scalar bits
   (contraction is off here, and floor, conversion and the power of two are exact). Only when
   every |m| is at most 690, which keeps exp_d off its range branches (and excludes NaN);
   returns 0 otherwise, and the caller takes the scalar code. */
static int pattn__p1_logit4(const float *f, const float *y, double *loss, double *dl)
{
#if PATTN__AVX2
    const __m256d one = _mm256_set1_pd(1.0), zero = _mm256_setzero_pd(), sgn = _mm256_set1_pd(-0.0);
    const __m256d ln2_hi = _mm256_set1_pd(6.93147180369123816490e-01), ln2_lo = _mm256_set1_pd(1.90821492927058770002e-10);
    __m256d vf = _mm256_cvtps_pd(_mm_loadu_ps(f)), ny = _mm256_xor_pd(_mm256_cvtps_pd(_mm_loadu_ps(y)), sgn);
    __m256d m = _mm256_mul_pd(ny, vf), x = _mm256_or_pd(m, sgn), k, r, p, e, u, sg, mm, fm, sm, z, q, kd, lg, l1p, pos;
    __m128i ki;
    if (_mm256_movemask_pd(_mm256_cmp_pd(_mm256_andnot_pd(sgn, m), _mm256_set1_pd(690.0), _CMP_LE_OQ)) != 15) return 0;
    /* e = pattn__exp_d(x), x = -|m| */
    k = _mm256_floor_pd(_mm256_add_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.44269504088896338700)), _mm256_set1_pd(0.5)));
    r = _mm256_sub_pd(_mm256_sub_pd(x, _mm256_mul_pd(k, ln2_hi)), _mm256_mul_pd(k, ln2_lo));
#define PATTN__L4(c) p = _mm256_add_pd(_mm256_mul_pd(p, r), _mm256_set1_pd(c))
    p = _mm256_set1_pd(1.0 / 6227020800.0);
    PATTN__L4(1.0 / 479001600.0); PATTN__L4(1.0 / 39916800.0); PATTN__L4(1.0 / 3628800.0);
    PATTN__L4(1.0 / 362880.0); PATTN__L4(1.0 / 40320.0); PATTN__L4(1.0 / 5040.0); PATTN__L4(1.0 / 720.0);
    PATTN__L4(1.0 / 120.0); PATTN__L4(1.0 / 24.0); PATTN__L4(1.0 / 6.0); PATTN__L4(0.5);
#undef PATTN__L4
    p = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(_mm256_mul_pd(p, r), r), r), one);
    ki = _mm_add_epi32(_mm256_cvtpd_epi32(k), _mm_set1_epi32(1023));
    e = _mm256_mul_pd(p, _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_cvtepi32_epi64(ki), 52)));
    /* sigmoid(m) and dl = -y sigmoid(m) */
    pos = _mm256_cmp_pd(m, zero, _CMP_GT_OQ);
    u = _mm256_add_pd(one, e);
    sg = _mm256_div_pd(_mm256_blendv_pd(e, one, pos), u);
    _mm256_storeu_pd(dl, _mm256_mul_pd(ny, sg));
    /* pattn__log1p_d(e): log u + (e - (u - 1))/u, log u by pattn__log_d with k = 0 or 1 */
    mm = _mm256_mul_pd(u, _mm256_set1_pd(0.5));
    kd = _mm256_cmp_pd(mm, _mm256_set1_pd(0.70710678118654752440), _CMP_LT_OQ);
    mm = _mm256_blendv_pd(mm, u, kd);
    kd = _mm256_andnot_pd(kd, one);
    fm = _mm256_sub_pd(mm, one);
    sm = _mm256_div_pd(fm, _mm256_add_pd(mm, one));
    z = _mm256_mul_pd(sm, sm);
#define PATTN__L4(c) q = _mm256_add_pd(_mm256_mul_pd(q, z), _mm256_set1_pd(c))
    q = _mm256_set1_pd(1.0 / 23);
    PATTN__L4(1.0 / 21); PATTN__L4(1.0 / 19); PATTN__L4(1.0 / 17); PATTN__L4(1.0 / 15); PATTN__L4(1.0 / 13);
    PATTN__L4(1.0 / 11); PATTN__L4(1.0 / 9); PATTN__L4(1.0 / 7); PATTN__L4(1.0 / 5); PATTN__L4(1.0 / 3);
#undef PATTN__L4
    lg = _mm256_add_pd(_mm256_mul_pd(kd, ln2_hi),
                       _mm256_add_pd(_mm256_sub_pd(fm, _mm256_mul_pd(sm, fm)),
                                     _mm256_add_pd(_mm256_mul_pd(_mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(2.0), sm), z), q),
                                                   _mm256_mul_pd(kd, ln2_lo))));
    l1p = _mm256_add_pd(lg, _mm256_div_pd(_mm256_sub_pd(e, _mm256_sub_pd(u, one)), u));
    l1p = _mm256_blendv_pd(l1p, e, _mm256_cmp_pd(u, one, _CMP_EQ_OQ));
    _mm256_storeu_pd(loss, _mm256_add_pd(_mm256_and_pd(pos, m), l1p));
    return 1;
#else
    (void)f; (void)y; (void)loss; (void)dl;
    return 0;
#endif
}

PATTN__INLINE int pattn__p1_correct(double f, double y) { return (f > 0 && y > 0) || (f < 0 && y < 0); }

static int pattn__p1_model_ok(pattn_model m)
{
    return m == PATTN_PA || m == PATTN_LPA || m == PATTN_SA || m == PATTN_LIN || m == PATTN_SA_QUERY;
}

static int pattn__p1_params_ok(const char *fn, pattn_model m, const pattn_params *P)
{
    int i;
    PATTN__OK(pattn__p1_model_ok(m), "model is %d; it must be PATTN_PA, _LPA, _SA, _LIN or _SA_QUERY", (int)m);
    PATTN__OK(P, "P (the parameters) is NULL");
    PATTN__OK(P->d >= 1, "P->d is %d; it must be >= 1", P->d);
    PATTN__OK(P->v, "P->v is NULL; every model needs a head of P->d floats");
    PATTN__OK(pattn__all_finite_f32(P->v, P->d), "P->v holds a NaN or infinite value");
    if (m == PATTN_PA || m == PATTN_LPA) {
        PATTN__OK(P->p, "P->p is NULL; model %s needs a prompt of P->d floats", pattn_model_name(m));
        PATTN__OK(pattn__all_finite_f32(P->p, P->d), "P->p holds a NaN or infinite value");
    }
    if (P->W)
        for (i = 0; i < P->d; ++i)
            PATTN__OK(pattn__all_finite_f32(P->W + (size_t)i * (size_t)P->d, P->d), "P->W row %d holds a NaN or infinite value", i);
    return 1;
}

/* one-sample scratch sizes above this many floats come from the heap */
#define PATTN__P1_STACK 4096

PATTN__KDEF pattn_status pattn_model_eval(pattn_model m, const pattn_params *P, const float *X,
                                        int T, float *f, float *h, float *gp, float *gW)
{
    double stackbuf[PATTN__P1_STACK / 2]; /* doubles: the scratch holds double totals */
    float *buf, *pe, *sc, *H, *G, fv;
    size_t need;
    int d, i, j, wantg;
    PATTN__REQ(X, "X is NULL");
    PATTN__REQ(T >= 1, "T is %d; it must be >= 1", T);
    if (!pattn__p1_params_ok(__func__, m, P)) return PATTN_EINVAL;
    PATTN__REQ(!gp || m == PATTN_PA || m == PATTN_LPA, "gp is given but model %s has no prompt; pass NULL", pattn_model_name(m));
    PATTN__REQ(!gW || m != PATTN_LIN, "gW is given but model LIN has no W; pass NULL");
    d = P->d;
    wantg = (gp || gW) && (m == PATTN_PA || m == PATTN_LPA || m == PATTN_SA_QUERY);
    {
        int ok = pattn__fits(T, d, 1, sizeof(float));
        need = pattn__zadd(pattn__zmul(4, (size_t)d, &ok), pattn__p1_scratch(m, T, d, &ok), &ok);
        (void)pattn__zmul(need, sizeof(float), &ok);
        PATTN__REQ(ok, "T*d = %d*%d: the sample or its scratch would not fit in size_t", T, d);
    }
    buf = need <= PATTN__P1_STACK ? (float *)(void *)stackbuf : (float *)PATTN_MALLOC(need * sizeof(float));
    if (!buf) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    pe = buf; H = pe + d; G = H + d; sc = G + 2 * (size_t)d;
    if (m == PATTN_PA || m == PATTN_LPA) pattn__p1_matvec(P->W, d, P->p, 0, pe);
    fv = pattn__p1_fwd(m, X, T, d, pe, P->v, P->W, sc, H, wantg ? G : NULL, NULL, X);
    if (f) *f = fv;
    if (h) memcpy(h, H, (size_t)d * sizeof(float));
    if (wantg) {
        /* d f/d p = W' G and d f/d W = G p' with G = d f/d(Wp); SA-query's "prompt" is x_1 */
        const float *pq = m == PATTN_SA_QUERY ? X : P->p;
        if (gW)
            for (i = 0; i < d; ++i)
                for (j = 0; j < d; ++j) gW[(size_t)i * (size_t)d + j] = G[i] * pq[j];
        if (gp) pattn__p1_matvec(P->W, d, G, 1, gp);
    }
    if (gW && m == PATTN_SA) {
        memset(gW, 0, (size_t)d * (size_t)d * sizeof(float));
        pattn__p1_sa_bwd(X, T, d, sc, 1.0f, gW);
    }
    if (buf != (float *)(void *)stackbuf) PATTN_FREE(buf);
    return PATTN_OK;
}

/* workspace layout, in this order:
   doubles: accumulators gp (d), gv (d), gW (d*d, SA with gW only); per-block loss and hits
            (2 group)
   floats:  W p (d); group block partials of pstride floats; nth slots of slot floats
   group is the number of blocks in flight: never more than the call has, and for SA's d*d
   partials small enough that they stay near 64 MB, so a large d does not cost 32 d^2. The
   partials are added in block order whatever the group, so it cannot change a result.
   n = 0 and want_gW = 1 size the largest call (pattn_model_work_size). ok = 0: too large. */
typedef struct pattn__p1_layout {
    size_t nacc, pstride, slot, fixed_bytes;
    long group;
    int ok;
} pattn__p1_layout;

static pattn__p1_layout pattn__p1_layout_of(pattn_model m, int T, int d, int n, int want_gW)
{
    pattn__p1_layout L;
    size_t dd;
    long blk = pattn__p1_blk(T, d), nb = ((long)n + blk - 1) / blk;
    L.ok = pattn__fits(T, d, 1, sizeof(float));
    dd = pattn__zmul((size_t)d, (size_t)d, &L.ok);
    L.group = m == PATTN_SA || m == PATTN_SA_QUERY ? PATTN__P1_GROUP_SA : PATTN__P1_GROUP;
    if (n > 0 && nb < L.group) L.group = nb;
    L.nacc = pattn__zadd(2 * (size_t)d, (m == PATTN_SA || m == PATTN_SA_QUERY) && want_gW ? dd : 0, &L.ok);
    L.pstride = pattn__p1_round16(L.nacc);
    while (L.group > 2 && (double)L.group * (double)L.pstride > (double)(1L << 24)) L.group /= 2;
    L.slot = pattn__p1_round16(pattn__zadd(pattn__zmul(2 * (size_t)pattn__p1_lb(m, d), (size_t)d, &L.ok),
                                           pattn__p1_scratch(m, T, d, &L.ok), &L.ok));
    if (pattn__p1_few(m, T, d)) L.slot += 2 * (size_t)PATTN__P1_LB * (size_t)T; /* the scores of PATTN__P1_LB samples */
    L.fixed_bytes = pattn__zadd(
        pattn__zmul(pattn__zadd(L.nacc, 2 * (size_t)L.group, &L.ok), sizeof(double), &L.ok),
        pattn__zmul(pattn__zadd(pattn__p1_round16((size_t)d),
                                pattn__zmul((size_t)L.group, L.pstride, &L.ok), &L.ok),
                    sizeof(float), &L.ok), &L.ok);
    return L;
}

PATTN__KDEF size_t pattn_model_work_size(pattn_model m, int T, int d)
{
    pattn__p1_layout L;
    size_t total;
    PATTN__REQ0(pattn__p1_model_ok(m), "m is %d; it must be PATTN_PA, _LPA, _SA, _LIN or _SA_QUERY", (int)m);
    PATTN__REQ0(T >= 1 && d >= 1, "%s is %d; it must be >= 1", T < 1 ? "T" : "d", T < 1 ? T : d);
    L = pattn__p1_layout_of(m, T, d, 0, 1);
    total = pattn__zadd(L.fixed_bytes, pattn__zmul(pattn__zmul((size_t)pattn__max_threads(), L.slot, &L.ok), sizeof(float), &L.ok), &L.ok);
    PATTN__REQ0(L.ok, "T*d = %d*%d: the workspace would not fit in size_t", T, d);
    return total;
}

typedef struct pattn__p1_ctx {
    pattn_model m;
    pattn_loss loss;
    int d, T, n, need_g, want_gv, want_gW;
    const float *X, *y, *pe, *v, *W;
    float *fout, *hout;
} pattn__p1_ctx;

/* one block of samples: its partial gradient sums (float) and loss/hits (double). The
   samples go PATTN__P1_LB at a time through the forward pass, then their losses, then
   their gradient terms, each in sample order, so the bits are those of one at a time. */
static void pattn__p1_block(const pattn__p1_ctx *c, long b, float *slot, float *part, double *dp,
                            size_t pstride)
{
    int d = c->d, T = c->T, lb = pattn__p1_lb(c->m, d), few = pattn__p1_few(c->m, T, d), k, nl;
    long blk = pattn__p1_blk(T, d), i, i0 = b * blk, i1 = i0 + blk < c->n ? i0 + blk : c->n;
    size_t Td = (size_t)T * (size_t)d;
    float *Hs = slot, *Gs = c->need_g ? slot + (size_t)lb * (size_t)d : NULL;
    float *sc = slot + 2 * (size_t)lb * (size_t)d, fk[PATTN__P1_LB];
    float *pgp = part, *pgv = part + d, *pgW = part + 2 * (size_t)d;
    double dl[PATTN__P1_LB], lv[PATTN__P1_LB];
    memset(part, 0, pstride * sizeof(float));
    dp[0] = dp[1] = 0.0;
    for (i = i0; i < i1; i += nl) {
        nl = i1 - i < lb ? (int)(i1 - i) : lb;
        if (few) {
            const float *Xi = c->X + (size_t)i * Td;
            pattn__p1_pa_few(Xi, nl, T, d, c->pe, c->v, sc, c->hout ? c->hout + (size_t)i * (size_t)d : Hs, (size_t)d, Gs,
                             fk, i + 2 * nl <= c->n ? Xi + (size_t)nl * Td : NULL, Xi);
            if (c->fout) memcpy(c->fout + i, fk, (size_t)nl * sizeof(float));
        }
        for (k = 0; k < nl && !few; ++k) {
            long s = i + k;
            const float *Xi = c->X + (size_t)s * Td;
            float *H = c->hout ? c->hout + (size_t)s * (size_t)d : Hs + (size_t)k * (size_t)d;
            /* memory-bound at scale: the first pass prefetches the next sample, the second
               the one after it, so the loads stay spread over the whole sample's work */
            fk[k] = pattn__p1_fwd(c->m, Xi, T, d, c->pe, c->v, c->W, sc, H, Gs ? Gs + (size_t)k * (size_t)d : NULL,
                                  s + 1 < c->n ? Xi + Td : NULL, s + 2 < c->n ? Xi + 2 * Td : Xi);
            if (c->fout) c->fout[s] = fk[k];
        }
        if (!c->y) continue;
        for (k = 0; k < nl; k += 4) { /* losses four at a time where they can be, then summed in order */
            int j, k1 = k + 4 < nl ? k + 4 : nl;
            if (c->loss == PATTN_LOSS_LOGISTIC && k1 - k == 4 && pattn__p1_logit4(fk + k, c->y + i + k, lv + k, dl + k)) continue;
            for (j = k; j < k1; ++j) lv[j] = pattn__p1_loss(c->loss, (double)fk[j], (double)c->y[i + j], &dl[j]);
        }
        for (k = 0; k < nl; ++k) {
            dp[0] += lv[k];
            dp[1] += pattn__p1_correct((double)fk[k], (double)c->y[i + k]);
        }
        for (k = 0; k < nl; ++k) {
            const float *Xi = c->X + (size_t)(i + k) * Td;
            const float *H = c->hout ? c->hout + (size_t)(i + k) * (size_t)d : Hs + (size_t)k * (size_t)d;
            const float *G = Gs ? Gs + (size_t)k * (size_t)d : NULL;
            float coef = (float)dl[k];
            if (c->want_gv) pattn__axpy(d, coef, H, pgv);
            if (G) pattn__axpy(d, coef, G, pgp);
            if (c->want_gW && c->m == PATTN_SA) pattn__p1_sa_bwd(Xi, T, d, sc, coef, pgW);
            if (c->want_gW && c->m == PATTN_SA_QUERY) { /* coef G x_1' */
                int r;
                for (r = 0; r < d; ++r) pattn__axpy(d, coef * G[r], Xi, pgW + (size_t)r * (size_t)d);
            }
        }
    }
}

PATTN__KDEF pattn_status pattn_model_batch(pattn_model m, const pattn_params *P, pattn_loss loss,
                                         const float *X, const float *y, int n, int T,
                                         pattn_batch_out *out, void *work, size_t work_bytes)
{
    pattn__p1_layout L;
    pattn__p1_ctx c;
    void *mem = NULL;
    double *acc, *dparts, lsum = 0.0, hits = 0.0;
    float *pe, *parts, *slots;
    long nb, g0, bi;
    int d, nth, i, j, is_pl;
    PATTN__REQ(out, "out is NULL");
    PATTN__REQ(X, "X is NULL");
    PATTN__REQ(n >= 1 && T >= 1, "%s is %d; it must be >= 1", n < 1 ? "n" : "T", n < 1 ? n : T);
    if (!pattn__p1_params_ok(__func__, m, P)) return PATTN_EINVAL;
    PATTN__REQ(pattn__loss_ok(loss), "loss is %d; it must be PATTN_LOSS_SQUARED, _LOGISTIC or _CORRELATION", (int)loss);
    is_pl = m == PATTN_PA || m == PATTN_LPA;
    PATTN__REQ(!out->gp || is_pl, "out->gp is given but model %s has no prompt; set it to NULL", pattn_model_name(m));
    PATTN__REQ(!out->gW || m != PATTN_LIN, "out->gW is given but model LIN has no W; set it to NULL");
    PATTN__REQ(y || !(out->gp || out->gv || out->gW), "y is NULL but a gradient is asked for; gradients need labels");
    PATTN__REQ(!y || pattn__all_finite_f32(y, n), "y holds a NaN or infinite label");
    d = P->d;
    L = pattn__p1_layout_of(m, T, d, n, out->gW != NULL);
    PATTN__REQ(L.ok && pattn__fits(n, T, d, sizeof(float)), "n*T*d = %d*%d*%d: the data or the workspace would not fit in size_t", n, T, d);
    nth = pattn__max_threads();
    {
        int ok = 1;
        (void)pattn__zadd(L.fixed_bytes, pattn__zmul(pattn__zmul((size_t)nth, L.slot, &ok), sizeof(float), &ok), &ok);
        PATTN__REQ(ok, "n*T*d = %d*%d*%d: the workspace would not fit in size_t", n, T, d);
    }
    if (work) {
        size_t fit;
        PATTN__REQ(work_bytes >= L.fixed_bytes + L.slot * sizeof(float), "work_bytes is %lu; it must be at least %lu (pattn_model_work_size gives the size for every thread)", (unsigned long)work_bytes, (unsigned long)(L.fixed_bytes + L.slot * sizeof(float)));

        fit = (work_bytes - L.fixed_bytes) / (L.slot * sizeof(float));
        if (fit < (size_t)nth) nth = (int)fit;
    } else {
        mem = work = PATTN_MALLOC(L.fixed_bytes + (size_t)nth * L.slot * sizeof(float));
        if (!mem) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    }
    acc = (double *)work;
    dparts = acc + L.nacc;
    pe = (float *)(void *)(dparts + 2 * L.group);
    parts = pe + pattn__p1_round16((size_t)d);
    slots = parts + (size_t)L.group * L.pstride;
    memset(acc, 0, L.nacc * sizeof(double));
    if (is_pl) pattn__p1_matvec(P->W, d, P->p, 0, pe);

    c.m = m; c.loss = loss; c.d = d; c.T = T; c.n = n;
    c.need_g = (is_pl && (out->gp || out->gW)) || (m == PATTN_SA_QUERY && out->gW);
    c.want_gv = out->gv != NULL;
    c.want_gW = (m == PATTN_SA || m == PATTN_SA_QUERY) && out->gW;
    c.X = X; c.y = y; c.pe = pe; c.v = P->v; c.W = P->W;
    c.fout = out->f; c.hout = out->h;

    nb = ((long)n + pattn__p1_blk(T, d) - 1) / pattn__p1_blk(T, d); /* as pattn__p1_layout_of */
    nth = pattn__p1_threads(nth, (double)n * T * d * (m == PATTN_SA ? 1.0 + (double)(T + d) / 8.0 : m == PATTN_SA_QUERY ? 1.0 + (double)d / T : 1.0), nb);
    for (g0 = 0; g0 < nb; g0 += L.group) {
        long gb = nb - g0 < L.group ? nb - g0 : L.group;
        PATTN__OMP_FOR_NT(nth)
        for (bi = 0; bi < gb; ++bi)
            pattn__p1_block(&c, g0 + bi, slots + (size_t)pattn__tid() * L.slot,
                            parts + (size_t)bi * L.pstride, dparts + 2 * bi, L.pstride);
        for (bi = 0; bi < gb; ++bi) { /* block order: the thread count cannot matter */
            const float *pp = parts + (size_t)bi * L.pstride;
            size_t k;
            lsum += dparts[2 * bi];
            hits += dparts[2 * bi + 1];
            if (y)
                for (k = 0; k < L.nacc; ++k) acc[k] += (double)pp[k];
        }
    }
    out->loss = y ? lsum / n : PATTN__NAN;
    out->acc = y ? hits / n : PATTN__NAN;
    if (out->gv)
        for (i = 0; i < d; ++i) out->gv[i] = (float)(acc[d + i] / n);
    if (c.need_g && is_pl) {
        /* mean d loss / d(Wp) -> gp = W'(...), gW = (...) p' */
        float *g = slots; /* slot 0 is free again */
        for (i = 0; i < d; ++i) g[i] = (float)(acc[i] / n);
        if (out->gW)
            for (i = 0; i < d; ++i)
                for (j = 0; j < d; ++j) out->gW[(size_t)i * (size_t)d + j] = (float)((acc[i] / n) * (double)P->p[j]);
        if (out->gp) pattn__p1_matvec(P->W, d, g, 1, out->gp);
    }
    if (c.want_gW)
        for (i = 0; i < d * d; ++i) out->gW[i] = (float)(acc[2 * d + i] / n);
    if (mem) PATTN_FREE(mem);
    return PATTN_OK;
}

/* ==== paper 1: contextual mixture generator ===================================== */

/* unbiased integer in [0, n), n < 2^32, from the top 32 bits: Lemire's multiply-shift with
   rejection, so the common path has no division */
PATTN__INLINE uint32_t pattn__p1_below32(pattn_rng *r, uint32_t n)
{
    uint64_t mm = (pattn_rng_u64(r) >> 32) * (uint64_t)n;
    uint32_t lo = (uint32_t)mm;
    if (lo < n) {
        uint32_t th = (uint32_t)(0u - n) % n;
        while (lo < th) {
            mm = (pattn_rng_u64(r) >> 32) * (uint64_t)n;
            lo = (uint32_t)mm;
        }
    }
    return (uint32_t)(mm >> 32);
}

/* dst = s src + add (one rounding), or s src when add is NULL; dst may be src. `stream`:
   dst 32-byte aligned and n a multiple of 8, written around the caches. */
static void pattn__p1_scale_add(int n, float s, const float *src, const float *add, float *dst, int stream)
{
    pattn__f8 vs = pattn__f8_set1(s), r;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        r = add ? pattn__f8_fma(vs, pattn__f8_load(src + i), pattn__f8_load(add + i)) : pattn__f8_mul(vs, pattn__f8_load(src + i));
        if (stream) pattn__f8_store_stream(dst + i, r);
        else pattn__f8_store(dst + i, r);
    }
    if (i < n) {
        r = pattn__f8_load_part(src + i, n - i, 0.0f);
        r = add ? pattn__f8_fma(vs, r, pattn__f8_load_part(add + i, n - i, 0.0f)) : pattn__f8_mul(vs, r);
        pattn__f8_store_part(dst + i, n - i, r);
    }
}

static int pattn__p1_cmm_ok(const char *fn, const pattn_cmm *m, const pattn_cmm_ext *ext)
{
    const float *q = ext ? ext->q : NULL, *v = ext ? ext->vstar : NULL;
    if (!pattn__cmm_fields_ok(fn, m, 0)) return 0;
    /* one sample's T*d noise normals are drawn in one int-sized call */
    PATTN__OK((double)m->T * (double)m->d <= 2147483647.0, "m->T * m->d = %d * %d exceeds INT_MAX", m->T, m->d);
    if (q || v) {
        double qq = 0, vv = 0, qv = 0, qj, vj;
        int j;
        PATTN__OK(!q || pattn__all_finite_f32(q, m->d), "ext->q holds a NaN or infinite value");
        PATTN__OK(!v || pattn__all_finite_f32(v, m->d), "ext->vstar holds a NaN or infinite value");
        for (j = 0; j < m->d; ++j) {
            qj = q ? (double)q[j] : (j == 0 ? m->q_norm : 0.0);
            vj = v ? (double)v[j] : (j == 1 ? m->v_norm : 0.0);
            qq += qj * qj;
            vv += vj * vj;
            qv += qj * vj;
        }
        PATTN__OK(qq > 0.0 && vv > 0.0, "ext->%s is zero; it must be a non-zero vector", qq > 0.0 ? "vstar" : "q");
        PATTN__OK(sqrt(qq) <= PATTN_CMM_MAX_SCALE && sqrt(vv) * (1.0 + m->rho) <= PATTN_CMM_MAX_SCALE, "|ext->%s| is %g; the generator's float tokens support magnitudes up to %g", sqrt(qq) > PATTN_CMM_MAX_SCALE ? "q" : "vstar", sqrt(qq) > PATTN_CMM_MAX_SCALE ? sqrt(qq) : sqrt(vv), PATTN_CMM_MAX_SCALE);
        PATTN__OK(fabs(qv) <= 1e-5 * sqrt(qq * vv), "ext->q and ext->vstar have cosine %g; they must be orthogonal (|cos| <= 1e-5)", qv / sqrt(qq * vv));
    }
    return 1;
}

/* q and v* in double-then-float, either output may be NULL */
static void pattn__p1_cmm_qv(const pattn_cmm *m, const pattn_cmm_ext *ext, float *q, float *v)
{
    int j;
    for (j = 0; j < m->d; ++j) {
        if (q) q[j] = (ext && ext->q) ? ext->q[j] : (j == 0 ? (float)m->q_norm : 0.0f);
        if (v) v[j] = (ext && ext->vstar) ? ext->vstar[j] : (j == 1 ? (float)m->v_norm : 0.0f);
    }
}

PATTN__KDEF pattn_status pattn_cmm_vectors(const pattn_cmm *m_in, const pattn_cmm_ext *ext, float *q,
                                         float *vstar)
{
    pattn_cmm mc;
    const pattn_cmm *m = pattn__cmm_resolve(m_in, &mc);
    if (!pattn__p1_cmm_ok(__func__, m, ext)) return PATTN_EINVAL;
    pattn__p1_cmm_qv(m, ext, q, vstar);
    return PATTN_OK;
}

/* The discrete draws of one sample: its label, then relevant / distractor / plain for each
   row, from the sample's own scalar stream (which also seeds the eight-lane generator of its
   T d normals). `none` is the signal of a plain row (NULL, or a row of -0). */
typedef struct pattn__p1_draws {
    pattn_rng r;
    const float *rel[2], *dis[2], *none, **adds;
    uint8_t *mask;
    double eps;
    uint64_t noise_seed;
    int T, k, leading, sel, t, yp;
} pattn__p1_draws;

PATTN__INLINE void pattn__p1_draws_begin(pattn__p1_draws *D, uint64_t seed, uint64_t idx, float *y,
                                         uint8_t *mask, const float **adds)
{
    pattn_rng_stream(&D->r, seed, idx);
    D->noise_seed = pattn_rng_u64(&D->r);
    D->yp = (int)(pattn_rng_u64(&D->r) >> 63);
    *y = D->yp ? 1.0f : -1.0f;
    D->sel = D->t = 0;
    D->mask = mask;
    D->adds = adds;
}

static void pattn__p1_draws_row(pattn__p1_draws *D)
{
    int t = D->t, type = 0, isrel;
    const float *add = D->none;
    /* selection sampling: token t is relevant with probability (k - sel)/(T - t) */
    isrel = D->leading ? t < D->k : (int)pattn__p1_below32(&D->r, (uint32_t)(D->T - t)) < D->k - D->sel;
    if (isrel) {
        ++D->sel;
        type = 1;
        add = D->rel[D->yp];
    } else if (D->eps > 0.0 && pattn_rng_uniform_f64(&D->r) < D->eps) {
        type = 2;
        add = D->dis[D->yp];
    }
    D->adds[t] = add;
    if (D->mask) D->mask[t] = (uint8_t)type;
    D->t = t + 1;
}

#if PATTN__AVX512
/* The generator's inner loop fused, for d a multiple of 16: a sample's normals come 32 at a
   time as in pattn__rng8_normal_512 and leave as finished rows x = sigma z + a_t, a_t the
   row's signal or -0 for none (which makes the fma exactly sigma z), with coordinate 0 of
   every row zeroed first for the default ORTHO noise. Same bits as drawing all T d normals
   and then forming the rows, without the second pass; the stores spread over the drawing
   instead of coming in a burst. `stream`: X 64-byte aligned, non-temporal stores. */
PATTN__T512 static void pattn__p1_noise_rows_512(pattn_rng8 *r, float *X, const float *const *adds, int Td, int d,
                                                 float sig, int drop0, int stream)
{
    pattn__i8 s[4];
    pattn__f16 vs = pattn__f16_set1(sig), v[2], z;
    const float *sgn = adds[0];
    int i = 0, w, h, nh, col = 0, row = 0, T = Td / d;
    for (w = 0; w < 4; ++w) s[w] = pattn__i8_load(r->s[w]);
    while (i < Td) {
        if (Td - i >= 32) {
            pattn__i16 a, b;
            pattn__f16 c, sn;
            pattn__rng8_four_512(s, &a, &b);
            pattn__f16_boxmuller(PATTN__RNG8_U1(pattn__f16, pattn__i16, a), PATTN__RNG8_U2(pattn__f16, pattn__i16, b), &c, &sn);
            v[0] = _mm512_shuffle_f32x4(c, sn, 0x44); /* (c lo, s lo): normals i .. i+15 */
            v[1] = _mm512_shuffle_f32x4(c, sn, 0xEE); /* (c hi, s hi): i+16 .. i+31 */
            nh = 2;
        } else { /* 16 left: two 8-lane steps, as in pattn__rng8_normal16 */
            pattn__i8 a = pattn__v8_rng8_next(s), b = pattn__v8_rng8_next(s);
            pattn__f8 c, sn;
            pattn__f8_boxmuller(PATTN__RNG8_U1(pattn__f8, pattn__i8, a), PATTN__RNG8_U2(pattn__f8, pattn__i8, b), &c, &sn);
            v[0] = pattn__f16_join(c, sn);
            nh = 1;
        }
        for (h = 0; h < nh; ++h, i += 16) {
            z = drop0 && col == 0 ? _mm512_maskz_mov_ps((__mmask16)0xfffe, v[h]) : v[h];
            z = pattn__f16_fma(vs, z, pattn__f16_load(sgn + col));
            if (stream) _mm512_stream_ps(X + i, z);
            else pattn__f16_store(X + i, z);
            col += 16;
            if (col == d && ++row < T) {
                col = 0;
                sgn = adds[row];
            }
        }
    }
    for (w = 0; w < 4; ++w) pattn__i8_store(r->s[w], s[w]);
}
#endif

/* What every sample of one pattn_cmm_sample call shares. */
typedef struct pattn__p1_gen {
    pattn__p1_draws D0;   /* the draw state before a sample's first draw */
    const float *qh;      /* q/|q| */
    float sig;            /* sigma */
    int d, ortho, userq;  /* ORTHO noise; a user q (else q is along e1) */
    int fused, nt;        /* AVX-512 fused noise rows; streaming stores */
} pattn__p1_gen;

/* One sample: its discrete draws from stream `index` of `seed`, then its T*d noise normals,
   projected off q for ORTHO noise, and x = sigma z + signal written row by row. Z is the
   thread's noise buffer (NULL: noise is drawn into Xi itself), adds its row-signal table. */
static void pattn__p1_cmm_one(const pattn__p1_gen *G, uint64_t seed, uint64_t index, float *Xi, float *yi,
                              uint8_t *mask, float *Z, const float **adds)
{
    pattn_rng8 r8;
    pattn__p1_draws D = G->D0;
    int t, d = G->d, T = G->D0.T, Td = T * d;
    pattn__p1_draws_begin(&D, seed, index, yi, mask, adds);
    while (D.t < T) pattn__p1_draws_row(&D);
    if (G->sig <= 0.0f) {
        for (t = 0; t < T; ++t) {
            float *row = Xi + (size_t)t * (size_t)d;
            if (D.adds[t]) memcpy(row, D.adds[t], (size_t)d * sizeof(float));
            else memset(row, 0, (size_t)d * sizeof(float));
        }
        return;
    }
    pattn_rng8_seed(&r8, D.noise_seed, 0);
#if PATTN__AVX512
    if (G->fused) {
        pattn__p1_noise_rows_512(&r8, Xi, D.adds, Td, d, G->sig, G->ortho, G->nt);
        return;
    }
#endif
    if (!Z) Z = Xi;
    pattn_rng8_normal_f32(&r8, Z, Td);
    for (t = 0; t < T; ++t) {
        float *row = Z + (size_t)t * (size_t)d;
        /* z ~ N(0, s^2 (I - qq'/|q|^2)): the default q = |q| e1 just drops coordinate 0 */
        if (G->ortho) {
            if (G->userq) pattn__axpy(d, -pattn__dot(row, G->qh, d), G->qh, row);
            else row[0] = 0.0f;
        }
        pattn__p1_scale_add(d, G->sig, row, D.adds[t], Xi + (size_t)t * (size_t)d, G->nt); /* x = sigma z + signal */
    }
}

PATTN__KDEF pattn_status pattn_cmm_sample(const pattn_cmm *m_in, const pattn_cmm_ext *ext,
                                        uint64_t seed, uint64_t first, int n, float *X,
                                        float *y, uint8_t *mask)
{
    pattn_cmm mc;
    const pattn_cmm *m = pattn__cmm_resolve(m_in, &mc);
    float *buf, *rel[2], *dis[2], *qh, *qf, *vf, *nz, *zbuf, sig;
    const float **adds;
    pattn__p1_gen G;
    int d, T, k, ortho, userq, leading, j, nth, nt, fused;
    size_t Td, astride;
    long i;
    double qn = 0.0;
    PATTN__REQ(X && y, "%s is NULL", X ? "y" : "X");
    PATTN__REQ(n >= 1, "n is %d; it must be >= 1", n);
    if (!pattn__p1_cmm_ok(__func__, m, ext)) return PATTN_EINVAL;
    PATTN__REQ(pattn__fits(n, m->T, m->d, sizeof(float)), "n*T*d = %d*%d*%d would not fit in size_t", n, m->T, m->d);
    d = m->d;
    T = m->T;
    Td = (size_t)T * (size_t)d;
    k = (int)lround(m->zeta * T);
    buf = (float *)PATTN_MALLOC(8 * (size_t)d * sizeof(float));
    if (!buf) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    qf = buf; vf = qf + d; qh = vf + d;
    rel[0] = qh + d; rel[1] = rel[0] + d; dis[0] = rel[1] + d; dis[1] = dis[0] + d; nz = dis[1] + d;
    for (j = 0; j < d; ++j) nz[j] = -0.0f;
    pattn__p1_cmm_qv(m, ext, qf, vf);
    for (j = 0; j < d; ++j) qn += (double)qf[j] * (double)qf[j];
    qn = sqrt(qn);
    /* index 0: y = -1, index 1: y = +1; signal rows formed in double, rounded once */
    for (j = 0; j < d; ++j) {
        double qj = (double)qf[j], vj = (double)vf[j];
        qh[j] = (float)(qj / qn);
        rel[1][j] = (float)(qj + vj);
        rel[0][j] = (float)(qj - vj);
        dis[1][j] = (float)(m->dist_q * qj - m->rho * vj);
        dis[0][j] = (float)(m->dist_q * qj + m->rho * vj);
    }
    ortho = m->noise == PATTN_NOISE_ORTHO;
    userq = ext && ext->q;
    leading = ext && ext->leading;
    sig = (float)m->sigma;
    nth = pattn__p1_threads(pattn__max_threads(), 8.0 * (double)n * (double)Td, n);
    /* The noise of a sample is drawn into a per-thread buffer that stays in L1 and written
       to X once, finished (sigma z + signal); an output far larger than the caches is
       written around them, when every row stays aligned. */
    fused = sig > 0.0f && d % 16 == 0 && !(ortho && userq) && pattn__has_avx512();
    zbuf = sig > 0.0f && !fused && Td <= 16384 ? (float *)PATTN_MALLOC((size_t)nth * Td * sizeof(float)) : NULL;
    nt = (fused || zbuf) && (double)n * (double)Td * sizeof(float) > 16e6 && d % 8 == 0 &&
         ((uintptr_t)X & (fused ? 63 : 31)) == 0;
    /* per-thread row-signal tables, a cache line apart so the threads never share one */
    astride = (((size_t)T + 7) & ~(size_t)7) + 8;
    adds = (const float **)PATTN_MALLOC((size_t)nth * astride * sizeof(*adds));
    if (!adds) {
        PATTN_FREE(zbuf);
        PATTN_FREE(buf);
        return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    }
    memset(&G, 0, sizeof G);
    G.D0.rel[0] = rel[0]; G.D0.rel[1] = rel[1]; G.D0.dis[0] = dis[0]; G.D0.dis[1] = dis[1];
    G.D0.none = fused ? nz : NULL;
    G.D0.eps = m->eps;
    G.D0.T = T; G.D0.k = k; G.D0.leading = leading;
    G.qh = qh;
    G.sig = sig;
    G.d = d;
    G.ortho = ortho;
    G.userq = userq;
    G.fused = fused;
    G.nt = nt;

    { /* PATTN__OMP_PAR_NT is a statement of its own without OpenMP: keep the braces */
        PATTN__OMP_PAR_NT(nth)
        {
            PATTN__OMP_FOR_NOWAIT
            for (i = 0; i < (long)n; ++i) {
                int tid = pattn__tid();
                pattn__p1_cmm_one(&G, seed, first + (uint64_t)i, X + (size_t)i * Td, y + i,
                                  mask ? mask + (size_t)i * (size_t)T : NULL,
                                  zbuf ? zbuf + (size_t)tid * Td : NULL, adds + (size_t)tid * astride);
            }
            if (nt) pattn__stream_fence(); /* this thread's streaming stores */
        }
    }
    if (nt) pattn__stream_fence();
    PATTN_FREE(adds);
    PATTN_FREE(zbuf);
    PATTN_FREE(buf);
    return PATTN_OK;
}

/* ==== paper 1: training, ridge head, initial trajectory ========================== */

PATTN__KDEF pattn_status pattn_pa_features(const float *X, int n, int T, int d, const float *p,
                                         const float *W, float *H)
{
    float *buf, *pe, *sc;
    int nth = pattn__max_threads();
    size_t slot = pattn__p1_round16(2 * (size_t)T + 2 * PATTN__P1_DW(d)); /* pattn__p1_pa_one scratch */
    long i;
    PATTN__REQ(X && p && H, "%s is NULL", !X ? "X" : !p ? "p" : "H");
    PATTN__REQ(n >= 1 && T >= 1 && d >= 1, "%s is %d; it must be >= 1", n < 1 ? "n" : T < 1 ? "T" : "d", n < 1 ? n : T < 1 ? T : d);
    PATTN__REQ(pattn__fits(n, T, d, sizeof(float)), "n*T*d = %d*%d*%d would not fit in size_t", n, T, d);
    PATTN__REQ(pattn__all_finite_f32(p, d), "p holds a NaN or infinite value");
    if (W)
        for (i = 0; i < d; ++i)
            PATTN__REQ(pattn__all_finite_f32(W + (size_t)i * (size_t)d, d), "W row %ld holds a NaN or infinite value", i);
    buf = (float *)PATTN_MALLOC((pattn__p1_round16((size_t)d) + (size_t)nth * slot) * sizeof(float));
    if (!buf) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    pe = buf;
    sc = buf + pattn__p1_round16((size_t)d);
    pattn__p1_matvec(W, d, p, 0, pe);
    nth = pattn__p1_threads(nth, (double)n * T * d, n);
    PATTN__OMP_FOR_NT(nth)
    for (i = 0; i < (long)n; ++i)
        (void)pattn__p1_pa_one(X + (size_t)i * (size_t)T * (size_t)d, T, d, pe, NULL,
                               sc + (size_t)pattn__tid() * slot, H + (size_t)i * (size_t)d, NULL, NULL, NULL);
    PATTN_FREE(buf);
    return PATTN_OK;
}

PATTN__KDEF pattn_status pattn_pa_relevant_mass(const float *X, const uint8_t *mask, int n, int T,
                                              int d, const float *p, const float *W,
                                              double *mass)
{
    float *buf, *pe, *sc;
    double *per, total = 0.0;
    int nth = pattn__max_threads();
    size_t slot = pattn__p1_round16((size_t)T);
    long i;
    PATTN__REQ(X && mask && p && mass, "%s is NULL", !X ? "X" : !mask ? "mask" : !p ? "p" : "mass");
    PATTN__REQ(n >= 1 && T >= 1 && d >= 1, "%s is %d; it must be >= 1", n < 1 ? "n" : T < 1 ? "T" : "d", n < 1 ? n : T < 1 ? T : d);
    PATTN__REQ(pattn__fits(n, T, d, sizeof(float)), "n*T*d = %d*%d*%d would not fit in size_t", n, T, d);
    PATTN__REQ(pattn__all_finite_f32(p, d), "p holds a NaN or infinite value");
    if (W)
        for (i = 0; i < d; ++i)
            PATTN__REQ(pattn__all_finite_f32(W + (size_t)i * (size_t)d, d), "W row %d holds a NaN or infinite value", (int)i);
    buf = (float *)PATTN_MALLOC((pattn__p1_round16((size_t)d) + (size_t)nth * slot) * sizeof(float) + (size_t)n * sizeof(double));
    if (!buf) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    pe = buf;
    sc = buf + pattn__p1_round16((size_t)d);
    per = (double *)(void *)(sc + (size_t)nth * slot);
    pattn__p1_matvec(W, d, p, 0, pe);
    nth = pattn__p1_threads(nth, (double)n * T * d, n);
    PATTN__OMP_FOR_NT(nth)
    for (i = 0; i < (long)n; ++i) {
        const float *Xi = X + (size_t)i * (size_t)T * (size_t)d;
        float *s = sc + (size_t)pattn__tid() * slot;
        double mr = 0.0, all = 0.0;
        int t;
        for (t = 0; t < T; ++t) s[t] = pattn__dot(Xi + (size_t)t * (size_t)d, pe, d);
        pattn__p1_softmax(s, T);
        /* the relevant share of the weights' own sum: a subset's sum in the same order never
           exceeds the whole, so the mass lies in [0, 1] whatever the rounding */
        for (t = 0; t < T; ++t) {
            all += (double)s[t];
            if (mask[(size_t)i * (size_t)T + t] == 1) mr += (double)s[t];
        }
        per[i] = all > 0.0 ? mr / all : mr;
    }
    for (i = 0; i < (long)n; ++i) total += per[i];
    *mass = total / n;
    PATTN_FREE(buf);
    return PATTN_OK;
}

/* x . y in double with four partial sums (fixed order) */
static double pattn__p1_ddot(const double *x, const double *y, int n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += x[i] * y[i];
        s1 += x[i + 1] * y[i + 1];
        s2 += x[i + 2] * y[i + 2];
        s3 += x[i + 3] * y[i + 3];
    }
    for (; i < n; ++i) s0 += x[i] * y[i];
    return (s0 + s2) + (s1 + s3);
}

/* x = A^+ b for symmetric PSD A (m x m) through its eigen-decomposition; eigenvalues below
   m * eps * max are treated as zero (the minimum-norm solution) */
static pattn_status pattn__p1_pinv_solve(const double *A, int m, const double *b, double *x)
{
    double *ev = (double *)PATTN_MALLOC(((size_t)m * (size_t)m + 2 * (size_t)m) * sizeof(double));
    double *V, *c, top = 0.0, tol;
    pattn_status st;
    int i, j;
    if (!ev) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    V = ev + m;
    c = V + (size_t)m * (size_t)m;
    st = pattn_sym_eig(A, m, ev, V);
    if (st != PATTN_OK) {
        PATTN_FREE(ev);
        return st;
    }
    for (i = 0; i < m; ++i) top = fabs(ev[i]) > top ? fabs(ev[i]) : top;
    tol = (double)m * DBL_EPSILON * top;
    for (j = 0; j < m; ++j) {
        double s = 0.0;
        for (i = 0; i < m; ++i) s += V[(size_t)i * (size_t)m + j] * b[i];
        c[j] = ev[j] > tol ? s / ev[j] : 0.0;
    }
    for (i = 0; i < m; ++i) {
        double s = 0.0;
        for (j = 0; j < m; ++j) s += V[(size_t)i * (size_t)m + j] * c[j];
        x[i] = s;
    }
    PATTN_FREE(ev);
    return PATTN_OK;
}

/* Solve A x = b for SPD-or-singular PSD A: Cholesky, else the pseudo-inverse. A is kept. */
static pattn_status pattn__p1_psd_solve(const double *A, int m, const double *b, double *x)
{
    double *L = (double *)PATTN_MALLOC((size_t)m * (size_t)m * sizeof(double));
    pattn_status st;
    if (!L) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    memcpy(L, A, (size_t)m * (size_t)m * sizeof(double));
    st = pattn_chol(L, m);
    if (st == PATTN_OK) {
        memcpy(x, b, (size_t)m * sizeof(double));
        st = pattn_chol_solve(L, m, x, 1);
    } else if (st == PATTN_ENUM) {
        st = pattn__p1_pinv_solve(A, m, b, x);
    }
    PATTN_FREE(L);
    return st;
}

PATTN__KDEF pattn_status pattn_ridge_fit(const float *H, const float *y, int n, int d,
                                       double lambda, double *w)
{
    double *Hd, *A, *b, *x;
    pattn_status st;
    int m, nth;
    long i;
    PATTN__REQ(H && y && w, "%s is NULL", !H ? "H" : !y ? "y" : "w");
    PATTN__REQ(n >= 1 && d >= 1, "%s is %d; it must be >= 1", n < 1 ? "n" : "d", n < 1 ? n : d);
    PATTN__REQ(pattn__finite(lambda) && lambda >= 0.0, "lambda is %g; it must be finite and >= 0", lambda);
    PATTN__REQ(pattn__fits(n, d, 4, sizeof(double)), "n*d = %d*%d: the scratch (about 4 n d doubles) would not fit in size_t", n, d);
    PATTN__REQ(pattn__all_finite_f32(y, n), "y holds a NaN or infinite value");
    for (i = 0; i < n; ++i)
        PATTN__REQ(pattn__all_finite_f32(H + (size_t)i * (size_t)d, d), "H row %d holds a NaN or infinite value", (int)i);
    m = n >= d ? d : n;
    Hd = (double *)PATTN_MALLOC(((size_t)n * (size_t)d + (size_t)m * (size_t)m + 2 * (size_t)m) * sizeof(double));
    if (!Hd) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    A = Hd + (size_t)n * (size_t)d;
    b = A + (size_t)m * (size_t)m;
    x = b + m;
    if (n >= d) {
        /* primal: (H'H/n + lambda I) w = H'y/n, from the transposed features so that every
           entry is one contiguous dot product */
        for (i = 0; i < n; ++i) {
            int j;
            for (j = 0; j < d; ++j) Hd[(size_t)j * (size_t)n + i] = (double)H[(size_t)i * (size_t)d + j];
        }
        nth = pattn__p1_threads(pattn__max_threads(), 0.5 * (double)n * d * d, d);
        PATTN__OMP_FOR_NT(nth)
        for (i = 0; i < (long)d; ++i) {
            const double *hi = Hd + (size_t)i * (size_t)n;
            double s = 0.0;
            int j, t;
            for (j = 0; j <= (int)i; ++j) {
                double a = pattn__p1_ddot(hi, Hd + (size_t)j * (size_t)n, n) / n;
                A[(size_t)i * (size_t)d + j] = A[(size_t)j * (size_t)d + i] = a;
            }
            A[(size_t)i * (size_t)d + i] += lambda;
            for (t = 0; t < n; ++t) s += hi[t] * (double)y[t];
            b[i] = s / n;
        }
        st = pattn__p1_psd_solve(A, d, b, x);
        if (st == PATTN_OK) memcpy(w, x, (size_t)d * sizeof(double));
    } else {
        /* dual: w = H'a with (HH'/n + lambda I) a = y/n */
        for (i = 0; i < (long)n * d; ++i) Hd[i] = (double)H[i];
        nth = pattn__p1_threads(pattn__max_threads(), 0.5 * (double)n * n * d, n);
        PATTN__OMP_FOR_NT(nth)
        for (i = 0; i < (long)n; ++i) {
            int j;
            for (j = 0; j <= (int)i; ++j) {
                double a = pattn__p1_ddot(Hd + (size_t)i * (size_t)d, Hd + (size_t)j * (size_t)d, d) / n;
                A[(size_t)i * (size_t)n + j] = A[(size_t)j * (size_t)n + i] = a;
            }
            A[(size_t)i * (size_t)n + i] += lambda;
            b[i] = (double)y[i] / n;
        }
        st = pattn__p1_psd_solve(A, n, b, x);
        if (st == PATTN_OK) {
            int j;
            for (j = 0; j < d; ++j) {
                double s = 0.0;
                for (i = 0; i < n; ++i) s += Hd[(size_t)i * (size_t)d + j] * x[i];
                w[j] = s;
            }
        }
    }
    PATTN_FREE(Hd);
    return st;
}

/* ---- training: the optimiser both papers share ----------------------------------------- */

PATTN__KDEF void pattn_history_free(pattn_history *h)
{
    if (!h) return;
    stbds_arrfree(h->rec);
    h->rec = NULL;
    h->len = 0;
}

static pattn_train_rec pattn__rec(long step, double loss, double acc, double lr)
{
    pattn_train_rec r;
    memset(&r, 0, sizeof r);
    r.step = step;
    r.loss = loss;
    r.acc = acc;
    r.lr = lr;
    return r;
}
static void pattn__hist_push(pattn_history *h, const pattn_train_rec *r)
{
    stbds_arrput(h->rec, *r);
    h->len = (long)stbds_arrlen(h->rec);
}

static int pattn__optim_ok(const char *fn, const pattn_optim *o)
{
    PATTN__OK(o->steps >= 0, "opt.steps is %ld; it must be >= 0 (0 = default)", o->steps);
    PATTN__OK(pattn__finite(o->lr) && o->lr >= 0.0, "opt.lr is %g; it must be finite and >= 0 (0 = default)", o->lr);
    PATTN__OK(pattn__finite(o->lr_final) && o->lr_final >= 0.0, "opt.lr_final is %g; it must be finite and >= 0", o->lr_final);
    PATTN__OK(o->optimizer >= PATTN_OPT_DEFAULT && o->optimizer <= PATTN_OPT_GD, "opt.optimizer is %d; it must be a pattn_optimizer value", (int)o->optimizer);
    PATTN__OK(o->schedule >= PATTN_SCHED_DEFAULT && o->schedule <= PATTN_SCHED_COSINE, "opt.schedule is %d; it must be a pattn_schedule value", (int)o->schedule);
    PATTN__OK(pattn__finite(o->beta1) && o->beta1 >= 0.0 && o->beta1 < 1.0, "opt.beta1 is %g; it must lie in [0, 1)", o->beta1);
    PATTN__OK(pattn__finite(o->beta2) && o->beta2 >= 0.0 && o->beta2 < 1.0, "opt.beta2 is %g; it must lie in [0, 1)", o->beta2);
    PATTN__OK(pattn__finite(o->eps) && o->eps >= 0.0, "opt.eps is %g; it must be finite and >= 0", o->eps);
    PATTN__OK(pattn__finite(o->weight_decay) && o->weight_decay >= 0.0, "opt.weight_decay is %g; it must be finite and >= 0", o->weight_decay);
    PATTN__OK(o->progress_every >= 0, "opt.progress_every is %ld; it must be >= 0", o->progress_every);
    return 1;
}

/* zero fields take the defaults; the trainer supplies its own steps, lr and schedule */
static void pattn__optim_resolve(pattn_optim *o, long steps, double lr, pattn_schedule sched)
{
    if (o->steps == 0) o->steps = steps;
    if (o->lr == 0.0) o->lr = lr;
    if (o->optimizer == PATTN_OPT_DEFAULT) o->optimizer = PATTN_OPT_ADAM;
    if (o->schedule == PATTN_SCHED_DEFAULT) o->schedule = sched;
    if (o->lr_final == 0.0) o->lr_final = o->lr / 1000.0;
    if (o->beta1 == 0.0) o->beta1 = 0.9;
    if (o->beta2 == 0.0) o->beta2 = 0.999;
    if (o->eps == 0.0) o->eps = 1e-8;
    if (o->progress_every == 0) o->progress_every = o->steps / 100 > 0 ? o->steps / 100 : 1;
}

/* the learning rate of step `step` (0-based) */
static double pattn__optim_lr(const pattn_optim *o, long step)
{
    double f;
    if (o->schedule != PATTN_SCHED_COSINE || o->steps < 2) return o->lr;
    f = step >= o->steps - 1 ? 1.0 : (double)step / (double)(o->steps - 1);
    return o->lr_final + (o->lr - o->lr_final) * 0.5 * (1.0 + pattn__cos2pi_d(0.5 * f));
}

/* Bias corrections of Adam for the next step: c = 1 - beta^(step+1), the powers kept as
   running products in *p1, *p2 (1 before the first step): plain multiplications give the
   same bits on every C library, where pow may not. */
static void pattn__optim_bias(const pattn_optim *o, double *p1, double *p2, double *c1, double *c2)
{
    *p1 *= o->beta1;
    *p2 *= o->beta2;
    *c1 = 1.0 - *p1;
    *c2 = 1.0 - *p2;
}

/* The one update rule: the new value of a parameter th with gradient g, learning rate lr and
   Adam moments m1, m2 (untouched by GD). */
PATTN__INLINE double pattn__optim_apply(const pattn_optim *o, double lr, double th, double g,
                                        double *m1, double *m2, double c1, double c2)
{
    if (o->optimizer == PATTN_OPT_GD) return th - lr * (g + o->weight_decay * th);
    if (o->decoupled) th -= lr * o->weight_decay * th;
    else g += o->weight_decay * th;
    *m1 = o->beta1 * *m1 + (1.0 - o->beta1) * g;
    *m2 = o->beta2 * *m2 + (1.0 - o->beta2) * g * g;
    return th - lr * (*m1 / c1) / (sqrt(*m2 / c2) + o->eps);
}

/* ---- paper 1: the trainer ------------------------------------------------------------- */

/* the model's own trained set */
static int pattn__p1_default_train(pattn_model m, const pattn_params *P)
{
    switch (m) {
    case PATTN_PA:
    case PATTN_LPA: return PATTN_TRAIN_P | PATTN_TRAIN_V;
    case PATTN_SA:
    case PATTN_SA_QUERY: return P->W ? (PATTN_TRAIN_W | PATTN_TRAIN_V) : PATTN_TRAIN_V;
    default: return PATTN_TRAIN_V;
    }
}

/* theta (float) updated in place with gradient g; m1, m2 its Adam moments */
static void pattn__p1_update(const pattn_optim *o, double lr, float *theta, const float *g,
                             size_t len, double *m1, double *m2, double c1, double c2)
{
    size_t i;
    for (i = 0; i < len; ++i)
        theta[i] = (float)pattn__optim_apply(o, lr, (double)theta[i], (double)g[i], m1 + i, m2 + i, c1, c2);
}

static int pattn__p1_train_opts_ok(const char *fn, const pattn_train_opts *o, const pattn_params *P, int *flags)
{
    if (!pattn__optim_ok(fn, &o->opt)) return 0;
    PATTN__OK(pattn__loss_ok(o->loss), "o->loss is %d; it must be PATTN_LOSS_SQUARED, _LOGISTIC or _CORRELATION", (int)o->loss);
    PATTN__OK(o->batch >= 0, "o->batch is %d; it must be >= 0 (0 = full batch)", o->batch);
    *flags = o->train ? o->train : pattn__p1_default_train(o->model, P);
    PATTN__OK(!(*flags & ~(PATTN_TRAIN_P | PATTN_TRAIN_V | PATTN_TRAIN_W)), "o->train is %d; it must combine PATTN_TRAIN_P, _V and _W", o->train);
    PATTN__OK(!((*flags & PATTN_TRAIN_P) && (o->model == PATTN_SA || o->model == PATTN_LIN || o->model == PATTN_SA_QUERY)), "o->train asks for p; model %s has no prompt", pattn_model_name(o->model));
    PATTN__OK(!((*flags & PATTN_TRAIN_W) && o->model == PATTN_LIN), "o->train asks for W; model LIN has none");
    PATTN__OK(!((*flags & PATTN_TRAIN_W) && !P->W), "o->train asks for W but P->W is NULL; give a d*d matrix to train");
    return 1;
}

/* Fisher-Yates over perm when the next mini-batch would run past the epoch's end */
static void pattn__p1_next_batch(pattn_rng *rng, int *perm, int n, int bs, int *pos)
{
    int i;
    if (*pos + bs <= n) return;
    for (i = n - 1; i > 0; --i) {
        int j = (int)pattn__p1_below32(rng, (uint32_t)(i + 1)), tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    *pos = 0;
}

PATTN__KDEF pattn_status pattn_train(const pattn_train_opts *opts, pattn_params *P, const float *X,
                                   const float *y, int n, int T, pattn_history *hist)
{
    pattn_train_opts o;
    pattn_optim *op = &o.opt;
    pattn_batch_out bo;
    pattn_status st = PATTN_OK;
    pattn_rng rng;
    size_t wbytes, dd, Td, np;
    void *work = NULL;
    float *gbuf = NULL, *back = NULL, *Xb = NULL, *yb = NULL;
    double *m1 = NULL, *m2, pw1 = 1.0, pw2 = 1.0;
    int *perm = NULL, flags = 0, bs, pos, d, i;
    long it;
    if (opts) o = *opts;
    else memset(&o, 0, sizeof o);
    PATTN__REQ(P, "P is NULL");
    PATTN__REQ(X && y, "%s is NULL", X ? "y" : "X");
    PATTN__REQ(n >= 1 && T >= 1, "%s is %d; it must be >= 1", n < 1 ? "n" : "T", n < 1 ? n : T);
    if (!pattn__p1_params_ok(__func__, o.model, P)) return PATTN_EINVAL;
    PATTN__REQ(pattn__fits(n, T, P->d, sizeof(float)), "n*T*d = %d*%d*%d would not fit in size_t", n, T, P->d);
    if (!pattn__p1_train_opts_ok(__func__, &o, P, &flags)) return PATTN_EINVAL;
    PATTN__REQ(pattn__all_finite_f32(y, n), "y holds a NaN or infinite label");
    d = P->d;
    dd = (size_t)d * (size_t)d;
    Td = (size_t)T * (size_t)d;
    PATTN__REQ(pattn_model_work_size(o.model, T, d) > 0, "T*d = %d*%d is too large", T, d);
    pattn__optim_resolve(op, 300, 0.05, PATTN_SCHED_COSINE);
    bs = (o.batch == 0 || o.batch >= n) ? n : o.batch;

    np = 2 * (size_t)d + dd;
    wbytes = pattn_model_work_size(o.model, T, d);
    work = PATTN_MALLOC(wbytes);
    gbuf = (float *)PATTN_MALLOC(2 * np * sizeof(float));
    m1 = (double *)PATTN_MALLOC(2 * np * sizeof(double));
    if (bs < n) {
        Xb = (float *)PATTN_MALLOC((size_t)bs * Td * sizeof(float));
        yb = (float *)PATTN_MALLOC((size_t)bs * sizeof(float));
        perm = (int *)PATTN_MALLOC((size_t)n * sizeof(int));
    }
    if (!work || !gbuf || !m1 || (bs < n && (!Xb || !yb || !perm))) {
        st = PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate the training workspace");
        goto done;
    }
    back = gbuf + np; /* the parameters before the step, restored if it diverges */
    m2 = m1 + np;
    memset(m1, 0, 2 * np * sizeof(double));
    memset(&bo, 0, sizeof bo);
    bo.gp = (flags & PATTN_TRAIN_P) ? gbuf : NULL;
    bo.gv = (flags & PATTN_TRAIN_V) ? gbuf + d : NULL;
    bo.gW = (flags & PATTN_TRAIN_W) ? gbuf + 2 * (size_t)d : NULL;
    pattn_rng_seed(&rng, op->seed);
    pos = n; /* forces a shuffle before the first mini-batch */
    if (perm)
        for (i = 0; i < n; ++i) perm[i] = i;
    if (hist) hist->diverged_at = -1;

    for (it = 0; it < op->steps; ++it) {
        const float *Xu = X, *yu = y;
        double lr = pattn__optim_lr(op, it), c1, c2;
        pattn_train_rec rec;
        int bad;
        if (bs < n) {
            pattn__p1_next_batch(&rng, perm, n, bs, &pos);
            for (i = 0; i < bs; ++i) {
                memcpy(Xb + (size_t)i * Td, X + (size_t)perm[pos + i] * Td, Td * sizeof(float));
                yb[i] = y[perm[pos + i]];
            }
            pos += bs;
            Xu = Xb;
            yu = yb;
        }
        st = pattn_model_batch(o.model, P, o.loss, Xu, yu, bs, T, &bo, work, wbytes);
        if (st != PATTN_OK) { st = pattn__via(__func__, st); goto done; }
        rec = pattn__rec(it, bo.loss, bo.acc, lr);
        if (hist) pattn__hist_push(hist, &rec);
        if (flags & PATTN_TRAIN_P) memcpy(back, P->p, (size_t)d * sizeof(float));
        memcpy(back + d, P->v, (size_t)d * sizeof(float));
        if (flags & PATTN_TRAIN_W) memcpy(back + 2 * (size_t)d, P->W, dd * sizeof(float));
        bad = !pattn__finite(bo.loss) || ((flags & PATTN_TRAIN_P) && !pattn__all_finite_f32(gbuf, d)) ||
              ((flags & PATTN_TRAIN_V) && !pattn__all_finite_f32(gbuf + d, d)) ||
              ((flags & PATTN_TRAIN_W) && !pattn__all_finite_f32(gbuf + 2 * (size_t)d, (int)dd));
        if (!bad) {
            pattn__optim_bias(op, &pw1, &pw2, &c1, &c2);
            if (flags & PATTN_TRAIN_P) pattn__p1_update(op, lr, P->p, gbuf, (size_t)d, m1, m2, c1, c2);
            if (flags & PATTN_TRAIN_V) pattn__p1_update(op, lr, P->v, gbuf + d, (size_t)d, m1 + d, m2 + d, c1, c2);
            if (flags & PATTN_TRAIN_W) pattn__p1_update(op, lr, P->W, gbuf + 2 * (size_t)d, dd, m1 + 2 * d, m2 + 2 * d, c1, c2);
            bad = ((flags & PATTN_TRAIN_P) && !pattn__all_finite_f32(P->p, d)) ||
                  ((flags & PATTN_TRAIN_V) && !pattn__all_finite_f32(P->v, d)) ||
                  ((flags & PATTN_TRAIN_W) && !pattn__all_finite_f32(P->W, (int)dd));
            if (bad) { /* the step overflowed float: give back the last finite iterate */
                if (flags & PATTN_TRAIN_P) memcpy(P->p, back, (size_t)d * sizeof(float));
                memcpy(P->v, back + d, (size_t)d * sizeof(float));
                if (flags & PATTN_TRAIN_W) memcpy(P->W, back + 2 * (size_t)d, dd * sizeof(float));
            }
        }
        if (bad) {
            if (hist) hist->diverged_at = it;
            st = PATTN__FAIL(PATTN_EDIVERGED, __func__, "diverged at step %ld of %ld (loss %g, lr %g): lower opt.lr; P holds the last finite iterate", it, op->steps, bo.loss, lr);
            goto done;
        }
        if (op->progress && (((it + 1) % op->progress_every) == 0 || it + 1 == op->steps) &&
            op->progress(op->user, &rec, op->steps))
            break;
    }
done:
    PATTN_FREE(work);
    PATTN_FREE(gbuf);
    PATTN_FREE(m1);
    PATTN_FREE(Xb);
    PATTN_FREE(yb);
    PATTN_FREE(perm);
    return st;
}

/* x = -eta g in float, refused (nothing kept) when it overflows: the step's own message */
static int pattn__traj_step(const char *fn, float *x, const float *base, double eta,
                            const float *g, int d, const char *eta_name, int step)
{
    int j;
    for (j = 0; j < d; ++j) x[j] = (float)((base ? (double)base[j] : 0.0) - eta * (double)g[j]);
    if (pattn__all_finite_f32(x, d)) return 1;
    return pattn__bad(fn, "%s = %g times the step-%d gradient overflows float; use a smaller %s", eta_name, eta, step, eta_name);
}

PATTN__KDEF pattn_status pattn_traj3(const pattn_traj_opts *o, const float *X, const float *y,
                                   int n, int T, int d, const float *q, const float *Xte,
                                   const float *yte, const uint8_t *mask_te, int nte,
                                   float *v1, float *p2, float *v3, pattn_traj_result *res)
{
    pattn_params P;
    pattn_batch_out bo;
    pattn_traj_result R;
    pattn_status st;
    float *buf, *zero, *pv1, *pp2, *pv3, *g, *Hf = NULL;
    double *w = NULL, pq = 0.0, pp = 0.0, qq = 0.0;
    size_t Td = (size_t)T * (size_t)d, S[3];
    int j, nsets;
    pattn_traj_opts oz;
    if (!o) {
        memset(&oz, 0, sizeof oz);
        o = &oz;
    }
    PATTN__REQ(X && y && Xte && yte && res, "%s is NULL", !X ? "X" : !y ? "y" : !Xte ? "Xte" : !yte ? "yte" : "res");
    PATTN__REQ(T >= 1 && d >= 1 && nte >= 1 && n >= 1, "%s is %d; it must be >= 1", T < 1 ? "T" : d < 1 ? "d" : nte < 1 ? "nte" : "n", T < 1 ? T : d < 1 ? d : nte < 1 ? nte : n);
    nsets = o->no_split ? 1 : 3;
    PATTN__REQ(n <= 2147483647 / nsets && pattn__fits(n * nsets, T, d, sizeof(float)), "n = %d: the %d*n*T*d training floats (T = %d, d = %d) would not fit in size_t or int", n, nsets, T, d);
    PATTN__REQ(pattn__fits(nte, T, d, sizeof(float)), "nte*T*d = %d*%d*%d would not fit in size_t", nte, T, d);
    PATTN__REQ(pattn__finite(o->eta_v) && o->eta_v >= 0.0, "o->eta_v is %g; it must be finite and > 0 (0 = default 1)", o->eta_v);
    PATTN__REQ(pattn__finite(o->eta_p) && o->eta_p >= 0.0, "o->eta_p is %g; it must be finite and > 0 (0 = default 1)", o->eta_p);
    PATTN__REQ(pattn__finite(o->lambda) && o->lambda >= 0.0, "o->lambda is %g; it must be finite and >= 0", o->lambda);
    PATTN__REQ(pattn__loss_ok(o->loss), "o->loss is %d; it must be PATTN_LOSS_SQUARED, _LOGISTIC or _CORRELATION", (int)o->loss);
    PATTN__REQ(o->step3 == PATTN_STEP3_FRESH || o->step3 == PATTN_STEP3_ANCHORED || o->step3 == PATTN_STEP3_REFIT, "o->step3 is %d; it must be PATTN_STEP3_FRESH, _ANCHORED or _REFIT", (int)o->step3);
    PATTN__REQ(pattn__all_finite_f32(y, n * nsets), "y holds a NaN or infinite value among its %d labels", n * nsets);
    PATTN__REQ(pattn__all_finite_f32(yte, nte), "yte holds a NaN or infinite value");
    PATTN__REQ(!q || pattn__all_finite_f32(q, d), "q holds a NaN or infinite value");
    if (o->eta_v == 0.0 || o->eta_p == 0.0) {
        oz = *o;
        if (oz.eta_v == 0.0) oz.eta_v = 1.0;
        if (oz.eta_p == 0.0) oz.eta_p = 1.0;
        o = &oz;
    }
    /* first sample of S1, S2, S3 */
    S[0] = 0;
    S[1] = o->no_split ? 0 : (size_t)n;
    S[2] = o->no_split ? 0 : 2 * (size_t)n;
    buf = (float *)PATTN_MALLOC(5 * (size_t)d * sizeof(float));
    if (!buf) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    zero = buf; pv1 = zero + d; pp2 = pv1 + d; pv3 = pp2 + d; g = pv3 + d;
    memset(zero, 0, (size_t)d * sizeof(float));
    P.d = d;
    P.W = NULL;
    memset(&bo, 0, sizeof bo);

    /* step 1: at v = 0, p = 0 only the head moves */
    P.p = zero; P.v = zero; bo.gv = g;
    st = pattn_model_batch(PATTN_PA, &P, o->loss, X + S[0] * Td, y + S[0], n, T, &bo, NULL, 0);
    if (st != PATTN_OK) { st = pattn__via(__func__, st); goto done; }
    if (!pattn__traj_step(__func__, pv1, NULL, o->eta_v, g, d, "o->eta_v", 1)) { st = PATTN_EINVAL; goto done; }
    /* step 2: the prompt, from the gradient at (p, v) = (0, v1) */
    P.v = pv1; bo.gv = NULL; bo.gp = g;
    st = pattn_model_batch(PATTN_PA, &P, o->loss, X + S[1] * Td, y + S[1], n, T, &bo, NULL, 0);
    if (st != PATTN_OK) { st = pattn__via(__func__, st); goto done; }
    if (!pattn__traj_step(__func__, pp2, NULL, o->eta_p, g, d, "o->eta_p", 2)) { st = PATTN_EINVAL; goto done; }
    /* step 3: the head at (p2, v1) */
    if (o->step3 == PATTN_STEP3_REFIT) {
        Hf = (float *)PATTN_MALLOC((size_t)n * (size_t)d * sizeof(float));
        w = (double *)PATTN_MALLOC((size_t)d * sizeof(double));
        if (!Hf || !w) { st = PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory"); goto done; }
        st = pattn_pa_features(X + S[2] * Td, n, T, d, pp2, NULL, Hf);
        if (st == PATTN_OK) st = pattn_ridge_fit(Hf, y + S[2], n, d, o->lambda, w);
        if (st != PATTN_OK) { st = pattn__via(__func__, st); goto done; }
        for (j = 0; j < d; ++j) pv3[j] = (float)w[j];
    } else {
        P.p = pp2; bo.gp = NULL; bo.gv = g;
        st = pattn_model_batch(PATTN_PA, &P, o->loss, X + S[2] * Td, y + S[2], n, T, &bo, NULL, 0);
        if (st != PATTN_OK) { st = pattn__via(__func__, st); goto done; }
        if (!pattn__traj_step(__func__, pv3, o->step3 == PATTN_STEP3_ANCHORED ? pv1 : NULL, o->eta_v, g, d, "o->eta_v", 3)) { st = PATTN_EINVAL; goto done; }
    }
    if (o->debias) {
        st = o->debias(o->debias_user, X + S[2] * Td, y + S[2], n, T, d, pp2, pv3);
        if (st != PATTN_OK) {
            st = PATTN__FAIL(st, __func__, "the debias hook returned %d (%s)", (int)st, pattn_status_str(st));
            goto done;
        }
        if (!pattn__all_finite_f32(pv3, d)) {
            st = PATTN__FAIL(PATTN_EINVAL, __func__, "the debias hook left a NaN or infinite head");
            goto done;
        }
    }
    /* evaluation on the test set */
    P.p = pp2; P.v = pv3; bo.gp = bo.gv = NULL;
    st = pattn_model_batch(PATTN_PA, &P, o->loss, Xte, yte, nte, T, &bo, NULL, 0);
    if (st != PATTN_OK) { st = pattn__via(__func__, st); goto done; }
    R.acc = bo.acc;
    R.loss = bo.loss;
    R.mass_r = PATTN__NAN;
    if (mask_te) {
        st = pattn_pa_relevant_mass(Xte, mask_te, nte, T, d, pp2, NULL, &R.mass_r);
        if (st != PATTN_OK) { st = pattn__via(__func__, st); goto done; }
    }
    for (j = 0; j < d; ++j) {
        double qj = q ? (double)q[j] : (j == 0 ? 1.0 : 0.0);
        pq += (double)pp2[j] * qj;
        pp += (double)pp2[j] * (double)pp2[j];
        qq += qj * qj;
    }
    R.gamma = pq;
    R.cos_pq = pp > 0.0 && qq > 0.0 ? pq / sqrt(pp * qq) : 0.0;
    *res = R;
    if (v1) memcpy(v1, pv1, (size_t)d * sizeof(float));
    if (p2) memcpy(p2, pp2, (size_t)d * sizeof(float));
    if (v3) memcpy(v3, pv3, (size_t)d * sizeof(float));
done:
    PATTN_FREE(buf);
    PATTN_FREE(Hf);
    PATTN_FREE(w);
    return st;
}

/* ==== paper 2 models: reduced, known-mean PGD, LinearAttn ================================== */

/* regimes by number (the closed forms' PATTN_ICL_PT .. PATTN_ICL_LB) */

/* sizes a model or a sample may have: every d*d*K and (n+2)*(d+1) product fits an int */
static int pattn__icl_size_ok(int d, int K, int n)
{
    double dd = (double)d + 1.0;
    if (d < 1 || K < 1 || n < 0) return 0;
    return dd * dd * (double)K * 4.0 < 2.0e9 && ((double)n + 2.0) * dd * 4.0 < 2.0e9;
}

static int pattn__icl_np(int type, int d, int K, int m)
{
    int D = d + 1;
    switch (type) {
    case PATTN_ICL_REDUCED: return d * d + K * d;
    case PATTN_ICL_PGD: return d * d;
    case PATTN_ICL_PGD_TASK: return K * d * d;
    default: return 3 * D * D + K * m * D + K * D;
    }
}

/* point the named parameter blocks into theta */
static void pattn__icl_model_layout(pattn_icl_model *md)
{
    int d = md->d, K = md->K, D = d + 1;
    double *t = md->theta;
    md->W = md->b = md->Wq = md->Wk = md->Wv = md->P = md->h = NULL;
    if (md->type == PATTN_ICL_FULL) {
        md->Wq = t;
        md->Wk = t + D * D;
        md->Wv = t + 2 * D * D;
        md->P = t + 3 * D * D;
        md->h = md->P + K * md->m * D;
    } else {
        md->W = t;
        if (md->type == PATTN_ICL_REDUCED) md->b = t + d * d;
    }
}

static void pattn__icl_full_default(pattn_icl_model *md)
{
    int D = md->d + 1, i, k, j;
    memset(md->theta, 0, (size_t)md->np * sizeof(double));
    for (i = 0; i < D; ++i) md->Wq[i * D + i] = md->Wk[i * D + i] = md->Wv[i * D + i] = 1.0;
    for (k = 0; k < md->K; ++k) {
        for (j = 0; j < md->m; ++j) md->P[(k * md->m + j) * D + D - 1] = 1.0;
        md->h[k * D + D - 1] = 1.0;
    }
}

PATTN__KDEF pattn_status pattn_icl_model_create(const pattn_icl_mix *m, pattn_icl_type type, int m_prompts,
                                              pattn_icl_model **out)
{
    pattn_icl_model *md;
    pattn_status st;
    int np;
    PATTN__REQ(out, "out is NULL");
    st = pattn__icl_mix_check(__func__, m);
    if (st != PATTN_OK) return st;
    PATTN__REQ(type >= PATTN_ICL_REDUCED && type <= PATTN_ICL_FULL, "type is %d; it must be a pattn_icl_type value", (int)type);
    PATTN__REQ(type == PATTN_ICL_FULL || m_prompts == 0, "m_prompts is %d; only a FULL model has prompt tokens, pass 0", m_prompts);
    PATTN__REQ(m_prompts >= 0 && m_prompts <= 4096, "m_prompts is %d; it must lie in [0, 4096] (0 = 1)", m_prompts);
    if (type == PATTN_ICL_FULL && m_prompts == 0) m_prompts = 1;
    PATTN__REQ(pattn__icl_size_ok(m->d, m->K, 0) && ((double)m->d + 1.0) * m->K * (m_prompts + 4.0) * 4.0 < 2.0e9,
               "d = %d, K = %d give a model too large to address", m->d, m->K);
    np = pattn__icl_np(type, m->d, m->K, m_prompts);
    md = (pattn_icl_model *)PATTN_MALLOC(sizeof *md);
    if (!md) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    md->theta = (double *)PATTN_MALLOC(((size_t)np + (size_t)m->K * (size_t)m->d) * sizeof(double));
    if (!md->theta) { PATTN_FREE(md); return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory"); }
    md->type = type;
    md->d = m->d;
    md->K = m->K;
    md->m = type == PATTN_ICL_FULL ? m_prompts : 0;
    md->np = np;
    md->mu = md->theta + np;
    if (m->mu) memcpy(md->mu, m->mu, (size_t)m->K * (size_t)m->d * sizeof(double));
    else memset(md->mu, 0, (size_t)m->K * (size_t)m->d * sizeof(double));
    pattn__icl_model_layout(md);
    if (type == PATTN_ICL_FULL) pattn__icl_full_default(md);
    else memset(md->theta, 0, (size_t)np * sizeof(double));
    *out = md;
    return PATTN_OK;
}

PATTN__KDEF void pattn_icl_model_free(pattn_icl_model *mdl)
{
    if (!mdl) return;
    PATTN_FREE(mdl->theta);
    PATTN_FREE(mdl);
}

static const char *pattn__icl_regime_name(pattn_icl_regime r)
{
    static const char *const names[] = {"PATTN_ICL_PT", "PATTN_ICL_FT", "PATTN_ICL_JT", "PATTN_ICL_DEC", "PATTN_ICL_LB"};
    return (int)r >= 0 && (int)r < 5 ? names[r] : "an unknown regime";
}
static const char *pattn__icl_type_name(int t)
{
    static const char *const names[] = {"REDUCED", "PGD", "PGD_TASK", "FULL"};
    return t >= 0 && t < 4 ? names[t] : "unknown";
}

static int pattn__icl_model_ok(const char *fn, const pattn_icl_model *md)
{
    PATTN__OK(md, "the model is NULL");
    PATTN__OK(md->theta && md->d >= 1 && md->K >= 1 && md->type >= PATTN_ICL_REDUCED &&
                  md->type <= PATTN_ICL_FULL && md->np == pattn__icl_np(md->type, md->d, md->K, md->m) &&
                  (md->type != PATTN_ICL_FULL || md->m >= 1),
              "the model is not one made by pattn_icl_model_create (its type, sizes or np disagree)");
    return 1;
}

PATTN__KDEF pattn_status pattn_icl_model_init(pattn_icl_model *mdl, int n, uint64_t seed)
{
    pattn_rng r;
    int D, i, k, j;
    double c;
    if (!pattn__icl_model_ok(__func__, mdl)) return PATTN_EINVAL;
    PATTN__REQ(n >= 1, "n is %d; it must be >= 1", n);
    if (mdl->type != PATTN_ICL_FULL) {
        memset(mdl->theta, 0, (size_t)mdl->np * sizeof(double));
        return PATTN_OK;
    }
    D = mdl->d + 1;
    pattn__icl_full_default(mdl);
    pattn_rng_seed(&r, seed);
    c = sqrt(sqrt((double)D) / ((double)n + 1.0));
    for (i = 0; i < D * D; ++i) {
        mdl->Wq[i] = c * (mdl->Wq[i] + 0.01 * pattn_rng_normal_f64(&r));
        mdl->Wk[i] = c * (mdl->Wk[i] + 0.01 * pattn_rng_normal_f64(&r));
        mdl->Wv[i] += 0.01 * pattn_rng_normal_f64(&r);
    }
    for (k = 0; k < mdl->K; ++k)
        for (j = 0; j < mdl->m; ++j)
            for (i = 0; i < D; ++i) mdl->P[(k * mdl->m + j) * D + i] += 0.1 * pattn_rng_normal_f64(&r);
    return PATTN_OK;
}

/* Q = Wq' Wk / sqrt(D), and V_k = Wv' h_k for every task */
static void pattn__icl_full_qv(const pattn_icl_model *md, double *Q, double *V)
{
    int D = md->d + 1, a, b, c, k;
    double isq = 1.0 / sqrt((double)D);
    for (a = 0; a < D; ++a)
        for (b = 0; b < D; ++b) {
            double s = 0.0;
            for (c = 0; c < D; ++c) s += md->Wq[c * D + a] * md->Wk[c * D + b];
            Q[a * D + b] = s * isq;
        }
    for (k = 0; k < md->K; ++k)
        for (a = 0; a < D; ++a) {
            double s = 0.0;
            for (c = 0; c < D; ++c) s += md->Wv[c * D + a] * md->h[k * D + c];
            V[k * D + a] = s;
        }
}

/* The FULL gradient from its batch statistics, for yhat = r' A V_k with r = Q'[x;0]:
   G = sum e~ [x;0] (A V_k)' (D*D, gradient w.r.t. Q), E_k = sum_{task k} e~ A r,
   H_k = sum_{task k} e~ [x;0], where e~ = 2 w (yhat - y). Then
   dWq = Wk G'/sqrt(D), dWk = Wq G/sqrt(D), dWv = sum_k h_k E_k', dh_k = Wv E_k, and for a
   prompt token p of task k (A holds p p'): dp = R_k (V_k'p) + V_k (R_k'p), R_k = Q' H_k. */
static void pattn__icl_full_grad(const pattn_icl_model *md, const double *Q, const double *V,
                                 const double *G, const double *E, const double *H, double *R,
                                 double *grad)
{
    int d = md->d, D = d + 1, K = md->K, m = md->m, a, b, c, k, j;
    double isq = 1.0 / sqrt((double)D);
    double *gq = grad, *gk = grad + D * D, *gv = grad + 2 * D * D, *gp = grad + 3 * D * D;
    double *gh = gp + K * m * D;
    for (c = 0; c < D; ++c)
        for (a = 0; a < D; ++a) {
            double sq = 0.0, sk = 0.0, sv = 0.0;
            for (b = 0; b < D; ++b) {
                sq += md->Wk[c * D + b] * G[a * D + b];
                sk += md->Wq[c * D + b] * G[b * D + a];
            }
            for (k = 0; k < K; ++k) sv += md->h[k * D + c] * E[k * D + a];
            gq[c * D + a] = sq * isq;
            gk[c * D + a] = sk * isq;
            gv[c * D + a] = sv;
        }
    for (k = 0; k < K; ++k) {
        const double *Vk = V + k * D, *Hk = H + k * D;
        for (c = 0; c < D; ++c) {
            double s = 0.0;
            for (b = 0; b < D; ++b) s += md->Wv[c * D + b] * E[k * D + b];
            gh[k * D + c] = s;
        }
        for (b = 0; b < D; ++b) {
            double s = 0.0;
            for (a = 0; a < d; ++a) s += Q[a * D + b] * Hk[a];
            R[b] = s;
        }
        for (j = 0; j < m; ++j) {
            const double *p = md->P + (k * m + j) * D;
            double vp = 0.0, rp = 0.0;
            for (b = 0; b < D; ++b) {
                vp += Vk[b] * p[b];
                rp += R[b] * p[b];
            }
            for (b = 0; b < D; ++b) gp[(k * m + j) * D + b] = R[b] * vp + Vk[b] * rp;
        }
    }
}

/* scratch of the double-precision reference pass (pattn_icl_loss_grad) */
typedef struct pattn__icl_ref {
    double *s, *u, *av, *cv; /* D each: see pattn__icl_ref_linear / _full */
    double *Q, *A, *G;       /* D*D: Q = Wq'Wk/sqrt(D); the sample's token sum; dL/dQ */
    double *V, *E, *H;       /* K*D: V_k = Wv'h_k; dL/dV_k; dL/dh_k (the x part) */
} pattn__icl_ref;

/* One sample of the reduced and PGD models: returns yhat; with grad, adds the sample's
   gradient (weight 2 wi e) to grad. s = X'y + b_k (or X'(y - X mu_k)), av = W'x. */
static double pattn__icl_ref_linear(const pattn_icl_model *mdl, int n, const float *Xi, const float *yi,
                                    const float *xi, double yq, int k, double wi, pattn__icl_ref *r,
                                    double *grad)
{
    int d = mdl->d, a, c, t;
    const double *mu = mdl->mu + k * d;
    const double *W = mdl->W + (mdl->type == PATTN_ICL_PGD_TASK ? (size_t)k * d * d : 0);
    double *s = r->s, *av = r->av, yh = 0.0, ew;
    for (c = 0; c < d; ++c) s[c] = 0.0;
    for (t = 0; t < n; ++t) {
        double rt = yi[t];
        if (mdl->type != PATTN_ICL_REDUCED)
            for (c = 0; c < d; ++c) rt -= (double)Xi[t * d + c] * mu[c];
        for (c = 0; c < d; ++c) s[c] += (double)Xi[t * d + c] * rt;
    }
    if (mdl->type == PATTN_ICL_REDUCED)
        for (c = 0; c < d; ++c) s[c] += mdl->b[k * d + c];
    else
        for (c = 0; c < d; ++c) yh += (double)xi[c] * mu[c];
    for (c = 0; c < d; ++c) {
        double acc = 0.0;
        for (a = 0; a < d; ++a) acc += (double)xi[a] * W[a * d + c];
        av[c] = acc;
    }
    for (c = 0; c < d; ++c) yh += av[c] * s[c];
    ew = 2.0 * wi * (yh - yq);
    if (grad) {
        double *gW = grad + (mdl->type == PATTN_ICL_PGD_TASK ? (size_t)k * d * d : 0);
        for (a = 0; a < d; ++a)
            for (c = 0; c < d; ++c) gW[a * d + c] += ew * xi[a] * s[c];
        if (mdl->type == PATTN_ICL_REDUCED)
            for (c = 0; c < d; ++c) grad[d * d + k * d + c] += ew * av[c];
    }
    return yh;
}

/* One sample of the full model: A = the sample's token sum (context and prompt tokens),
   cv = A V_k, s = Q'[x;0], yhat = s'cv; with grad, accumulates dL/dQ in G, dL/dV_k in E and
   dL/dh_k's x part in H (pattn__icl_full_grad turns them into parameter gradients). */
static double pattn__icl_ref_full(const pattn_icl_model *mdl, int n, const float *Xi, const float *yi,
                                  const float *xi, double yq, int k, double wi, pattn__icl_ref *r, int grad)
{
    int d = mdl->d, D = d + 1, a, b, t;
    const double *Vk = r->V + k * D;
    double *A = r->A, *s = r->s, *cv = r->cv, *u = r->u, yh = 0.0, ew;
    for (a = 0; a < D * D; ++a) A[a] = 0.0;
    for (t = 0; t < n; ++t)
        for (a = 0; a < D; ++a) {
            double za = a < d ? (double)Xi[t * d + a] : (double)yi[t];
            for (b = 0; b < D; ++b) A[a * D + b] += za * (b < d ? (double)Xi[t * d + b] : (double)yi[t]);
        }
    for (t = 0; t < mdl->m; ++t) {
        const double *p = mdl->P + (k * mdl->m + t) * D;
        for (a = 0; a < D; ++a)
            for (b = 0; b < D; ++b) A[a * D + b] += p[a] * p[b];
    }
    for (a = 0; a < D; ++a) {
        double acc = 0.0;
        for (b = 0; b < D; ++b) acc += A[a * D + b] * Vk[b];
        cv[a] = acc;
    }
    for (b = 0; b < D; ++b) {
        double acc = 0.0;
        for (a = 0; a < d; ++a) acc += (double)xi[a] * r->Q[a * D + b];
        s[b] = acc;
    }
    for (b = 0; b < D; ++b) yh += s[b] * cv[b];
    ew = 2.0 * wi * (yh - yq);
    if (grad) {
        for (a = 0; a < D; ++a) {
            double acc = 0.0;
            for (b = 0; b < D; ++b) acc += A[a * D + b] * s[b];
            u[a] = acc;
        }
        for (a = 0; a < d; ++a)
            for (b = 0; b < D; ++b) r->G[a * D + b] += ew * xi[a] * cv[b];
        for (a = 0; a < D; ++a) r->E[k * D + a] += ew * u[a];
        for (a = 0; a < d; ++a) r->H[k * D + a] += ew * xi[a];
    }
    return yh;
}

PATTN__KDEF pattn_status pattn_icl_loss_grad(const pattn_icl_model *mdl, int n, int batch,
                                           const float *X, const float *y, const float *xq,
                                           const float *yq, const int *task, const double *wk,
                                           double *yhat, double *loss, double *grad)
{
    int d, D, K, i;
    size_t nw;
    double *w, L = 0.0;
    pattn__icl_ref r;
    if (!pattn__icl_model_ok(__func__, mdl)) return PATTN_EINVAL;
    PATTN__REQ(n >= 1 && batch >= 1, "%s is %d; it must be >= 1", n < 1 ? "n" : "batch", n < 1 ? n : batch);
    PATTN__REQ(X && y && xq && yq, "%s is NULL", !X ? "X" : !y ? "y" : !xq ? "xq" : "yq");
    d = mdl->d;
    D = d + 1;
    K = mdl->K;
    PATTN__REQ(pattn__icl_size_ok(d, K, n), "n = %d with d = %d is too large", n, d);
    PATTN__REQ(pattn__all_finite_f64(mdl->theta, (size_t)mdl->np), "mdl->theta holds a NaN or infinite value");
    PATTN__REQ(pattn__all_finite_f64(mdl->mu, (size_t)K * d), "mdl->mu holds a NaN or infinite value");
    PATTN__REQ(!wk || pattn__all_finite_f64(wk, (size_t)K), "wk holds a NaN or infinite value");
    if (task)
        for (i = 0; i < batch; ++i)
            PATTN__REQ(task[i] >= 0 && task[i] < K, "task[%d] is %d; it must lie in [0, K) = [0, %d)", i, task[i], K);
    nw = 4 * (size_t)D + 3 * (size_t)D * D + 3 * (size_t)K * D;
    w = (double *)PATTN_MALLOC(nw * sizeof(double));
    if (!w) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    memset(w, 0, nw * sizeof(double));
    r.s = w;
    r.u = r.s + D;
    r.av = r.u + D;
    r.cv = r.av + D;
    r.Q = r.cv + D;
    r.A = r.Q + (size_t)D * D;
    r.G = r.A + (size_t)D * D;
    r.V = r.G + (size_t)D * D;
    r.E = r.V + (size_t)K * D;
    r.H = r.E + (size_t)K * D;
    if (mdl->type == PATTN_ICL_FULL) pattn__icl_full_qv(mdl, r.Q, r.V);
    if (grad) memset(grad, 0, (size_t)mdl->np * sizeof(double));
    for (i = 0; i < batch; ++i) {
        const float *Xi = X + (size_t)i * n * d, *yi = y + (size_t)i * n, *xi = xq + (size_t)i * d;
        int k = task ? task[i] : 0;
        double wi = wk ? wk[k] : 1.0 / batch, yh, e;
        if (mdl->type != PATTN_ICL_FULL) yh = pattn__icl_ref_linear(mdl, n, Xi, yi, xi, (double)yq[i], k, wi, &r, grad);
        else yh = pattn__icl_ref_full(mdl, n, Xi, yi, xi, (double)yq[i], k, wi, &r, grad != NULL);
        e = yh - (double)yq[i];
        L += wi * e * e;
        if (yhat) yhat[i] = yh;
    }
    if (grad && mdl->type == PATTN_ICL_FULL) pattn__icl_full_grad(mdl, r.Q, r.V, r.G, r.E, r.H, r.u, grad);
    if (loss) *loss = L;
    PATTN_FREE(w);
    return PATTN_OK;
}


/* Wq = sqrt(D) blk(W, 0)', Wk = Wv = I: then Q = Wq'Wk/sqrt(D) = blk(W, 0) */
static void pattn__icl_full_set_w(pattn_icl_model *f, const double *W)
{
    int d = f->d, D = d + 1, i, j;
    double sq = sqrt((double)D);
    memset(f->theta, 0, (size_t)f->np * sizeof(double));
    for (i = 0; i < d; ++i)
        for (j = 0; j < d; ++j) f->Wq[i * D + j] = sq * W[j * d + i];
    for (i = 0; i < D; ++i) f->Wk[i * D + i] = f->Wv[i * D + i] = 1.0;
}

PATTN__KDEF pattn_status pattn_icl_full_from_reduced(pattn_icl_model *full, const double *W,
                                                   const double *b)
{
    int d, D, k, c;
    if (!pattn__icl_model_ok(__func__, full)) return PATTN_EINVAL;
    PATTN__REQ(full->type == PATTN_ICL_FULL, "full is a %s model; it must be FULL", pattn__icl_type_name(full->type));
    PATTN__REQ(W, "W is NULL");
    d = full->d;
    D = d + 1;
    PATTN__REQ(pattn__all_finite_f64(W, (size_t)d * d), "W holds a NaN or infinite value");
    PATTN__REQ(!b || pattn__all_finite_f64(b, (size_t)full->K * d), "b holds a NaN or infinite value");
    pattn__icl_full_set_w(full, W);
    for (k = 0; k < full->K; ++k) {
        double *p = full->P + (size_t)k * full->m * D;
        full->h[k * D + d] = 1.0;
        if (b) {
            for (c = 0; c < d; ++c) p[c] = b[k * d + c];
            p[d] = 1.0;
        }
    }
    return PATTN_OK;
}

PATTN__KDEF pattn_status pattn_icl_full_from_pgd(pattn_icl_model *full, const double *W)
{
    int d, D, K, k, c;
    double *work, *px;
    if (!pattn__icl_model_ok(__func__, full)) return PATTN_EINVAL;
    PATTN__REQ(full->type == PATTN_ICL_FULL, "full is a %s model; it must be FULL", pattn__icl_type_name(full->type));
    PATTN__REQ(W, "W is NULL");
    d = full->d;
    D = d + 1;
    K = full->K;
    PATTN__REQ(pattn__all_finite_f64(W, (size_t)d * d), "W holds a NaN or infinite value");
    work = (double *)PATTN_MALLOC(((size_t)d * d + (size_t)d + (size_t)K * d) * sizeof(double));
    if (!work) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    px = work + (size_t)d * d + d;
    /* every solve before the first write: a singular W leaves the model untouched */
    for (k = 0; k < K; ++k)
        if (!pattn__la_solve(W, d, full->mu + k * d, px + k * d, work)) {
            PATTN_FREE(work);
            return PATTN__FAIL(PATTN_ENUM, __func__, "W is singular (solving W x = mu_%d failed); the PGD construction needs an invertible W", k);
        }
    pattn__icl_full_set_w(full, W);
    for (k = 0; k < K; ++k) {
        double *p = full->P + (size_t)k * full->m * D, pm = 0.0;
        const double *mu = full->mu + k * d;
        for (c = 0; c < d; ++c) {
            p[c] = px[k * d + c];
            pm += px[k * d + c] * mu[c];
            full->h[k * D + c] = -mu[c];
        }
        p[d] = 1.0 + pm;
        full->h[k * D + d] = 1.0;
    }
    PATTN_FREE(work);
    return PATTN_OK;
}

/* ==== paper 2 generator: multi-task in-context regression ================================= */

/* Float work is laid out in runs padded with zeros to a multiple of 8 (d8, n8, D8), so
   every loop runs whole 8-lane chunks: no masked loads or stores in the hot loops. */
PATTN__INLINE int pattn__icl_r8(int x) { return (x + 7) & ~7; }

static const float pattn__icl_iota[8] = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f};

/* the 8 floats at p with lanes >= rem zeroed (p may run past the valid data: it is read,
   never used) */
PATTN__INLINE pattn__f8 pattn__icl_load_head(const float *p, int rem)
{
    return pattn__f8_select_lt(pattn__f8_load(pattn__icl_iota), pattn__f8_set1((float)rem),
                               pattn__f8_load(p), pattn__f8_zero());
}

/* dst[0 .. r8(len)) = src[0 .. len) then zeros */
PATTN__INLINE void pattn__icl_copy_pad(float *dst, const float *src, int len)
{
    int j = 0;
    for (; j + 8 <= len; j += 8) pattn__f8_store(dst + j, pattn__f8_load(src + j));
    if (j < len) pattn__f8_store(dst + j, pattn__icl_load_head(src + j, len - j));
}

PATTN__INLINE float pattn__icl_dot8(const float *x, const float *y, int len8)
{
    pattn__f8 acc = pattn__f8_zero();
    int j;
    for (j = 0; j < len8; j += 8) acc = pattn__f8_fma(pattn__f8_load(x + j), pattn__f8_load(y + j), acc);
    return pattn__f8_hsum(acc);
}

/* out[c] = rows[c] . v over len8 for c < 8: eight accumulators in registers, reduced by one
   transposing hsum8 (the same additions as eight separate dots) */
PATTN__INLINE pattn__f8 pattn__icl_dot8x8(const float *const *r, const float *v, int len8)
{
    pattn__f8 a0 = pattn__f8_zero(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, vv;
    int j;
    for (j = 0; j < len8; j += 8) {
        vv = pattn__f8_load(v + j);
        a0 = pattn__f8_fma(pattn__f8_load(r[0] + j), vv, a0);
        a1 = pattn__f8_fma(pattn__f8_load(r[1] + j), vv, a1);
        a2 = pattn__f8_fma(pattn__f8_load(r[2] + j), vv, a2);
        a3 = pattn__f8_fma(pattn__f8_load(r[3] + j), vv, a3);
        a4 = pattn__f8_fma(pattn__f8_load(r[4] + j), vv, a4);
        a5 = pattn__f8_fma(pattn__f8_load(r[5] + j), vv, a5);
        a6 = pattn__f8_fma(pattn__f8_load(r[6] + j), vv, a6);
        a7 = pattn__f8_fma(pattn__f8_load(r[7] + j), vv, a7);
    }
    return pattn__f8_hsum8(a0, a1, a2, a3, a4, a5, a6, a7);
}

/* out[c] = X_c . v (c < d, X_c = X + c*ld), then (with_y) out[d] = y . v, and 0 up to the
   next multiple of 8 (zero rows from `zero`, len8 zeros) */
PATTN__INLINE void pattn__icl_dots(const float *X, size_t ld, int d, const float *y, int with_y,
                                   const float *zero, const float *v, int len8, float *out)
{
    int rows = d + (with_y != 0), c0, c;
    const float *r[8];
    for (c0 = 0; c0 < rows; c0 += 8) {
        for (c = 0; c < 8; ++c) r[c] = c0 + c < d ? X + (size_t)(c0 + c) * ld : c0 + c < rows ? y : zero;
        pattn__f8_store(out + c0, pattn__icl_dot8x8(r, v, len8));
    }
}

PATTN__INLINE void pattn__icl_axpy8(int len8, float a, const float *x, float *y)
{
    pattn__f8 va = pattn__f8_set1(a);
    int j;
    for (j = 0; j < len8; j += 8) pattn__f8_store(y + j, pattn__f8_fma(va, pattn__f8_load(x + j), pattn__f8_load(y + j)));
}

/* out = c0 y0 + sum_a c[a] M_a over len8 floats (M_a the rows of M, ld apart; y0 NULL: no
   first term), each lane summed in the order of a. Thirty-two lanes at a time: with one
   accumulator, each step of a long sum would wait for the previous FMA. */
static void pattn__icl_comb8x(int rows, const float *c, const float *M, int ld, int len8, float *out, float c0,
                              const float *y0)
{
    int a, j = 0;
    for (; j + 32 <= len8; j += 32) {
        pattn__f8 a0 = pattn__f8_zero(), a1 = a0, a2 = a0, a3 = a0;
        if (y0) {
            pattn__f8 v0 = pattn__f8_set1(c0);
            a0 = pattn__f8_mul(v0, pattn__f8_load(y0 + j)); a1 = pattn__f8_mul(v0, pattn__f8_load(y0 + j + 8));
            a2 = pattn__f8_mul(v0, pattn__f8_load(y0 + j + 16)); a3 = pattn__f8_mul(v0, pattn__f8_load(y0 + j + 24));
        }
        for (a = 0; a < rows; ++a) {
            const float *m = M + (size_t)a * ld + j;
            pattn__f8 va = pattn__f8_set1(c[a]);
            a0 = pattn__f8_fma(va, pattn__f8_load(m), a0); a1 = pattn__f8_fma(va, pattn__f8_load(m + 8), a1);
            a2 = pattn__f8_fma(va, pattn__f8_load(m + 16), a2); a3 = pattn__f8_fma(va, pattn__f8_load(m + 24), a3);
        }
        pattn__f8_store(out + j, a0); pattn__f8_store(out + j + 8, a1);
        pattn__f8_store(out + j + 16, a2); pattn__f8_store(out + j + 24, a3);
    }
    for (; j < len8; j += 8) {
        pattn__f8 acc = y0 ? pattn__f8_mul(pattn__f8_set1(c0), pattn__f8_load(y0 + j)) : pattn__f8_zero();
        for (a = 0; a < rows; ++a) acc = pattn__f8_fma(pattn__f8_set1(c[a]), pattn__f8_load(M + (size_t)a * ld + j), acc);
        pattn__f8_store(out + j, acc);
    }
}
PATTN__INLINE void pattn__icl_comb8(int rows, const float *c, const float *M, int ld, int len8, float *out)
{
    pattn__icl_comb8x(rows, c, M, ld, len8, out, 0.0f, NULL);
}

PATTN__KDEF void pattn_icl_gen_free(pattn_icl_gen *g)
{
    if (!g) return;
    PATTN_FREE(g->pi); /* every double array lives in this one block */
    PATTN_FREE(g->f_mu); /* and every float array (and diag) in this one */
    PATTN_FREE(g);
}

PATTN__KDEF pattn_status pattn_icl_gen_create(const pattn_icl_mix *m, pattn_icl_gen **out)
{
    pattn_icl_gen *g;
    pattn_status st;
    size_t d, K, dd, d8, nd, nf, i, j, k;
    double *w, *V, acc = 0.0;
    PATTN__REQ(out, "out is NULL");
    st = pattn__icl_mix_check(__func__, m);
    if (st != PATTN_OK) return st;
    if (!pattn__icl_size_ok(m->d, m->K, 0)) return PATTN_EINVAL;
    { /* the samples are float: inputs (scale sx), task vectors (sb), their products summed
         over d, and the noise (sn) must stay far inside float's range */
        double sx = 1.0, sb = 0.0, sn = 0.0, a = 0.0, c = 0.0;
        int ii, kk;
        for (ii = 0; ii < m->d; ++ii) {
            if (m->cov_x && m->cov_x[(size_t)ii * m->d + ii] > sx * sx) sx = sqrt(m->cov_x[(size_t)ii * m->d + ii]);
            for (kk = 0; kk < m->K; ++kk) {
                const double *C = m->cov_beta + (size_t)kk * m->d * m->d;
                if (fabs(m->mu[(size_t)kk * m->d + ii]) > a) a = fabs(m->mu[(size_t)kk * m->d + ii]);
                if (C[(size_t)ii * m->d + ii] > c) c = C[(size_t)ii * m->d + ii];
            }
        }
        sb = a + sqrt(c);
        for (kk = 0; m->noise_var && kk < m->K; ++kk)
            if (sqrt(m->noise_var[kk]) > sn) sn = sqrt(m->noise_var[kk]);
        PATTN__REQ(sx <= PATTN_ICL_MAX_SCALE && sb <= PATTN_ICL_MAX_SCALE && sn <= PATTN_ICL_MAX_SCALE &&
                       sx * sb * (double)m->d <= PATTN_ICL_MAX_SCALE,
                   "the mixture's scales (inputs %g, task vectors %g, noise %g, x'beta up to %g) exceed %g; the generator's float samples would overflow",
                   sx, sb, sn, sx * sb * (double)m->d, PATTN_ICL_MAX_SCALE);
    }
    d = (size_t)m->d;
    K = (size_t)m->K;
    dd = d * d;
    d8 = (size_t)pattn__icl_r8(m->d);
    g = (pattn_icl_gen *)PATTN_MALLOC(sizeof *g);
    if (!g) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    memset(g, 0, sizeof *g);
    nd = K + K * d + K * dd + K + dd + dd + K * dd + K + d + dd; /* + eigen work */
    nf = K * d8 + K * d * d8 + K * d8 + dd + K + K; /* + diag flags (int-sized) */
    g->pi = (double *)PATTN_MALLOC(nd * sizeof(double));
    g->f_mu = (float *)PATTN_MALLOC(nf * sizeof(float));
    if (!g->pi || !g->f_mu) { pattn_icl_gen_free(g); return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory"); }
    memset(g->f_mu, 0, nf * sizeof(float));
    g->d = m->d;
    g->K = m->K;
    g->mu = g->pi + K;
    g->cov_beta = g->mu + K * d;
    g->noise_var = g->cov_beta + K * dd;
    g->cov_x = g->noise_var + K;
    g->chol_x = g->cov_x + dd;
    g->fac_beta = g->chol_x + dd;
    g->cum_pi = g->fac_beta + K * dd;
    w = g->cum_pi + K;
    V = w + d;
    g->f_fac = g->f_mu + K * d8;
    g->f_diag = g->f_fac + K * d * d8;
    g->f_chol = g->f_diag + K * d8;
    g->f_sigma = g->f_chol + dd;
    g->diag = (int *)(void *)(g->f_sigma + K);
    memcpy(g->pi, m->pi, K * sizeof(double));
    if (m->mu) memcpy(g->mu, m->mu, K * d * sizeof(double));
    else memset(g->mu, 0, K * d * sizeof(double));
    memcpy(g->cov_beta, m->cov_beta, K * dd * sizeof(double));
    if (m->noise_var) memcpy(g->noise_var, m->noise_var, K * sizeof(double));
    else memset(g->noise_var, 0, K * sizeof(double));
    g->x_identity = 1;
    for (i = 0; i < d; ++i)
        for (j = 0; j < d; ++j) {
            double v = m->cov_x ? m->cov_x[i * d + j] : (double)(i == j);
            g->cov_x[i * d + j] = v;
            if (v != (double)(i == j)) g->x_identity = 0;
        }
    memcpy(g->chol_x, g->cov_x, dd * sizeof(double));
    st = pattn_chol(g->chol_x, (int)d);
    for (k = 0; k < K && st == PATTN_OK; ++k) {
        const double *S = g->cov_beta + k * dd;
        double *F = g->fac_beta + k * dd;
        int diag = 1;
        for (i = 0; i < d; ++i)
            for (j = 0; j < d; ++j)
                if (i != j && S[i * d + j] != 0.0) diag = 0;
        g->diag[k] = diag;
        if (diag) { /* the common Sigma_k = c I or diagonal: an elementwise product */
            memset(F, 0, dd * sizeof(double));
            for (i = 0; i < d; ++i) F[i * d + i] = sqrt(S[i * d + i] > 0.0 ? S[i * d + i] : 0.0);
            continue;
        }
        st = pattn_sym_eig(S, (int)d, w, V);
        /* F = V diag(sqrt(max(w, 0))): rounding-level negative eigenvalues of a
           semidefinite Sigma_k become 0 (the check already rejected real ones) */
        for (i = 0; i < d && st == PATTN_OK; ++i)
            for (j = 0; j < d; ++j) F[i * d + j] = V[i * d + j] * sqrt(w[j] > 0.0 ? w[j] : 0.0);
    }
    if (st != PATTN_OK) { pattn_icl_gen_free(g); return st; }
    for (k = 0; k < K; ++k) {
        acc += g->pi[k];
        g->cum_pi[k] = acc;
        g->f_sigma[k] = (float)sqrt(g->noise_var[k]);
        for (i = 0; i < d; ++i) {
            g->f_mu[k * d8 + i] = (float)g->mu[k * d + i];
            g->f_diag[k * d8 + i] = (float)g->fac_beta[k * dd + i * d + i];
            for (j = 0; j < d; ++j) g->f_fac[(k * d + i) * d8 + j] = (float)g->fac_beta[k * dd + i * d + j];
        }
    }
    g->cum_pi[K - 1] = 1.0;
    for (i = 0; i < dd; ++i) g->f_chol[i] = (float)g->chol_x[i];
    g->mix.d = m->d;
    g->mix.K = m->K;
    g->mix.pi = g->pi;
    g->mix.mu = g->mu;
    g->mix.cov_beta = g->cov_beta;
    g->mix.noise_var = g->noise_var;
    g->mix.cov_x = g->cov_x;
    *out = g;
    return PATTN_OK;
}

/* Normals are drawn for 16 samples per pattn_rng8_normal_f32 call: a short
   call ends in a pipeline drain as long as its work (Box-Muller's log and sincos latency),
   and a sample needs only a few hundred. Sample j of a group finds its normals at
   j * pattn__icl_stride(...): each sample's count rounded up to 16 is exactly what a call of
   its own would consume, so the values do not depend on the grouping. Samples of over 4096
   normals make long calls anyway and go one at a time (which keeps every count an int). */
static int pattn__icl_stride(const pattn_icl_gen *g, int k, int n)
{
    int c = g->d + (n + 1) * g->d + (g->f_sigma[k] > 0.0f ? n + 1 : 0);
    return (c + 15) & ~15;
}

/* the most normals one sample may consume (z_beta, n + 1 inputs, n + 1 noises), rounded up
   to 16, and the samples per group */
static size_t pattn__icl_nmax(int d, int n)
{
    size_t c = (size_t)d + ((size_t)n + 1) * (size_t)d + (size_t)n + 1;
    return (c + 15) & ~(size_t)15;
}
static int pattn__icl_group(int d, int n) { return pattn__icl_nmax(d, n) <= 4096 ? 16 : 1; }

/* the group's normals, plus 8 floats of slack for the padded reads of pattn__icl_load_head */
static size_t pattn__icl_nnorm(int d, int n)
{
    return (size_t)pattn__icl_group(d, n) * pattn__icl_nmax(d, n) + 8;
}

/* Per-worker scratch: [normals][X: d columns of n8][x: d8][y: n8][beta: d8] then the model
   kernels' vectors (2 of n8, 6 of D8) and a row of zeros (max(n8, D8)). Zeroed per block,
   so every padding lane is 0. */
typedef struct pattn__icl_scr {
    float *nrm, *X, *xq, *y, *beta, *u, *w, *v[6], *zero;
} pattn__icl_scr;

static size_t pattn__icl_scratch(int d, int n)
{
    size_t d8 = (size_t)pattn__icl_r8(d), n8 = (size_t)pattn__icl_r8(n), D8 = (size_t)pattn__icl_r8(d + 1);
    return pattn__icl_nnorm(d, n) + (size_t)d * n8 + d8 + n8 + d8 + 2 * n8 + 6 * D8 + (n8 > D8 ? n8 : D8);
}

/* Zero a worker's scratch for a new block, but for the normals (written by each group's
   draw before they are read; anything read past them goes through pattn__icl_load_head's
   select or meets zero padding): clearing up to 16 samples' worth per block cost more than
   some blocks' work. The whole scratch is zeroed once when allocated. */
static void pattn__icl_scr_clear(float *base, int d, int n, size_t ss)
{
    size_t nn = pattn__icl_nnorm(d, n) - 8;
    memset(base + nn, 0, (ss - nn) * sizeof(float));
}

static void pattn__icl_scr_map(pattn__icl_scr *s, float *base, int d, int n)
{
    int d8 = pattn__icl_r8(d), n8 = pattn__icl_r8(n), D8 = pattn__icl_r8(d + 1), i;
    s->nrm = base;
    s->X = s->nrm + pattn__icl_nnorm(d, n);
    s->xq = s->X + (size_t)d * n8;
    s->y = s->xq + d8;
    s->beta = s->y + n8;
    s->u = s->beta + d8;
    s->w = s->u + n8;
    s->v[0] = s->w + n8;
    for (i = 1; i < 6; ++i) s->v[i] = s->v[i - 1] + D8;
    s->zero = s->v[5] + D8;
}

/* One sample of task k into the scratch: X (column c, token t at X[c*n8 + t]: the loops over
   tokens are contiguous 8-lane runs), the query input xq, the targets y, beta; returns the
   query target. Its normals nrm are, in order: z_beta (d), the n context inputs (n*d,
   coordinate-major), the query input (d), and, if sigma_k > 0, the n + 1 noises. */
static float pattn__icl_draw(const pattn_icl_gen *g, const float *nrm, int k, int n, const pattn__icl_scr *s)
{
    int d = g->d, d8 = pattn__icl_r8(d), n8 = pattn__icl_r8(n), c, j;
    float sig = g->f_sigma[k], yq;
    const float *z = nrm, *raw = nrm + d, *gq = raw + (size_t)n * d, *xi = gq + d;
    const float *mu = g->f_mu + (size_t)k * d8, *L = g->f_chol;
    float *X = s->X, *xq = s->xq, *y = s->y, *beta = s->beta;
    /* beta = mu_k + F_k z; z's padding lanes read the next normals, times zero padding */
    if (g->diag[k]) {
        const float *fd = g->f_diag + (size_t)k * d8;
        for (j = 0; j < d8; j += 8)
            pattn__f8_store(beta + j, pattn__f8_fma(pattn__f8_load(fd + j), pattn__f8_load(z + j), pattn__f8_load(mu + j)));
    } else {
        const float *F = g->f_fac + (size_t)k * d * d8;
        for (c = 0; c < d; ++c) beta[c] = mu[c] + pattn__icl_dot8(F + (size_t)c * d8, z, d8);
    }
    /* the raw inputs are coordinate-major (coordinate c of token t at raw[c*n + t]) */
    for (c = 0; c < d; ++c) pattn__icl_copy_pad(X + (size_t)c * n8, raw + (size_t)c * n, n);
    pattn__icl_copy_pad(xq, gq, d);
    if (!g->x_identity) {
        /* x = L g in place: coordinate c needs raw coordinates <= c, so go downwards */
        for (c = d - 1; c >= 0; --c) {
            float *col = X + (size_t)c * n8, acc = L[c * d + c] * xq[c];
            pattn__scale(n8, L[c * d + c], col);
            for (j = 0; j < c; ++j) {
                pattn__icl_axpy8(n8, L[c * d + j], X + (size_t)j * n8, col);
                acc = pattn__fmaf(L[c * d + j], xq[j], acc);
            }
            xq[c] = acc;
        }
    }
    /* y = X beta (+ sigma xi), one register per 8 tokens */
    pattn__icl_comb8(d, beta, X, n8, n8, y);
    yq = pattn__icl_dot8(xq, beta, d8);
    if (sig > 0.0f) {
        pattn__f8 vs = pattn__f8_set1(sig);
        for (j = 0; j < n8; j += 8)
            pattn__f8_store(y + j, pattn__f8_fma(vs, pattn__icl_load_head(xi + j, n - j), pattn__f8_load(y + j)));
        yq = pattn__fmaf(sig, xi[n], yq);
    }
    return yq;
}

/* A pass opens a parallel region only with enough work (normals to draw): a region costs
   microseconds to fork and join, and much more when a thread of it has been descheduled, so
   small batches run on the calling thread. Blocks and their summation order are the same
   either way, so this never changes a result. */
#define PATTN__ICL_PAR_MIN 65536.0

PATTN__KDEF pattn_status pattn_icl_sample(const pattn_icl_gen *g, int task, int n, int batch,
                                        uint64_t seed, float *X, float *y, float *xq, float *yq,
                                        int *task_out, float *beta)
{
    long nblk, bi;
    int nthr, d, par;
    size_t ss;
    float *scr;
    PATTN__REQ(g && g->pi, "g is NULL or not made by pattn_icl_gen_create");
    PATTN__REQ(X && y && xq && yq, "%s is NULL", !X ? "X" : !y ? "y" : !xq ? "xq" : "yq");
    PATTN__REQ(n >= 1 && batch >= 1, "%s is %d; it must be >= 1", n < 1 ? "n" : "batch", n < 1 ? n : batch);
    PATTN__REQ(task == PATTN_ICL_MIXTURE || (task >= 0 && task < g->K), "task is %d; it must lie in [0, K) = [0, %d) or be PATTN_ICL_MIXTURE", task, g->K);
    PATTN__REQ(pattn__icl_size_ok(g->d, g->K, n), "n = %d with d = %d is too large", n, g->d);

    d = g->d;
    nthr = pattn__max_threads();
    ss = pattn__icl_scratch(d, n);
    scr = (float *)PATTN_MALLOC((size_t)nthr * ss * sizeof(float));
    if (!scr) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    memset(scr, 0, (size_t)nthr * ss * sizeof(float));
    nblk = ((long)batch + PATTN_ICL_BLOCK - 1) / PATTN_ICL_BLOCK;
    par = (double)batch * (double)pattn__icl_nmax(d, n) >= PATTN__ICL_PAR_MIN;
    PATTN__OMP_FOR_IF(par)
    for (bi = 0; bi < nblk; ++bi) {
        int n8 = pattn__icl_r8(n);
        pattn__icl_scr s;
        pattn_rng8 r;
        long i0 = bi * PATTN_ICL_BLOCK, i1 = i0 + PATTN_ICL_BLOCK < batch ? i0 + PATTN_ICL_BLOCK : batch, i;
        float *base = scr + (size_t)pattn__tid() * ss, ub[PATTN_ICL_BLOCK];
        pattn__icl_scr_clear(base, d, n, ss);
        pattn__icl_scr_map(&s, base, d, n);
        pattn_rng8_seed(&r, seed, (uint64_t)bi);
        /* a whole block's worth even for a short last block: prefix-stable in batch */
        if (task == PATTN_ICL_MIXTURE) pattn_rng8_uniform_f32(&r, ub, PATTN_ICL_BLOCK);
        int kk[PATTN_ICL_BLOCK], grp = pattn__icl_group(d, n);
        const float *nrm = s.nrm;
        for (i = i0; i < i1; ++i) {
            int k = task;
            if (k == PATTN_ICL_MIXTURE) {
                double u = ub[i - i0];
                for (k = 0; k < g->K - 1 && u >= g->cum_pi[k]; ++k) {}
            }
            kk[i - i0] = k;
        }
        for (i = i0; i < i1; ++i) {
            int k = kk[i - i0], t, c;
            if ((i - i0) % grp == 0) { /* the next group's normals in one call */
                long j, je = i + grp < i1 ? i + grp : i1;
                int tot = 0;
                for (j = i; j < je; ++j) tot += pattn__icl_stride(g, kk[j - i0], n);
                pattn_rng8_normal_f32(&r, s.nrm, tot);
                nrm = s.nrm;
            }
            yq[i] = pattn__icl_draw(g, nrm, k, n, &s);
            nrm += pattn__icl_stride(g, k, n);
            for (t = 0; t < n; ++t)
                for (c = 0; c < d; ++c) X[((size_t)i * n + t) * d + c] = s.X[(size_t)c * n8 + t];
            memcpy(y + (size_t)i * n, s.y, (size_t)n * sizeof(float));
            memcpy(xq + (size_t)i * d, s.xq, (size_t)d * sizeof(float));
            if (task_out) task_out[i] = k;
            if (beta) memcpy(beta + (size_t)i * d, s.beta, (size_t)d * sizeof(float));
        }
    }
    PATTN_FREE(scr);
    return PATTN_OK;
}

/* ==== paper 2 training: fused generate-and-differentiate passes, Adam and GD =============== */

/* float copies of the parameters, refreshed once per step, rows zero-padded: W (d x d8, K
   of them for PGD_TASK), b and mu (K x d8), Q (its first d rows, d x D8), V_k, cP_k (K x D8),
   prompt tokens (K*m x D8) */
typedef struct pattn__icl_fast {
    int type, d, K, m, D, d8, D8;
    float *W, *b, *Q, *V, *cP, *P, *mu;
} pattn__icl_fast;

/* Everything a pass over freshly generated batches needs: per-worker scratch, per-block
   statistics (summed in block order afterwards: thread-count independent), the float
   parameters and the double matrices the FULL gradient is assembled with. */
typedef struct pattn__icl_ctx {
    pattn__icl_fast f;
    float *fbuf, *scr, *st, *wgt;
    double *dbuf, *Qd, *Vd, *R, *tot, *ls;
    uint64_t *seeds;
    size_t ss, sl;
    int nthr, n, B, nbk;
    long nblk;
} pattn__icl_ctx;

/* per-block gradient statistics, padded rows: REDUCED G (d x d8) and prompt sums (K x d8);
   PGD G (d x d8, K of them per task); FULL G (d x D8), E (K x D8), H (K x d8) */
static size_t pattn__icl_stat_len(int type, int d, int K)
{
    size_t d8 = (size_t)pattn__icl_r8(d), D8 = (size_t)pattn__icl_r8(d + 1);
    switch (type) {
    case PATTN_ICL_REDUCED: return (size_t)d * d8 + (size_t)K * d8;
    case PATTN_ICL_PGD: return (size_t)d * d8;
    case PATTN_ICL_PGD_TASK: return (size_t)K * d * d8;
    default: return (size_t)d * D8 + (size_t)K * D8 + (size_t)K * d8;
    }
}

static void pattn__icl_ctx_free(pattn__icl_ctx *c)
{
    PATTN_FREE(c->fbuf);
    PATTN_FREE(c->scr);
    PATTN_FREE(c->st);
    PATTN_FREE(c->dbuf);
    c->fbuf = c->scr = c->st = NULL;
    c->dbuf = NULL;
}

static pattn_status pattn__icl_ctx_init(pattn__icl_ctx *c, const pattn_icl_model *md, int n, int B, int grad)
{
    int d = md->d, K = md->K, m = md->m, D = d + 1, d8 = pattn__icl_r8(d), D8 = pattn__icl_r8(D);
    size_t nf = (size_t)K * d * d8 + (size_t)K * d8 + (size_t)d * D8 + 2 * (size_t)K * D8 + (size_t)K * m * D8 + (size_t)K * d8;
    size_t nd;
    memset(c, 0, sizeof *c);
    c->n = n;
    c->B = B;
    c->nbk = (B + PATTN_ICL_BLOCK - 1) / PATTN_ICL_BLOCK;
    c->nblk = (long)K * c->nbk;
    c->ss = pattn__icl_scratch(d, n);
    c->sl = grad ? pattn__icl_stat_len(md->type, d, K) : 0;
    c->nthr = pattn__max_threads();
    nd = (size_t)D * D + (size_t)K * D + (size_t)D + c->sl + 2 * (size_t)c->nblk + (size_t)K; /* + seeds */
    c->fbuf = (float *)PATTN_MALLOC((nf + (size_t)K) * sizeof(float));
    c->scr = (float *)PATTN_MALLOC((size_t)c->nthr * c->ss * sizeof(float));
    c->st = grad ? (float *)PATTN_MALLOC((size_t)c->nblk * c->sl * sizeof(float)) : NULL;
    c->dbuf = (double *)PATTN_MALLOC(nd * sizeof(double) + (size_t)K * sizeof(uint64_t));
    if (!c->fbuf || !c->scr || (grad && !c->st) || !c->dbuf) {
        pattn__icl_ctx_free(c);
        return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
    }
    memset(c->scr, 0, (size_t)c->nthr * c->ss * sizeof(float));
    c->f.type = md->type;
    c->f.d = d;
    c->f.K = K;
    c->f.m = m;
    c->f.D = D;
    c->f.d8 = d8;
    c->f.D8 = D8;
    memset(c->fbuf, 0, (nf + (size_t)K) * sizeof(float));
    c->f.W = c->fbuf;
    c->f.b = c->f.W + (size_t)K * d * d8;
    c->f.Q = c->f.b + (size_t)K * d8;
    c->f.V = c->f.Q + (size_t)d * D8;
    c->f.cP = c->f.V + (size_t)K * D8;
    c->f.P = c->f.cP + (size_t)K * D8;
    c->f.mu = c->f.P + (size_t)K * m * D8;
    c->wgt = c->f.mu + (size_t)K * d8;
    c->Qd = c->dbuf;
    c->Vd = c->Qd + (size_t)D * D;
    c->R = c->Vd + (size_t)K * D;
    c->tot = c->R + D;
    c->ls = c->tot + c->sl;
    c->seeds = (uint64_t *)(void *)(c->ls + 2 * (size_t)c->nblk + (size_t)K);
    return PATTN_OK;
}

static void pattn__icl_fast_load(pattn__icl_ctx *c, const pattn_icl_model *md)
{
    pattn__icl_fast *f = &c->f;
    int d = md->d, K = md->K, D = d + 1, d8 = f->d8, D8 = f->D8, i, k, j, a;
    for (k = 0; k < K; ++k)
        for (i = 0; i < d; ++i) f->mu[k * d8 + i] = (float)md->mu[k * d + i];
    if (md->type != PATTN_ICL_FULL) {
        int nm = md->type == PATTN_ICL_PGD_TASK ? K : 1;
        for (k = 0; k < nm * d; ++k)
            for (i = 0; i < d; ++i) f->W[k * d8 + i] = (float)md->W[k * d + i];
        if (md->type == PATTN_ICL_REDUCED)
            for (k = 0; k < K; ++k)
                for (i = 0; i < d; ++i) f->b[k * d8 + i] = (float)md->b[k * d + i];
        return;
    }
    pattn__icl_full_qv(md, c->Qd, c->Vd);
    for (a = 0; a < d; ++a)
        for (i = 0; i < D; ++i) f->Q[a * D8 + i] = (float)c->Qd[a * D + i];
    for (k = 0; k < K; ++k)
        for (i = 0; i < D; ++i) f->V[k * D8 + i] = (float)c->Vd[k * D + i];
    for (j = 0; j < K * md->m; ++j)
        for (i = 0; i < D; ++i) f->P[j * D8 + i] = (float)md->P[j * D + i];
    /* the prompt tokens' share of A V_k is the same for every sample of task k */
    for (k = 0; k < K; ++k)
        for (a = 0; a < D; ++a) {
            double s = 0.0;
            for (j = 0; j < md->m; ++j) {
                const double *p = md->P + (size_t)(k * md->m + j) * D;
                double pv = 0.0;
                for (i = 0; i < D; ++i) pv += p[i] * c->Vd[k * D + i];
                s += p[a] * pv;
            }
            f->cP[k * D8 + a] = (float)s;
        }
}

/* One block of cnt samples of task k from stream `stream` of seed: generate each sample in
   scratch, predict, and (st non-NULL) accumulate the gradient statistics with weight wgt
   (= 2 pi_k / B). ls gets the block's sum of e^2 and e^4 (e = yhat - y). */
static void pattn__icl_block(const pattn_icl_gen *g, const pattn__icl_fast *f, int k, int n, int cnt,
                             uint64_t seed, uint64_t stream, float wgt, float *base, size_t ss,
                             float *st, size_t sl, double *ls)
{
    int d = g->d, K = g->K, d8 = f->d8, D8 = f->D8, n8 = pattn__icl_r8(n), i, a, c, j;
    pattn__icl_scr s;
    float *X, *xq, *y, *u, *w, *sv, *av, *cv, *r, *ar;
    double l2 = 0.0, l4 = 0.0;
    pattn_rng8 rng;
    pattn__icl_scr_clear(base, d, n, ss);
    pattn__icl_scr_map(&s, base, d, n);
    X = s.X;
    xq = s.xq;
    y = s.y;
    u = s.u;
    w = s.w;
    sv = s.v[0];
    av = s.v[1];
    cv = s.v[2];
    r = s.v[3];
    ar = s.v[4];
    pattn_rng8_seed(&rng, seed, stream);
    if (st) memset(st, 0, sl * sizeof(float));
    for (i = 0; i < cnt; ++i) {
        int str = pattn__icl_stride(g, k, n), grp = pattn__icl_group(d, n), ig = i % grp;
        float yq, yh, e, ew;
        if (ig == 0) /* the next group's normals in one call */
            pattn_rng8_normal_f32(&rng, s.nrm, str * (cnt - i < grp ? cnt - i : grp));
        yq = pattn__icl_draw(g, s.nrm + (size_t)ig * (size_t)str, k, n, &s);
        if (f->type == PATTN_ICL_FULL) {
            const float *Vk = f->V + (size_t)k * D8, *cP = f->cP + (size_t)k * D8;
            /* yhat = r' (A V_k) with r = Q'[x;0] and A V_k = Z'(Z V_k) + the prompts' share */
            pattn__icl_comb8(d, xq, f->Q, D8, D8, r);
            pattn__icl_comb8x(d, Vk, X, n8, n8, u, Vk[d], y);
            pattn__icl_dots(X, (size_t)n8, d, y, 1, s.zero, u, n8, cv);
            pattn__icl_axpy8(D8, 1.0f, cP, cv);
            yh = pattn__icl_dot8(r, cv, D8);
            if (st) { /* A r = Z'(Z r) + sum_j p_j (p_j'r) */
                pattn__icl_comb8x(d, r, X, n8, n8, w, r[d], y);
                pattn__icl_dots(X, (size_t)n8, d, y, 1, s.zero, w, n8, ar);
                for (j = 0; j < f->m; ++j) {
                    const float *p = f->P + ((size_t)k * f->m + j) * D8;
                    pattn__icl_axpy8(D8, pattn__icl_dot8(p, r, D8), p, ar);
                }
            }
        } else {
            const float *W = f->W + (f->type == PATTN_ICL_PGD_TASK ? (size_t)k * d * d8 : 0);
            const float *muk = f->mu + (size_t)k * d8;
            const float *res = y;
            yh = 0.0f;
            if (f->type != PATTN_ICL_REDUCED) { /* y - X mu_k */
                for (j = 0; j < n8; j += 8) {
                    pattn__f8 acc = pattn__f8_load(y + j);
                    for (c = 0; c < d; ++c) acc = pattn__f8_fnma(pattn__f8_set1(muk[c]), pattn__f8_load(X + (size_t)c * n8 + j), acc);
                    pattn__f8_store(u + j, acc);
                }
                res = u;
                yh = pattn__icl_dot8(xq, muk, d8);
            }
            pattn__icl_dots(X, (size_t)n8, d, y, 0, s.zero, res, n8, sv);
            if (f->type == PATTN_ICL_REDUCED) pattn__icl_axpy8(d8, 1.0f, f->b + (size_t)k * d8, sv);
            pattn__icl_comb8(d, xq, W, d8, d8, av); /* W'x */
            yh += pattn__icl_dot8(av, sv, d8);
        }
        e = yh - yq;
        l2 += (double)e * e;
        l4 += (double)e * e * ((double)e * e);
        if (!st) continue;
        ew = wgt * e;
        if (f->type == PATTN_ICL_FULL) {
            for (a = 0; a < d; ++a) pattn__icl_axpy8(D8, ew * xq[a], cv, st + (size_t)a * D8);
            pattn__icl_axpy8(D8, ew, ar, st + (size_t)d * D8 + (size_t)k * D8);
            pattn__icl_axpy8(d8, ew, xq, st + (size_t)d * D8 + (size_t)K * D8 + (size_t)k * d8);
        } else {
            float *G = st + (f->type == PATTN_ICL_PGD_TASK ? (size_t)k * d * d8 : 0);
            for (a = 0; a < d; ++a) pattn__icl_axpy8(d8, ew * xq[a], sv, G + (size_t)a * d8);
            if (f->type == PATTN_ICL_REDUCED) pattn__icl_axpy8(d8, ew, av, st + (size_t)d * d8 + (size_t)k * d8);
        }
    }
    ls[0] = l2;
    ls[1] = l4;
}

/* Load the parameters, then one pass over K * nbk blocks (OpenMP); with c->st the summed
   gradient statistics end in c->tot. The batch loss sum_k pi_k mean_k e^2 is returned. */
static pattn_status pattn__icl_eval(pattn__icl_ctx *c, const pattn_icl_gen *g, const pattn_icl_model *md)
{
    long j, nblk = c->nblk;
    int nbk = c->nbk, n = c->n, B = c->B, nthr = pattn__max_threads();
    int par = (double)B * c->f.K * (double)pattn__icl_nmax(c->f.d, n) >= PATTN__ICL_PAR_MIN;
    size_t i;
    if (nthr > c->nthr) { /* more threads than at creation: widen the scratch */
        float *ns = (float *)PATTN_MALLOC((size_t)nthr * c->ss * sizeof(float));
        if (!ns) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate %s", "scratch memory");
        memset(ns, 0, (size_t)nthr * c->ss * sizeof(float));
        PATTN_FREE(c->scr);
        c->scr = ns;
        c->nthr = nthr;
    }
    pattn__icl_fast_load(c, md);
    PATTN__OMP_FOR_IF(par)
    for (j = 0; j < nblk; ++j) {
        int k = (int)(j / nbk);
        long b = j % nbk;
        int cnt = B - (int)b * PATTN_ICL_BLOCK < PATTN_ICL_BLOCK ? B - (int)b * PATTN_ICL_BLOCK : PATTN_ICL_BLOCK;
        pattn__icl_block(g, &c->f, k, n, cnt, c->seeds[k], (uint64_t)b, c->st ? c->wgt[k] : 0.0f,
                         c->scr + (size_t)pattn__tid() * c->ss, c->ss,
                         c->st ? c->st + (size_t)j * c->sl : NULL, c->sl, c->ls + 2 * j);
    }
    if (c->st) {
        for (i = 0; i < c->sl; ++i) c->tot[i] = 0.0;
        for (j = 0; j < nblk; ++j) {
            const float *sj = c->st + (size_t)j * c->sl;
            for (i = 0; i < c->sl; ++i) c->tot[i] += (double)sj[i];
        }
    }
    return PATTN_OK;
}

/* batch loss sum_k pi_k mean_k e^2 from the per-block sums, in block order */
static double pattn__icl_loss(const pattn__icl_ctx *c, const pattn_icl_gen *g)
{
    double L = 0.0;
    long j;
    for (j = 0; j < c->nblk; ++j) L += g->pi[j / c->nbk] / c->B * c->ls[2 * j];
    return L;
}

/* the parameter gradient from c->tot (padded statistics -> theta layout) */
static void pattn__icl_assemble(pattn__icl_ctx *c, const pattn_icl_model *md, double *grad, double *work)
{
    int d = md->d, D = d + 1, K = md->K, d8 = c->f.d8, D8 = c->f.D8, a, b, k;
    double *G, *E, *H;
    if (md->type != PATTN_ICL_FULL) {
        int rows = md->type == PATTN_ICL_PGD_TASK ? K * d : d;
        for (a = 0; a < rows; ++a)
            for (b = 0; b < d; ++b) grad[a * d + b] = c->tot[a * d8 + b];
        if (md->type == PATTN_ICL_REDUCED)
            for (k = 0; k < K; ++k)
                for (b = 0; b < d; ++b) grad[d * d + k * d + b] = c->tot[d * d8 + k * d8 + b];
        return;
    }
    G = work;
    E = G + (size_t)D * D;
    H = E + (size_t)K * D;
    for (a = 0; a < D; ++a)
        for (b = 0; b < D; ++b) G[a * D + b] = a < d ? c->tot[a * D8 + b] : 0.0;
    for (k = 0; k < K; ++k)
        for (a = 0; a < D; ++a) {
            E[k * D + a] = c->tot[d * D8 + k * D8 + a];
            H[k * D + a] = a < d ? c->tot[d * D8 + K * D8 + k * d8 + a] : 0.0;
        }
    pattn__icl_full_grad(md, c->Qd, c->Vd, G, E, H, c->R, grad);
}

PATTN__KDEF uint64_t pattn_icl_step_seed(uint64_t seed, long step, int task)
{
    uint64_t s = seed ^ 0xa0761d6478bd642fULL, h = pattn__splitmix64(&s);
    s = h ^ (uint64_t)step;
    h = pattn__splitmix64(&s);
    s = h ^ (uint64_t)(uint32_t)task;
    return pattn__splitmix64(&s);
}

#if PATTN__DISPATCH /* each path has its own trainer type (the public one is opaque) */
typedef struct pattn_icl_trainer pattn_icl_trainer;
#endif
struct pattn_icl_trainer {
    const pattn_icl_gen *g;
    pattn_icl_model *md;
    pattn_icl_train_opts o; /* resolved: no zero left that means a default */
    int n;
    long step;
    long diverged_at;       /* -1 while every step has been finite */
    double last_lr;
    double pw1, pw2;        /* beta1^step, beta2^step (Adam's bias corrections) */
    pattn__icl_ctx c;
    double *grad, *m1, *m2, *work, *lrs, *back;
    unsigned char *mask;
};

PATTN__KDEF void pattn_icl_trainer_free(pattn_icl_trainer *t)
{
    if (!t) return;
    pattn__icl_ctx_free(&t->c);
    PATTN_FREE(t->grad);
    PATTN_FREE(t->mask);
    PATTN_FREE(t);
}

/* which parameters a regime trains (mask), 0 if the regime does not apply to the model */
static int pattn__icl_regime_mask(const pattn_icl_model *md, pattn_icl_regime regime, unsigned char *mask)
{
    int d = md->d, D = d + 1, K = md->K, i;
    int nW = 3 * D * D, nP = K * md->m * D, w = 0, p = 0, h = 0;
    switch (md->type) {
    case PATTN_ICL_REDUCED:
        if (regime == PATTN_ICL_PT) w = 1;
        else if (regime == PATTN_ICL_FT) p = 1;
        else if (regime == PATTN_ICL_JT) w = p = 1;
        else return 0;
        if (mask)
            for (i = 0; i < md->np; ++i) mask[i] = (unsigned char)(i < d * d ? w : p);
        return 1;
    case PATTN_ICL_PGD:
    case PATTN_ICL_PGD_TASK:
        if (regime != (md->type == PATTN_ICL_PGD ? PATTN_ICL_DEC : PATTN_ICL_LB)) return 0;
        if (mask) memset(mask, 1, (size_t)md->np);
        return 1;
    default:
        if (regime == PATTN_ICL_PT) w = 1;
        else if (regime == PATTN_ICL_FT) p = 1;
        else if (regime == PATTN_ICL_JT) w = p = 1;
        else if (regime == PATTN_ICL_DEC) w = p = h = 1;
        else return 0;
        if (mask)
            for (i = 0; i < md->np; ++i) mask[i] = (unsigned char)(i < nW ? w : i < nW + nP ? p : h);
        return 1;
    }
}

/* the regime's fixed parts: PT has no prompts; fixed-head regimes use e_D; a regime that
   trains prompts cannot start them at 0 (a stationary point of the quadratic prompt term
   A = ... + p p'), so all-zero prompt tokens of the FULL model start at e_D (token 0) and
   0.1 g (the others, g ~ N(0, I) from the seed) */
static void pattn__icl_regime_apply(pattn_icl_model *md, pattn_icl_regime regime, uint64_t seed)
{
    int d = md->d, D = d + 1, K = md->K, m = md->m, k, i, j;
    if (md->type == PATTN_ICL_REDUCED && regime == PATTN_ICL_PT) memset(md->b, 0, (size_t)K * d * sizeof(double));
    if (md->type != PATTN_ICL_FULL) return;
    if (regime == PATTN_ICL_PT) memset(md->P, 0, (size_t)K * m * D * sizeof(double));
    if (regime != PATTN_ICL_DEC)
        for (k = 0; k < K; ++k)
            for (i = 0; i < D; ++i) md->h[k * D + i] = i == d;
    if (regime == PATTN_ICL_PT) return;
    for (k = 0; k < K; ++k) {
        double *P = md->P + (size_t)k * m * D;
        int zero = 1;
        for (i = 0; i < m * D; ++i)
            if (P[i] != 0.0) zero = 0;
        if (zero) {
            pattn_rng r;
            pattn_rng_stream(&r, seed ^ 0x5bd1e995ULL, (uint64_t)k);
            P[d] = 1.0;
            for (j = 1; j < m; ++j)
                for (i = 0; i < D; ++i) P[j * D + i] = 0.1 * pattn_rng_normal_f64(&r);
        }
    }
}

/* per-parameter learning-rate multipliers (see pattn_lr_scaling) */
static void pattn__icl_lr_scales(const pattn_icl_model *md, int n, int scaled, double *lrs)
{
    int d = md->d, D = d + 1, i, nW = 3 * D * D, nP = md->K * md->m * D;
    double sc = (double)n + d, sn = sqrt(sc);
    for (i = 0; i < md->np; ++i) {
        double s = 1.0;
        if (scaled) {
            if (md->type == PATTN_ICL_FULL) s = i < 2 * D * D ? 1.0 / sn : i < nW ? 1.0 : i < nW + nP ? sn : 1.0;
            else s = i < (md->type == PATTN_ICL_PGD_TASK ? md->K : 1) * d * d ? 1.0 / sc : sc;
        }
        lrs[i] = s;
    }
}

/* PGD predicts with the model's means: they must be the generator's */
static int pattn__icl_same_means(const pattn_icl_gen *g, const pattn_icl_model *md)
{
    if (md->type != PATTN_ICL_PGD && md->type != PATTN_ICL_PGD_TASK) return 1;
    return !memcmp(g->mu, md->mu, (size_t)g->K * (size_t)g->d * sizeof(double));
}

static int pattn__icl_opts_ok(const char *fn, const pattn_icl_train_opts *o)
{
    if (!pattn__optim_ok(fn, &o->opt)) return 0;
    PATTN__OK(o->batch >= 0, "o->batch is %d; it must be >= 0 (0 = default)", o->batch);
    PATTN__OK(o->scaling >= PATTN_LR_DEFAULT && o->scaling <= PATTN_LR_UNIFORM, "o->scaling is %d; it must be a pattn_lr_scaling value", (int)o->scaling);
    return 1;
}

PATTN__KDEF pattn_status pattn_icl_trainer_create(const pattn_icl_gen *g, pattn_icl_model *mdl,
                                                int n, const pattn_icl_train_opts *opts,
                                                pattn_icl_trainer **out)
{
    pattn_icl_trainer *t;
    pattn_icl_train_opts o;
    pattn_status st;
    int np, D;
    size_t nwork;
    if (opts) o = *opts;
    else memset(&o, 0, sizeof o);
    PATTN__REQ(g && g->pi, "g is NULL or not made by pattn_icl_gen_create");
    PATTN__REQ(out, "out is NULL");
    if (!pattn__icl_model_ok(__func__, mdl)) return PATTN_EINVAL;
    PATTN__REQ(mdl->d == g->d && mdl->K == g->K, "mdl has d = %d, K = %d but the generator's mixture has d = %d, K = %d; they must match", mdl->d, mdl->K, g->d, g->K);
    PATTN__REQ(n >= 1, "n (the context length) is %d; it must be >= 1", n);
    if (!pattn__icl_opts_ok(__func__, &o)) return PATTN_EINVAL;
    if (o.batch == 0) o.batch = 256;
    PATTN__REQ(pattn__icl_size_ok(g->d, g->K, n), "n = %d with d = %d is too large", n, g->d);
    PATTN__REQ((long)o.batch * g->K <= 1L << 30, "o->batch * K = %ld exceeds 2^30 samples per step", (long)o.batch * g->K);
    PATTN__REQ(pattn__icl_regime_mask(mdl, o.regime, NULL), "o->regime is %s, which does not apply to a %s model (REDUCED: PT, FT, JT; FULL: PT, FT, JT, DEC; PGD: DEC; PGD_TASK: LB)", pattn__icl_regime_name(o.regime), pattn__icl_type_name(mdl->type));
    PATTN__REQ(pattn__icl_same_means(g, mdl), "mdl->mu differs from the generator's task means; a PGD model must be made from the same mixture");
    PATTN__REQ(pattn__all_finite_f64(mdl->theta, (size_t)mdl->np), "mdl->theta holds a NaN or infinite value");
    pattn__optim_resolve(&o.opt, 1000, mdl->type == PATTN_ICL_FULL ? 0.03 : 0.1, PATTN_SCHED_COSINE);
    if (o.scaling == PATTN_LR_DEFAULT) o.scaling = PATTN_LR_SCALED;
    np = mdl->np;
    D = mdl->d + 1;
    t = (pattn_icl_trainer *)PATTN_MALLOC(sizeof *t);
    if (!t) return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate the trainer");
    memset(t, 0, sizeof *t);
    t->g = g;
    t->md = mdl;
    t->o = o;
    t->n = n;
    t->diverged_at = -1;
    t->pw1 = t->pw2 = 1.0;
    nwork = (size_t)D * D + 2 * (size_t)mdl->K * D;
    t->grad = (double *)PATTN_MALLOC((5 * (size_t)np + nwork) * sizeof(double));
    t->mask = (unsigned char *)PATTN_MALLOC((size_t)np);
    if (!t->grad || !t->mask) {
        pattn_icl_trainer_free(t);
        return PATTN__FAIL(PATTN_ENOMEM, __func__, "cannot allocate the trainer's state (%d parameters)", np);
    }
    st = pattn__icl_ctx_init(&t->c, mdl, n, o.batch, 1);
    if (st != PATTN_OK) {
        pattn_icl_trainer_free(t);
        return PATTN__FAIL(st, __func__, "cannot allocate the trainer's batch buffers (batch %d)", o.batch);
    }
    t->m1 = t->grad + np;
    t->m2 = t->m1 + np;
    t->lrs = t->m2 + np;
    t->back = t->lrs + np;
    t->work = t->back + np;
    memset(t->m1, 0, 2 * (size_t)np * sizeof(double));
    pattn__icl_regime_mask(mdl, o.regime, t->mask);
    pattn__icl_lr_scales(mdl, n, o.scaling == PATTN_LR_SCALED, t->lrs);
    pattn__icl_regime_apply(mdl, o.regime, o.opt.seed);
    *out = t;
    return PATTN_OK;
}

static pattn_status pattn__icl_trainer_eval(pattn_icl_trainer *t, double *loss)
{
    int k;
    pattn_status st;
    for (k = 0; k < t->g->K; ++k) {
        t->c.seeds[k] = pattn_icl_step_seed(t->o.opt.seed, t->step, k);
        t->c.wgt[k] = (float)(2.0 * t->g->pi[k] / t->c.B);
    }
    st = pattn__icl_eval(&t->c, t->g, t->md);
    if (st != PATTN_OK) return st;
    pattn__icl_assemble(&t->c, t->md, t->grad, t->work);
    *loss = pattn__icl_loss(&t->c, t->g);
    return PATTN_OK;
}

PATTN__KDEF pattn_status pattn_icl_trainer_grad(pattn_icl_trainer *t, double *loss, double *grad)
{
    double L;
    pattn_status st;
    PATTN__REQ(t, "t is NULL");
    st = pattn__icl_trainer_eval(t, &L);

    if (st != PATTN_OK) return st;
    if (loss) *loss = L;
    if (grad) memcpy(grad, t->grad, (size_t)t->md->np * sizeof(double));
    return PATTN_OK;
}

PATTN__KDEF pattn_status pattn_icl_trainer_step(pattn_icl_trainer *t, double *loss)
{
    const pattn_optim *o;
    double L, lr0, c1, c2, *th;
    int i, np, bad;
    pattn_status st;
    PATTN__REQ(t, "t is NULL");
    if (t->diverged_at >= 0)
        return PATTN__FAIL(PATTN_EDIVERGED, __func__, "the run diverged at step %ld; create a new trainer (lower opt.lr)", t->diverged_at);
    o = &t->o.opt;
    st = pattn__icl_trainer_eval(t, &L);
    if (st != PATTN_OK) return st;
    lr0 = pattn__optim_lr(o, t->step);
    th = t->md->theta;
    np = t->md->np;
    bad = !pattn__finite(L);
    if (!bad) {
        memcpy(t->back, th, (size_t)np * sizeof(double));
        pattn__optim_bias(o, &t->pw1, &t->pw2, &c1, &c2);
        for (i = 0; i < np; ++i)
            if (t->mask[i]) th[i] = pattn__optim_apply(o, lr0 * t->lrs[i], th[i], t->grad[i], t->m1 + i, t->m2 + i, c1, c2);
        bad = !pattn__all_finite_f64(th, (size_t)np);
        if (bad) memcpy(th, t->back, (size_t)np * sizeof(double));
    }
    t->last_lr = lr0;
    if (loss) *loss = L;
    if (bad) {
        t->diverged_at = t->step;
        return PATTN__FAIL(PATTN_EDIVERGED, __func__, "diverged at step %ld of %ld (batch loss %g, lr %g): lower opt.lr; the model holds the last finite iterate", t->step, o->steps, L, lr0);
    }
    ++t->step;
    if (o->progress && (t->step % o->progress_every == 0 || t->step == o->steps)) {
        pattn_train_rec rec = pattn__rec(t->step - 1, L, PATTN__NAN, lr0);
        if (o->progress(o->user, &rec, o->steps)) t->o.opt.steps = t->step; /* stop here */
    }
    return PATTN_OK;
}

PATTN__KDEF pattn_status pattn_icl_train(const pattn_icl_gen *g, pattn_icl_model *mdl, int n,
                                       const pattn_icl_train_opts *o, pattn_history *hist)
{
    pattn_icl_trainer *t;
    pattn_status st = pattn_icl_trainer_create(g, mdl, n, o, &t);
    if (st != PATTN_OK) return st;
    if (hist) hist->diverged_at = -1;
    while (t->step < t->o.opt.steps) {
        double L;
        long s = t->step;
        st = pattn_icl_trainer_step(t, &L);
        if (hist && (st == PATTN_OK || st == PATTN_EDIVERGED)) {
            pattn_train_rec rec = pattn__rec(s, L, PATTN__NAN, t->last_lr);
            pattn__hist_push(hist, &rec);
        }
        if (st != PATTN_OK) break;
    }
    if (st == PATTN_EDIVERGED) {
        if (hist) hist->diverged_at = t->diverged_at;
        pattn__record(__func__, "diverged at step %ld of %ld (lr %g): lower opt.lr; the model holds the last finite iterate", t->diverged_at, t->o.opt.steps, t->last_lr);
    }
    pattn_icl_trainer_free(t);
    return st;
}

PATTN__KDEF pattn_status pattn_icl_test_loss(const pattn_icl_gen *g, const pattn_icl_model *mdl,
                                           int n, int batch, uint64_t seed, double *loss_k,
                                           double *loss, double *se)
{
    pattn__icl_ctx c;
    pattn_status st;
    int k, K;
    long j;
    double L = 0.0, V = 0.0;
    PATTN__REQ(g && g->pi, "g is NULL or not made by pattn_icl_gen_create");
    if (!pattn__icl_model_ok(__func__, mdl)) return PATTN_EINVAL;
    PATTN__REQ(n >= 1, "n is %d; it must be >= 1", n);
    PATTN__REQ(batch >= 2, "batch is %d; it must be >= 2 (the standard error needs two samples)", batch);
    PATTN__REQ(mdl->d == g->d && mdl->K == g->K, "mdl has d = %d, K = %d but the generator's mixture has d = %d, K = %d; they must match", mdl->d, mdl->K, g->d, g->K);
    PATTN__REQ(pattn__icl_size_ok(g->d, g->K, n), "n = %d with d = %d is too large", n, g->d);
    PATTN__REQ(pattn__icl_same_means(g, mdl), "mdl->mu differs from the generator's task means; a PGD model must be made from the same mixture");
    PATTN__REQ((long)batch * g->K <= 1L << 30, "batch * K = %ld exceeds 2^30", (long)batch * g->K);
    PATTN__REQ(pattn__all_finite_f64(mdl->theta, (size_t)mdl->np), "mdl->theta holds a NaN or infinite value");
    for (j = 0; j < mdl->np; ++j) /* the batched passes hold the parameters in float */
        PATTN__REQ(fabs(mdl->theta[j]) <= PATTN_ICL_MAX_SCALE, "mdl->theta[%ld] is %g; the test loss evaluates in float and supports parameters up to %g", j, mdl->theta[j], PATTN_ICL_MAX_SCALE);

    K = g->K;
    st = pattn__icl_ctx_init(&c, mdl, n, batch, 0);
    if (st != PATTN_OK) return st;
    for (k = 0; k < K; ++k) c.seeds[k] = pattn_icl_step_seed(seed, -1, k);
    st = pattn__icl_eval(&c, g, mdl);
    if (st == PATTN_OK) {
        for (k = 0; k < K; ++k) {
            double s2 = 0.0, s4 = 0.0, mk, vk;
            for (j = (long)k * c.nbk; j < (long)(k + 1) * c.nbk; ++j) {
                s2 += c.ls[2 * j];
                s4 += c.ls[2 * j + 1];
            }
            mk = s2 / batch;
            vk = (s4 / batch - mk * mk) * batch / (batch - 1.0);
            L += g->pi[k] * mk;
            V += g->pi[k] * g->pi[k] * (vk > 0.0 ? vk : 0.0) / batch;
            if (loss_k) loss_k[k] = mk;
        }
        if (loss) *loss = L;
        if (se) *se = sqrt(V);
    }
    pattn__icl_ctx_free(&c);
    return st;
}

#if PATTN__DISPATCH && PATTN__SIMD_PASS == 2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
#endif /* PATTN__SIMD_PASS */

/*
------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 the prompt_attn.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------
*/
