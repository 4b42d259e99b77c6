/* prompt_attn.h - v0.1.0 - prompt-attention and task-specific ICL prompts, in one C header.

   Two lines of ML theory made runnable, testable and fast:

     [P1] Oymak, Rawat, Soltanolkotabi, Thrampoulidis, "On the Role of Attention in
          Prompt-tuning", ICML 2023 (arXiv 2306.03435): one-layer softmax prompt-attention
          f(X) = v' X' softmax(X W p) on a contextual mixture model.
     [P2] Chang, Li, Kara, Oymak, Roy-Chowdhury, "Provable Benefits of Task-Specific Prompts
          for In-context Learning", AISTATS 2025 (arXiv 2503.02102): one-layer linear
          attention doing in-context regression on a mixture of tasks.

   USAGE
     In exactly one C or C++ file:
        #define PATTN_IMPLEMENTATION
        #include "prompt_attn.h"
     and include it plainly everywhere else. Build with
        cc -O2 -mavx2 -mfma prog.c -I/usr/include/stb -lstb -lm      (add -fopenmp for threads)
     stb_ds (arrays for histories and sweep tables) comes from Debian's libstb-dev, whose
     libstb already exports the stbds_* functions. Without that package, put stb_ds.h on the
     include path and compile it once in a file of your own with STB_DS_IMPLEMENTATION.

   CONFIGURATION (define before the include)
     PATTN_IMPLEMENTATION     emit the implementation in this translation unit
     PATTN_STATIC             make every function static (a private copy per TU)
     PATTN_DEF                linkage of public functions (default extern)
     PATTN_NO_SIMD            force the scalar path even where AVX2+FMA is available
     PATTN_ASSERT(x)          internal invariants (default assert)
     PATTN_MALLOC(sz) / PATTN_REALLOC(p,sz) / PATTN_FREE(p)   allocator (default libc)

   SIMD AND DETERMINISM
     With __AVX2__ and __FMA__ defined (-mavx2 -mfma, or -march=native) the kernels use
     AVX2+FMA; otherwise a scalar twin runs. Every kernel is written once against an 8-lane
     vector abstraction (pattn__f8) whose scalar form performs the same IEEE operations in the
     same order (fmaf where the vector code fuses), so both paths give bit-identical results
     when the compiler is not allowed to contract a*b+c itself (-ffp-contract=off; the default
     in ISO C modes of gcc). Batch loops are split into fixed blocks of samples, each with its
     own RNG stream and its own partial sum, combined in block order: results do not depend
     on the thread count.

     Accuracy of the polynomial exp used by softmax and attention (pattn_exp_f32), measured by
     tests/test_foundation.c against double exp over 2^24 points of [-87, 88]: at most 2 ulp
     (see the test's printout for the exact figure on your machine).

   API MAP (sections in the order data flows)
     status        pattn_status, pattn_status_str, pattn_simd_path, pattn_version
     RNG           pattn_rng (xoshiro256**): _seed, _u64, _jump, _stream, _uniform_f32/_f64,
                   _below, _normal_f64, _normal_f32 (vectorised Box-Muller);
                   pattn_rng8 (8 lanes of xoshiro128**): _seed, _normal_f32, _uniform_f32
     SIMD          pattn_dot_f32, pattn_axpy_f32, pattn_scale_f32, pattn_exp_f32,
                   pattn_softmax_f32, pattn_softmax_rows_f32, pattn_matvec_f32 (X p),
                   pattn_matvec_t_f32 (X' a), pattn_pa_forward_backward_f32
     linear alg.   pattn_chol, pattn_chol_solve, pattn_sym_eig (double)

   WHAT IS EXACT, WHAT IS RECONSTRUCTED
     [P2]'s closed forms are exact population risks (checked against the authors' notebook
     and by simulation). [P1]'s full text was not available: its model is fixed by the
     abstract and by the follow-up of Tarzanagh et al. (NeurIPS 2023); the contextual data
     model, the baselines and the training scheme are a reconstruction with knobs that cover
     reasonable readings; the ridge-head risk theory is this library's own derivation, exact in
     the proportional limit and confirmed by token-level simulation.

   VERSION HISTORY
     0.1.0  foundation: status, RNG, SIMD core, prompt-attention kernel, dense linear algebra.

   LICENSE: MIT, see the end of this file.
*/
#ifndef PATTN_H_INCLUDE
#define PATTN_H_INCLUDE

#define PATTN_VERSION_MAJOR 0
#define PATTN_VERSION_MINOR 1
#define PATTN_VERSION_PATCH 0
#define PATTN_VERSION_STRING "0.1.0"

#include <stddef.h>
#include <stdint.h>
#include "stb_ds.h"

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
    PATTN_EINVAL = -1, /* an argument is invalid or out of range */
    PATTN_ENOMEM = -2, /* allocation failed */
    PATTN_ENUM = -3    /* numerical failure: not SPD, no convergence */
} pattn_status;

PATTN_DEF const char *pattn_status_str(pattn_status s);
PATTN_DEF const char *pattn_simd_path(void); /* "avx2" or "scalar" */
PATTN_DEF const char *pattn_version(void);

/* ==== RNG: xoshiro256** seeded by splitmix64 =========================================== */

typedef struct pattn_rng { uint64_t s[4]; } pattn_rng;

/* s[0..3] = four successive splitmix64 outputs started at state = seed. */
PATTN_DEF void pattn_rng_seed(pattn_rng *r, uint64_t seed);
PATTN_DEF uint64_t pattn_rng_u64(pattn_rng *r);
/* Advance by 2^128 draws: successive jumps give non-overlapping streams. */
PATTN_DEF void pattn_rng_jump(pattn_rng *r);
/* Stream number `stream` of `seed`, in O(1): a splitmix64 seed hashed from (seed, stream).
   Generators give one stream to each fixed block of samples, so output does not depend on
   how blocks are spread over threads. */
PATTN_DEF void pattn_rng_stream(pattn_rng *r, uint64_t seed, uint64_t stream);
PATTN_DEF float pattn_rng_uniform_f32(pattn_rng *r);  /* [0,1), 24 random bits */
PATTN_DEF double pattn_rng_uniform_f64(pattn_rng *r); /* [0,1), 53 random bits */
PATTN_DEF uint64_t pattn_rng_below(pattn_rng *r, uint64_t n); /* unbiased in [0,n); 0 if n=0 */
PATTN_DEF double pattn_rng_normal_f64(pattn_rng *r);  /* N(0,1), double Box-Muller */
/* n standard normals (float). Consumes 8 u64 per block of 16 normals, the last block whole
   even if n is not a multiple of 16, so the output for a given seed is a prefix-stable
   function of n rounded up to 16. No-op for out == NULL or n <= 0. */
PATTN_DEF void pattn_rng_normal_f32(pattn_rng *r, float *out, int n);

/* Eight interleaved xoshiro128** generators, one per SIMD lane: the bulk sampler behind the
   generators (no scalar bottleneck). Lane j of stream `stream` is seeded from splitmix64 of
   a hash of (seed, stream); the AVX2 and scalar builds give the same numbers. */
typedef struct pattn_rng8 { uint32_t s[4][8]; } pattn_rng8;
PATTN_DEF void pattn_rng8_seed(pattn_rng8 *r, uint64_t seed, uint64_t stream);
/* n standard normals, 16 per step (the last step whole, as in pattn_rng_normal_f32) */
PATTN_DEF void pattn_rng8_normal_f32(pattn_rng8 *r, float *out, int n);
/* n uniforms in [0,1) with 24 random bits, 8 per step */
PATTN_DEF void pattn_rng8_uniform_f32(pattn_rng8 *r, float *out, int n);

/* ==== SIMD primitives (float, AVX2+FMA with a bit-identical scalar twin) ================== */

PATTN_DEF float pattn_dot_f32(const float *x, const float *y, int n);     /* NaN if invalid */
PATTN_DEF void pattn_axpy_f32(int n, float a, const float *x, float *y);  /* y += a x */
PATTN_DEF void pattn_scale_f32(int n, float a, float *x);                 /* x *= a */
PATTN_DEF float pattn_expf(float x);                     /* the kernels' exp, one value */
PATTN_DEF void pattn_exp_f32(const float *x, float *y, int n);           /* y may alias x */
/* Numerically stable softmax over n floats; y may alias x. A non-finite maximum (NaN, +inf,
   or all -inf) gives NaN everywhere. */
PATTN_DEF void pattn_softmax_f32(const float *x, float *y, int n);
/* Row-wise softmax of a rows x n row-major matrix (OpenMP over rows); y may alias x. */
PATTN_DEF void pattn_softmax_rows_f32(const float *x, float *y, int rows, int n);
/* s = X p for a T x d row-major sample, and h = X' a. */
PATTN_DEF void pattn_matvec_f32(const float *X, int T, int d, const float *p, float *s);
PATTN_DEF void pattn_matvec_t_f32(const float *X, int T, int d, const float *a, float *h);

/* Prompt-attention on one sample (W = I): returns f = v'X' softmax(Xp); writes
   h = X' softmax(Xp) and grad_p = df/dp = X'(a o (u - f)), u = Xv, when those pointers are
   non-NULL. One streaming (online-softmax) pass: running sums of e^(s-max) x, e^(s-max) u x
   and e^(s-max) u, rescaled when the maximum moves; no scratch for any T. Returns NaN and
   writes nothing on invalid input (NULL X/p/v, T or d < 1, NaN or inf in p or v). */
PATTN_DEF float pattn_pa_forward_backward_f32(const float *X, int T, int d, const float *p,
                                              const float *v, float *h, float *grad_p);

/* ==== dense linear algebra (double, row-major) ========================================== */

/* In-place Cholesky A = L L' of an n x n symmetric positive definite matrix; on success the
   lower triangle holds L and the strict upper triangle is zeroed. PATTN_ENUM if A is not
   symmetric (beyond 1e-12 relative) or not positive definite (A untouched then). */
PATTN_DEF pattn_status pattn_chol(double *A, int n);
/* Solve (L L') X = B in place; B is n x nrhs row-major. */
PATTN_DEF pattn_status pattn_chol_solve(const double *L, int n, double *B, int nrhs);
/* Symmetric eigen-decomposition A = V diag(w) V' by cyclic Jacobi (accurate to a few ulp
   of |A|). w ascending; V row-major with eigenvectors as columns; V may be NULL.
   PATTN_ENUM if A is not symmetric (beyond 1e-12 relative). */
PATTN_DEF pattn_status pattn_sym_eig(const double *A, int n, double *w, double *V);

#include "parts/p1_models.decl.h" /* DEV-PART */
#include "parts/icl_models.decl.h" /* DEV-PART */
#include "parts/p1_theory.decl.h" /* DEV-PART */
#include "parts/icl_theory.decl.h" /* DEV-PART */

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
#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef PATTN_ASSERT
#include <assert.h>
#define PATTN_ASSERT(x) assert(x)
#endif
#if defined(PATTN_MALLOC) != defined(PATTN_FREE) || defined(PATTN_MALLOC) != defined(PATTN_REALLOC)
#error "define all of PATTN_MALLOC, PATTN_REALLOC and PATTN_FREE, or none"
#endif
#ifndef PATTN_MALLOC
#define PATTN_MALLOC(sz) malloc(sz)
#define PATTN_REALLOC(p, sz) realloc(p, sz)
#define PATTN_FREE(p) free(p)
#endif

#if defined(__AVX2__) && defined(__FMA__) && !defined(PATTN_NO_SIMD)
#define PATTN__AVX2 1
#include <immintrin.h>
#else
#define PATTN__AVX2 0
#endif

#define PATTN__INLINE static inline
#define PATTN__PRAGMA(x) _Pragma(#x)
#ifdef _OPENMP
#define PATTN__OMP_FOR PATTN__PRAGMA(omp parallel for schedule(static))
#else
#define PATTN__OMP_FOR
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ---------------------------------------------------------------------------- */

PATTN_DEF const char *pattn_status_str(pattn_status s)
{
    switch (s) {
    case PATTN_OK: return "ok";
    case PATTN_EINVAL: return "invalid argument (NULL, size, range or NaN)";
    case PATTN_ENOMEM: return "out of memory";
    case PATTN_ENUM: return "numerical failure (matrix not symmetric/positive definite, or no convergence)";
    }
    return "unknown status";
}

PATTN_DEF const char *pattn_simd_path(void) { return PATTN__AVX2 ? "avx2" : "scalar"; }
PATTN_DEF const char *pattn_version(void) { return PATTN_VERSION_STRING; }

/* finite-ness of parameters, shared by every validating entry point */
PATTN__INLINE int pattn__finite(double x) { return x == x && x - x == 0.0; }
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
    uint64_t *s = r->s;
    uint64_t out = pattn__rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
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
    if (n == 0) return 0;
    lim = (0 - n) % n; /* reject the 2^64 mod n lowest values: no modulo bias */
    do x = pattn_rng_u64(r); while (x < lim);
    return x % n;
}
PATTN_DEF double pattn_rng_normal_f64(pattn_rng *r)
{
    /* 1 - u lies in (0, 1], so the log is finite */
    double u1 = 1.0 - pattn_rng_uniform_f64(r), u2 = pattn_rng_uniform_f64(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

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
PATTN__INLINE pattn__f8 pattn__f8_fma(pattn__f8 a, pattn__f8 b, pattn__f8 c) { PATTN__LANES(a.v[j_] = fmaf(a.v[j_], b.v[j_], c.v[j_])); return a; }
PATTN__INLINE pattn__f8 pattn__f8_fnma(pattn__f8 a, pattn__f8 b, pattn__f8 c) { PATTN__LANES(a.v[j_] = fmaf(-a.v[j_], b.v[j_], c.v[j_])); return a; }
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
PATTN__INLINE pattn__i8 pattn__f8_to_i8(pattn__f8 a) { pattn__i8 k; PATTN__LANES(k.v[j_] = (int32_t)a.v[j_]); return k; }
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

/* A cheaper exp for softmax rows whose arguments are known to lie in [-87.33, 0] (normal
   results): degree-5 minimax polynomial (relative error 7.5e-8 before rounding, fitted by
   Lawson's algorithm for this library) and 2^n written straight into the exponent field:
   11 operations instead of 24. */
PATTN__INLINE pattn__f8 pattn__f8_exp_normal(pattn__f8 x)
{
    pattn__f8 k = pattn__f8_fma(x, pattn__f8_set1(1.44269504088896341f), pattn__f8_set1(12582912.0f));
    pattn__f8 n = pattn__f8_sub(k, pattn__f8_set1(12582912.0f)), r, p;
    r = pattn__f8_fnma(n, pattn__f8_set1(0.693359375f), x);
    r = pattn__f8_fnma(n, pattn__f8_set1(-2.12194440e-4f), r);
    p = pattn__f8_fma(pattn__f8_set1(8.297647350e-3f), r, pattn__f8_set1(4.191543162e-2f));
    p = pattn__f8_fma(p, r, pattn__f8_set1(1.666757464e-1f));
    p = pattn__f8_fma(p, r, pattn__f8_set1(4.999889433e-1f));
    p = pattn__f8_fma(p, r, pattn__f8_set1(9.999997020e-1f));
    p = pattn__f8_fma(p, r, pattn__f8_set1(1.000000119e+00f));
    /* the shifter k holds 0x4b400000 + n in its bits; shifted by 23 only n << 23 remains */
    return pattn__f8_from_bits(pattn__i8_addv(pattn__f8_bits(p), pattn__i8_shl(pattn__f8_bits(k), 23)));
}

/* natural log for x in (0, 1] (all Box-Muller needs): x = 2^e m, m in [sqrt(1/2), sqrt(2)),
   Cephes degree-8 polynomial in m - 1. */
PATTN__INLINE pattn__f8 pattn__f8_log01(pattn__f8 x)
{
    pattn__i8 bits = pattn__f8_bits(x);
    pattn__f8 e = pattn__i8_to_f8(pattn__i8_add(pattn__i8_shr(bits, 23), -126));
    /* mantissa in [0.5, 1) */
    pattn__f8 m = pattn__f8_from_bits(pattn__i8_add(pattn__i8_and(bits, 0x007fffff), 0x3f000000));
    pattn__f8 one = pattn__f8_set1(1.0f), z, y, mlow;
    mlow = pattn__f8_select_lt(m, pattn__f8_set1(0.707106781186547524f), one, pattn__f8_zero());
    e = pattn__f8_sub(e, mlow);
    m = pattn__f8_sub(pattn__f8_add(m, pattn__f8_mul(m, mlow)), one); /* m<sqrt(1/2): 2m-1 */
    z = pattn__f8_mul(m, m);
    y = pattn__f8_set1(7.0376836292e-2f);
    y = pattn__f8_fma(y, m, pattn__f8_set1(-1.1514610310e-1f));
    y = pattn__f8_fma(y, m, pattn__f8_set1(1.1676998740e-1f));
    y = pattn__f8_fma(y, m, pattn__f8_set1(-1.2420140846e-1f));
    y = pattn__f8_fma(y, m, pattn__f8_set1(1.4249322787e-1f));
    y = pattn__f8_fma(y, m, pattn__f8_set1(-1.6668057665e-1f));
    y = pattn__f8_fma(y, m, pattn__f8_set1(2.0000714765e-1f));
    y = pattn__f8_fma(y, m, pattn__f8_set1(-2.4999993993e-1f));
    y = pattn__f8_fma(y, m, pattn__f8_set1(3.3333331174e-1f));
    y = pattn__f8_mul(pattn__f8_mul(y, m), z);
    y = pattn__f8_fma(e, pattn__f8_set1(-2.12194440e-4f), y);
    y = pattn__f8_fnma(pattn__f8_set1(0.5f), z, y);
    return pattn__f8_fma(e, pattn__f8_set1(0.693359375f), pattn__f8_add(m, y));
}

/* sin and cos of 2*pi*u for u in [0, 1): u = j/4 + f exactly, |f| <= 1/8, so the polynomial
   argument 2*pi*f stays in [-pi/4, pi/4] and the quadrant j swaps and negates. */
PATTN__INLINE void pattn__f8_sincos2pi(pattn__f8 u, pattn__f8 *s, pattn__f8 *c)
{
    pattn__f8 jf = pattn__f8_sub(pattn__f8_add(pattn__f8_mul(u, pattn__f8_set1(4.0f)), pattn__f8_set1(12582912.0f)), pattn__f8_set1(12582912.0f));
    pattn__f8 x = pattn__f8_mul(pattn__f8_fnma(jf, pattn__f8_set1(0.25f), u), pattn__f8_set1(6.28318530717958648f));
    pattn__f8 z = pattn__f8_mul(x, x), ps, pc, ns, nc;
    pattn__i8 j = pattn__i8_and(pattn__f8_to_i8(jf), 3);
    ps = pattn__f8_set1(-1.9515295891e-4f);
    ps = pattn__f8_fma(ps, z, pattn__f8_set1(8.3321608736e-3f));
    ps = pattn__f8_fma(ps, z, pattn__f8_set1(-1.6666654611e-1f));
    ps = pattn__f8_fma(pattn__f8_mul(ps, z), x, x);
    pc = pattn__f8_set1(2.443315711809948e-5f);
    pc = pattn__f8_fma(pc, z, pattn__f8_set1(-1.388731625493765e-3f));
    pc = pattn__f8_fma(pc, z, pattn__f8_set1(4.166664568298827e-2f));
    pc = pattn__f8_fma(pattn__f8_mul(pc, z), z, pattn__f8_fnma(pattn__f8_set1(0.5f), z, pattn__f8_set1(1.0f)));
    ns = pattn__f8_neg(ps);
    nc = pattn__f8_neg(pc);
    /* quadrant j: sin = (s, c, -s, -c)[j], cos = (c, -s, -c, s)[j] */
    *s = pattn__f8_select_ieq(j, 1, pc, pattn__f8_select_ieq(j, 2, ns, pattn__f8_select_ieq(j, 3, nc, ps)));
    *c = pattn__f8_select_ieq(j, 1, ns, pattn__f8_select_ieq(j, 2, nc, pattn__f8_select_ieq(j, 3, ps, pc)));
}

/* ---- normals -----------------------------------------------------------------------------
   Box-Muller rather than ziggurat: it is branch-free, so all 8 lanes do identical work and
   the scalar twin is the same straight-line code; one log, one sqrt and one sincos give 2
   normals, and its tails are exact up to the 24-bit uniforms (|z| <= 5.9). */
static void pattn__normal16(pattn_rng *r, float *out)
{
    uint32_t a[8], b[8];
    pattn__f8 u1, u2, rad, s, c;
    int j;
    for (j = 0; j < 8; ++j) {
        uint64_t w = pattn_rng_u64(r);
        a[j] = (uint32_t)(w >> 40) + 1u;          /* 1 .. 2^24 */
        b[j] = (uint32_t)(w >> 8) & 0xffffffu;    /* 0 .. 2^24-1 */
    }
    u1 = pattn__f8_mul(pattn__i8_to_f8(pattn__i8_load(a)), pattn__f8_set1(1.0f / 16777216.0f));
    u2 = pattn__f8_mul(pattn__i8_to_f8(pattn__i8_load(b)), pattn__f8_set1(1.0f / 16777216.0f));
    rad = pattn__f8_sqrt(pattn__f8_mul(pattn__f8_set1(-2.0f), pattn__f8_log01(u1)));
    pattn__f8_sincos2pi(u2, &s, &c);
    pattn__f8_store(out, pattn__f8_mul(rad, c));
    pattn__f8_store(out + 8, pattn__f8_mul(rad, s));
}

PATTN_DEF void pattn_rng_normal_f32(pattn_rng *r, float *out, int n)
{
    int i;
    float tmp[16];
    if (!r || !out || n <= 0) return;
    for (i = 0; i + 16 <= n; i += 16) pattn__normal16(r, out + i);
    if (i < n) {
        pattn__normal16(r, tmp);
        memcpy(out + i, tmp, (size_t)(n - i) * sizeof(float));
    }
}

/* ---- eight-lane generator ------------------------------------------------------------- */

PATTN_DEF void pattn_rng8_seed(pattn_rng8 *r, uint64_t seed, uint64_t stream)
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

/* one xoshiro128** step in every lane; the state stays in registers across a fill */
PATTN__INLINE pattn__i8 pattn__rng8_next(pattn__i8 *s)
{
    pattn__i8 x5 = pattn__i8_addv(pattn__i8_shl(s[1], 2), s[1]);
    pattn__i8 rot = pattn__i8_rotl(x5, 7);
    pattn__i8 out = pattn__i8_addv(pattn__i8_shl(rot, 3), rot);
    pattn__i8 t = pattn__i8_shl(s[1], 9);
    s[2] = pattn__i8_xor(s[2], s[0]);
    s[3] = pattn__i8_xor(s[3], s[1]);
    s[1] = pattn__i8_xor(s[1], s[2]);
    s[0] = pattn__i8_xor(s[0], s[3]);
    s[2] = pattn__i8_xor(s[2], t);
    s[3] = pattn__i8_rotl(s[3], 11);
    return out;
}

/* 16 normals from two steps: Box-Muller as in pattn__normal16 */
PATTN__INLINE void pattn__rng8_normal16(pattn__i8 *s, float *out)
{
    pattn__i8 a = pattn__rng8_next(s), b = pattn__rng8_next(s);
    pattn__f8 u1 = pattn__f8_mul(pattn__i8_to_f8(pattn__i8_add(pattn__i8_shr(a, 8), 1)), pattn__f8_set1(1.0f / 16777216.0f));
    pattn__f8 u2 = pattn__f8_mul(pattn__i8_to_f8(pattn__i8_shr(b, 8)), pattn__f8_set1(1.0f / 16777216.0f));
    pattn__f8 rad = pattn__f8_sqrt(pattn__f8_mul(pattn__f8_set1(-2.0f), pattn__f8_log01(u1))), sn, cs;
    pattn__f8_sincos2pi(u2, &sn, &cs);
    pattn__f8_store(out, pattn__f8_mul(rad, cs));
    pattn__f8_store(out + 8, pattn__f8_mul(rad, sn));
}

PATTN_DEF void pattn_rng8_normal_f32(pattn_rng8 *r, float *out, int n)
{
    pattn__i8 s[4];
    float tmp[16];
    int i, w;
    if (!r || !out || n <= 0) return;
    for (w = 0; w < 4; ++w) s[w] = pattn__i8_load(r->s[w]);
    for (i = 0; i + 16 <= n; i += 16) pattn__rng8_normal16(s, out + i);
    if (i < n) {
        pattn__rng8_normal16(s, tmp);
        memcpy(out + i, tmp, (size_t)(n - i) * sizeof(float));
    }
    for (w = 0; w < 4; ++w) pattn__i8_store(r->s[w], s[w]);
}

PATTN_DEF void pattn_rng8_uniform_f32(pattn_rng8 *r, float *out, int n)
{
    pattn__i8 s[4];
    int i, w;
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

PATTN_DEF float pattn_dot_f32(const float *x, const float *y, int n)
{
    if (!x || !y || n < 0) return NAN;
    return pattn__dot(x, y, n);
}
PATTN_DEF void pattn_axpy_f32(int n, float a, const float *x, float *y)
{
    if (x && y && n > 0) pattn__axpy(n, a, x, y);
}
PATTN_DEF void pattn_scale_f32(int n, float a, float *x)
{
    if (x && n > 0) pattn__scale(n, a, x);
}

PATTN_DEF float pattn_expf(float x) { return pattn__f8_first(pattn__f8_exp(pattn__f8_set1(x))); }

PATTN_DEF void pattn_exp_f32(const float *x, float *y, int n)
{
    int i = 0;
    if (!x || !y || n <= 0) return;
    for (; i + 8 <= n; i += 8) pattn__f8_store(y + i, pattn__f8_exp(pattn__f8_load(x + i)));
    if (i < n) pattn__f8_store_part(y + i, n - i, pattn__f8_exp(pattn__f8_load_part(x + i, n - i, 0.0f)));
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
    for (i = 0; i + 16 <= n; i += 16) {                                                  \
        t = EXP(pattn__f8_sub(pattn__f8_load(x + i), vm));                               \
        u = EXP(pattn__f8_sub(pattn__f8_load(x + i + 8), vm));                           \
        s0 = pattn__f8_add(s0, t);                                                       \
        s1 = pattn__f8_add(s1, u);                                                       \
        pattn__f8_store(e + i, t);                                                       \
        pattn__f8_store(e + i + 8, u);                                                   \
    }                                                                                    \
    if (i + 8 <= n) {                                                                    \
        t = EXP(pattn__f8_sub(pattn__f8_load(x + i), vm));                               \
        s0 = pattn__f8_add(s0, t);                                                       \
        pattn__f8_store(e + i, t);                                                       \
        i += 8;                                                                          \
    }

static void pattn__softmax_row(const float *x, float *y, int n, int stream)
{
    float buf[PATTN__SOFTMAX_STACK], *e = n <= PATTN__SOFTMAX_STACK ? buf : y, mx, mn, inv;
    pattn__f8 a0 = pattn__f8_set1(-INFINITY), a1 = a0, b0 = pattn__f8_set1(INFINITY), b1 = b0;
    pattn__f8 vm, s0 = pattn__f8_zero(), s1 = s0, t, u;
    int i;
    for (i = 0; i + 16 <= n; i += 16) {
        t = pattn__f8_load(x + i);
        u = pattn__f8_load(x + i + 8);
        a0 = pattn__f8_max(t, a0);
        a1 = pattn__f8_max(u, a1);
        b0 = pattn__f8_min(t, b0);
        b1 = pattn__f8_min(u, b1);
    }
    if (i + 8 <= n) {
        t = pattn__f8_load(x + i);
        a0 = pattn__f8_max(t, a0);
        b0 = pattn__f8_min(t, b0);
        i += 8;
    }
    if (i < n) {
        a1 = pattn__f8_max(pattn__f8_load_part(x + i, n - i, -INFINITY), a1);
        b1 = pattn__f8_min(pattn__f8_load_part(x + i, n - i, INFINITY), b1);
    }
    mx = pattn__f8_hmax(pattn__f8_max(a0, a1));
    mn = -pattn__f8_hmax(pattn__f8_neg(pattn__f8_min(b0, b1)));
    /* the max skips NaN lanes; a NaN input surfaces as a NaN sum below */
    if (!pattn__finite((double)mx)) {
        for (i = 0; i < n; ++i) y[i] = NAN;
        return;
    }
    vm = pattn__f8_set1(mx);
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
    inv = 1.0f / pattn__f8_hsum(pattn__f8_add(s0, s1));
    if (inv != inv) { /* a NaN among the inputs */
        for (i = 0; i < n; ++i) y[i] = NAN;
        return;
    }
    vm = pattn__f8_set1(inv);
    if (stream) {
        for (i = 0; i + 8 <= n; i += 8) pattn__f8_store_stream(y + i, pattn__f8_mul(vm, pattn__f8_load(e + i)));
    } else {
        for (i = 0; i + 16 <= n; i += 16) {
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

/* softmax of one row held in cache (no streaming stores); y may alias x */
PATTN__INLINE void pattn__softmax(const float *x, float *y, int n) { pattn__softmax_row(x, y, n, 0); }

PATTN_DEF void pattn_softmax_f32(const float *x, float *y, int n)
{
    if (!x || !y || n <= 0) return;
    pattn__softmax(x, y, n);
}

PATTN_DEF void pattn_softmax_rows_f32(const float *x, float *y, int rows, int n)
{
    long r;
    int stream;
    if (!x || !y || rows <= 0 || n <= 0) return;
    /* outputs far larger than the caches go around them, when every row stays aligned */
    stream = (double)rows * n * sizeof(float) > 16e6 && n % 8 == 0 && ((uintptr_t)y & 31) == 0 && x != y;
    PATTN__OMP_FOR
    for (r = 0; r < (long)rows; ++r)
        pattn__softmax_row(x + (size_t)r * (size_t)n, y + (size_t)r * (size_t)n, n, stream);
    if (stream) pattn__stream_fence();
}

PATTN_DEF void pattn_matvec_f32(const float *X, int T, int d, const float *p, float *s)
{
    int t;
    if (!X || !p || !s || T <= 0 || d <= 0) return;
    for (t = 0; t < T; ++t) s[t] = pattn__dot(X + (size_t)t * (size_t)d, p, d);
}

PATTN_DEF void pattn_matvec_t_f32(const float *X, int T, int d, const float *a, float *h)
{
    int t;
    if (!X || !a || !h || T <= 0 || d <= 0) return;
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

/* the stack accumulator for e^(s-max) x when the caller does not want h */
#define PATTN__PA_STACK 1024

PATTN_DEF float pattn_pa_forward_backward_f32(const float *X, int T, int d, const float *p,
                                              const float *v, float *h, float *grad_p)
{
    float Hbuf[PATTN__PA_STACK];
    float *H, mx = -INFINITY, Z = 0.0f, F = 0.0f, s, u, e, f, invZ;
    int t;
    if (!X || !p || !v || T < 1 || d < 1) return NAN;
    if (!pattn__all_finite_f32(p, d) || !pattn__all_finite_f32(v, d)) return NAN;
    if (!h && !grad_p) { /* f alone: scalars only */
        for (t = 0; t < T; ++t) {
            pattn__dot2(X + (size_t)t * (size_t)d, p, v, d, &s, &u);
            if (s > mx) { e = pattn_expf(mx - s); Z *= e; F *= e; mx = s; }
            e = pattn_expf(s - mx);
            Z += e;
            F = fmaf(e, u, F);
        }
        return F / Z;
    }
    if (!h && d > PATTN__PA_STACK) {
        /* no room for H: get f first, then accumulate grad_p with the final weights */
        f = pattn_pa_forward_backward_f32(X, T, d, p, v, NULL, NULL);
        for (t = 0; t < T; ++t) {
            pattn__dot2(X + (size_t)t * (size_t)d, p, v, d, &s, &u);
            if (s > mx) mx = s;
        }
        for (t = 0; t < T; ++t) {
            pattn__dot2(X + (size_t)t * (size_t)d, p, v, d, &s, &u);
            Z += pattn_expf(s - mx);
        }
        memset(grad_p, 0, (size_t)d * sizeof(float));
        for (t = 0; t < T; ++t) {
            pattn__dot2(X + (size_t)t * (size_t)d, p, v, d, &s, &u);
            pattn__axpy(d, pattn_expf(s - mx) / Z * (u - f), X + (size_t)t * (size_t)d, grad_p);
        }
        return f;
    }
    H = h ? h : Hbuf;
    memset(H, 0, (size_t)d * sizeof(float));
    if (grad_p) memset(grad_p, 0, (size_t)d * sizeof(float));
    for (t = 0; t < T; ++t) {
        const float *x = X + (size_t)t * (size_t)d;
        pattn__dot2(x, p, v, d, &s, &u);
        if (s > mx) { /* the maximum moved: rescale what was summed under the old one */
            e = pattn_expf(mx - s);
            Z *= e;
            F *= e;
            if (t > 0) {
                pattn__scale(d, e, H);
                if (grad_p) pattn__scale(d, e, grad_p);
            }
            mx = s;
        }
        e = pattn_expf(s - mx);
        Z += e;
        F = fmaf(e, u, F);
        pattn__acc2(x, d, e, e * u, H, grad_p);
    }
    invZ = 1.0f / Z;
    f = F * invZ;
    /* grad_p = (G - f H)/Z, since u-bar = a'u = f */
    if (grad_p) {
        pattn__axpy(d, -f, H, grad_p);
        pattn__scale(d, invZ, grad_p);
    }
    if (h) pattn__scale(d, invZ, h);
    return f;
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
    if (!A || n < 1) return PATTN_EINVAL;
    if (!pattn__all_finite_f64(A, (size_t)n * (size_t)n)) return PATTN_EINVAL;
    if (!pattn__is_symmetric(A, n)) return PATTN_ENUM;
    L = (double *)PATTN_MALLOC((size_t)n * (size_t)n * sizeof(double));
    if (!L) return PATTN_ENOMEM;
    memset(L, 0, (size_t)n * (size_t)n * sizeof(double));
    for (j = 0; j < n; ++j) {
        double dj = A[j * n + j];
        for (k = 0; k < j; ++k) dj -= L[j * n + k] * L[j * n + k];
        /* relative floor: a pivot that is rounding noise means "not definite" */
        if (!(dj > 1e-14 * fabs(A[j * n + j])) || !(dj > 0.0)) { PATTN_FREE(L); return PATTN_ENUM; }
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
    if (!L || !B || n < 1 || nrhs < 1) return PATTN_EINVAL;
    for (i = 0; i < n; ++i)
        if (!(L[i * n + i] > 0.0)) return PATTN_EINVAL;
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
    int i, j, k, p, q, sweep;
    pattn_status st = PATTN_ENUM;
    if (!A || !w || n < 1) return PATTN_EINVAL;
    if (!pattn__all_finite_f64(A, (size_t)n * (size_t)n)) return PATTN_EINVAL;
    if (!pattn__is_symmetric(A, n)) return PATTN_ENUM;
    a = (double *)PATTN_MALLOC(2 * (size_t)n * (size_t)n * sizeof(double));
    if (!a) return PATTN_ENOMEM;
    v = a + (size_t)n * n;
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
            a[i * n + j] = 0.5 * (A[i * n + j] + A[j * n + i]);
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
        for (i = 0; i < n; ++i) w[i] = a[i * n + i];
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
    }
    PATTN_FREE(a);
    return st;
}

#include "parts/p1_models.impl.h" /* DEV-PART */
#include "parts/icl_models.impl.h" /* DEV-PART */
#include "parts/p1_theory.impl.h" /* DEV-PART */
#include "parts/icl_theory.impl.h" /* DEV-PART */

#ifdef __cplusplus
}
#endif
#endif /* PATTN__IMPLEMENTED */
#endif /* PATTN_IMPLEMENTATION */

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
