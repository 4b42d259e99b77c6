/* Foundation: status, RNG, normal sampler, SIMD primitives, softmax, the prompt-attention
   kernel and the dense linear algebra. References are computed here in double. */
#include "prompt_attn.h"
#include "harness.h"
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------ */

static float *fbuf(size_t n) { return (float *)calloc(n ? n : 1, sizeof(float)); }
static double *dbuf(size_t n) { return (double *)calloc(n ? n : 1, sizeof(double)); }

static void fill_normal(pattn_rng *r, float *x, int n, float scale)
{
    int i;
    pattn_rng_normal_f32(r, x, n);
    for (i = 0; i < n; ++i) x[i] *= scale;
}

static int all_equal_f32(const float *a, float v, int n)
{
    int i;
    for (i = 0; i < n; ++i)
        if (memcmp(&a[i], &v, sizeof v)) return 0;
    return 1;
}

/* distance in units in the last place of the float nearest to ref */
static double ulp_err(float got, double ref)
{
    float rf = (float)ref;
    double ulp = (double)nextafterf(fabsf(rf), INFINITY) - (double)fabsf(rf);
    return fabs((double)got - ref) / ulp;
}

/* r is a*b + c correctly rounded to float (ties to even), checked with exact arithmetic
   (the product is exact in double; TwoSum gives the sum as s + e) rather than against the
   C library's fmaf, which some platforms round twice */
static int fma_ok(float r, float a, float b, float c)
{
    double p = (double)a * (double)b, s = p + (double)c, t = s - p, e = (p - (s - t)) + ((double)c - t);
    double dl, dr, dh, ml, mh;
    float lo, hi;
    uint32_t u;
    if (!isfinite(s)) return (isnan(s) && isnan(r)) || (double)r == s;
    if (isinf(r)) { /* overflow: the exact sum reaches the midpoint past FLT_MAX (a tie goes up, FLT_MAX being odd) */
        double mid = 0x1.ffffffp127;
        return (r > 0) == (s > 0) && (fabs(s) > mid || (fabs(s) == mid && (e == 0.0 || (e > 0) == (s > 0))));
    }
    lo = nextafterf(r, -INFINITY);
    hi = nextafterf(r, INFINITY);
    /* offsets from s of r and its neighbours (exact: nearby doubles; past FLT_MAX the
       neighbour is 2^128), then the exact sum s + e must lie between the midpoints */
    dl = (isinf(lo) ? -0x1p128 : (double)lo) - s;
    dr = (double)r - s;
    dh = (isinf(hi) ? 0x1p128 : (double)hi) - s;
    ml = 0.5 * (dl + dr);
    mh = 0.5 * (dr + dh);
    if (e < ml || e > mh) return 0;
    memcpy(&u, &r, sizeof u);
    return (e != ml && e != mh) || !(u & 1); /* a tie goes to the even neighbour */
}

/* the CPU's features, asked independently of the library */
static int cpu_has(int avx512)
{
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(__TINYC__)
    __builtin_cpu_init();
    if (!avx512) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
#else
    (void)avx512;
    return 0;
#endif
}

/* 1 when this build should run the AVX2 path: compiled for it (-mavx2 -mfma), or compiled
   with run-time dispatch (x86-64, gcc or clang) on a CPU that has AVX2 and FMA */
static int defined_avx2(void)
{
#if defined(PATTN_NO_SIMD) || defined(PATTN__TEST_SCALAR_PATH)
    return 0;
#elif defined(__AVX2__) && defined(__FMA__)
    return 1;
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(__TINYC__)
    return cpu_has(0);
#else
    return 0;
#endif
}

/* ---- status and build --------------------------------------------------------------------- */

static void test_status(void)
{
    int k512 = 0;
    const char *expect;
    (void)cpu_has; /* unused in some builds */
#if !defined(PATTN_NO_AVX512)
    k512 = defined_avx2() && cpu_has(1);
#endif
#if defined(__aarch64__) && defined(__ARM_NEON) && !defined(PATTN_NO_SIMD)
    expect = "neon";
    (void)k512;
#else
    expect = defined_avx2() ? (k512 ? "avx2+avx512" : "avx2") : "scalar";
#endif
    PT_CHECKF(!strcmp(pattn_simd_path(), expect), "simd path %s, expected %s", pattn_simd_path(), expect);
    PT_CHECK(strcmp(pattn_status_str(PATTN_OK), pattn_status_str(PATTN_EINVAL)) &&
             strcmp(pattn_status_str(PATTN_EINVAL), pattn_status_str(PATTN_ENOMEM)) &&
             strcmp(pattn_status_str(PATTN_ENOMEM), pattn_status_str(PATTN_ENUM)),
             "status messages are distinct");
    PT_CHECK(!strcmp(pattn_status_str((pattn_status)42), "unknown status"), "unknown status message");
    PT_CHECK(!strcmp(pattn_version(), PATTN_VERSION_STRING), "version string");
}

/* ---- RNG ---------------------------------------------------------------------------------- */

/* reference splitmix64 and xoshiro256**, written from their published definitions */
static uint64_t ref_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_rng(void)
{
    pattn_rng r, r2;
    uint64_t st = 0, a[4], *u, *w;
    int i, n = 100000, common = 0;
    double m1 = 0, m2 = 0, c12 = 0;
    size_t ia, ib;

    /* published vectors: splitmix64(0) and xoshiro256** from state {1,2,3,4} */
    PT_CHECK(ref_splitmix(&st) == 0xe220a8397b1dcdafULL, "splitmix64 first output from 0");
    r.s[0] = 1; r.s[1] = 2; r.s[2] = 3; r.s[3] = 4;
    a[0] = pattn_rng_u64(&r); a[1] = pattn_rng_u64(&r); a[2] = pattn_rng_u64(&r); a[3] = pattn_rng_u64(&r);
    PT_CHECK(a[0] == 11520ULL && a[1] == 0ULL && a[2] == 1509978240ULL && a[3] == 1215971899390074240ULL,
             "xoshiro256** reference outputs from {1,2,3,4}");

    /* the contract's seeding: four successive splitmix64 outputs from state = seed */
    pattn_rng_seed(&r, 12345);
    st = 12345;
    PT_CHECK(r.s[0] == ref_splitmix(&st) && r.s[1] == ref_splitmix(&st) && r.s[2] == ref_splitmix(&st) &&
             r.s[3] == ref_splitmix(&st), "seed = four splitmix64 outputs");
    pattn_rng_seed(&r2, 12345);
    for (i = 0; i < 1000; ++i)
        if (pattn_rng_u64(&r) != pattn_rng_u64(&r2)) break;
    PT_CHECK(i == 1000, "same seed, same sequence");

    /* jump: the jumped stream shares no output with the base stream over 1e5 draws, and
       the two are uncorrelated */
    u = (uint64_t *)malloc(sizeof(uint64_t) * (size_t)n);
    w = (uint64_t *)malloc(sizeof(uint64_t) * (size_t)n);
    pattn_rng_seed(&r, 99);
    r2 = r;
    pattn_rng_jump(&r2);
    PT_CHECK(memcmp(&r, &r2, sizeof r), "jump changes the state");
    for (i = 0; i < n; ++i) {
        double x, y;
        u[i] = pattn_rng_u64(&r);
        w[i] = pattn_rng_u64(&r2);
        x = (double)(u[i] >> 11) / 9007199254740992.0 - 0.5;
        y = (double)(w[i] >> 11) / 9007199254740992.0 - 0.5;
        m1 += x; m2 += y; c12 += x * y;
    }
    c12 = c12 / n - (m1 / n) * (m2 / n);
    PT_CHECKF(fabs(c12 / (1.0 / 12.0)) < 4.0 / sqrt((double)n), "jumped stream correlation %g", c12 * 12);
    qsort(u, (size_t)n, sizeof *u, cmp_u64);
    qsort(w, (size_t)n, sizeof *w, cmp_u64);
    for (ia = 0, ib = 0; ia < (size_t)n && ib < (size_t)n;) {
        if (u[ia] == w[ib]) { ++common; ++ia; ++ib; }
        else if (u[ia] < w[ib]) ++ia;
        else ++ib;
    }
    PT_CHECK(common == 0, "jumped stream does not overlap the base stream");
    /* streams: distinct seeds, reproducible */
    pattn_rng_stream(&r, 5, 0);
    pattn_rng_stream(&r2, 5, 1);
    PT_CHECK(memcmp(&r, &r2, sizeof r), "stream 0 and 1 differ");
    pattn_rng_stream(&r2, 5, 0);
    PT_CHECK(!memcmp(&r, &r2, sizeof r), "stream is a function of (seed, index)");
    free(u);
    free(w);

    /* uniforms: ranges and means; below(): chi-square over 7 bins */
    {
        double sf = 0, sd = 0, chi = 0;
        float minf = 1, maxf = 0;
        long cnt[7] = {0, 0, 0, 0, 0, 0, 0};
        int bad = 0;
        pattn_rng_seed(&r, 3);
        for (i = 0; i < n; ++i) {
            float f = pattn_rng_uniform_f32(&r);
            double d = pattn_rng_uniform_f64(&r);
            uint64_t k = pattn_rng_below(&r, 7);
            if (!(f >= 0.0f && f < 1.0f) || !(d >= 0.0 && d < 1.0) || k >= 7) ++bad;
            else ++cnt[k];
            sf += f; sd += d;
            minf = f < minf ? f : minf; maxf = f > maxf ? f : maxf;
        }
        for (i = 0; i < 7; ++i) chi += (cnt[i] - n / 7.0) * (cnt[i] - n / 7.0) / (n / 7.0);
        PT_CHECK(bad == 0, "uniform_f32/_f64 in [0,1), below(7) in [0,7)");
        PT_NEAR(sf / n, 0.5, 0, 4 * sqrt(1.0 / 12 / n));
        PT_NEAR(sd / n, 0.5, 0, 4 * sqrt(1.0 / 12 / n));
        PT_CHECKF(chi < 22.46, "below(7) chi-square %g (6 dof, p = 0.001)", chi); /* 22.46 = 99.9% */
        PT_CHECK(pattn_rng_below(&r, 0) == 0 && pattn_rng_below(&r, 1) == 0, "below(0), below(1)");
    }
}

/* Kolmogorov-Smirnov statistic of x (sorted in place) against N(0,1) */
static int cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}
static double ks_normal(float *x, int n)
{
    int i;
    double D = 0;
    qsort(x, (size_t)n, sizeof *x, cmp_f);
    for (i = 0; i < n; ++i) {
        double F = 0.5 * erfc(-(double)x[i] / sqrt(2.0));
        double d1 = fabs(F - (double)i / n), d2 = fabs((double)(i + 1) / n - F);
        if (d1 > D) D = d1;
        if (d2 > D) D = d2;
    }
    return D;
}

static void test_normals(void)
{
    const int n = 1000000;
    float *z = fbuf((size_t)n), *z2 = fbuf(40), sentinel = -7.0f;
    pattn_rng r;
    double m = 0, v = 0, s3 = 0, k4 = 0, D;
    int i, bad = 0;
    pattn_rng_seed(&r, 2024);
    pattn_rng_normal_f32(&r, z, n);
    pt_dump("normal_f32 first 4096", z, 4096 * sizeof(float));
    for (i = 0; i < n; ++i) {
        double x = z[i];
        if (!(x == x) || fabs(x) > 6.0) ++bad;
        m += x;
    }
    m /= n;
    for (i = 0; i < n; ++i) {
        double x = z[i] - m;
        v += x * x; s3 += x * x * x; k4 += x * x * x * x;
    }
    v /= n; s3 /= n * pow(v, 1.5); k4 /= n * v * v;
    PT_CHECK(bad == 0, "normals finite and within the Box-Muller range");
    /* standard errors for N(0,1): mean 1/sqrt(n), variance sqrt(2/n), skew sqrt(6/n), kurt sqrt(24/n) */
    PT_NEAR(m, 0.0, 0, 4 / sqrt((double)n));
    PT_NEAR(v, 1.0, 0, 4 * sqrt(2.0 / n));
    PT_NEAR(s3, 0.0, 0, 4 * sqrt(6.0 / n));
    PT_NEAR(k4, 3.0, 0, 4 * sqrt(24.0 / n));
    D = ks_normal(z, n);
    /* 1.95/sqrt(n) is the 0.1% critical value of the KS statistic */
    PT_CHECKF(D < 1.95 / sqrt((double)n), "KS statistic %g on 1e6 normals", D);
    pt_info("normal_f32: mean %.2e, var %.5f, skew %.1e, kurt %.4f, KS D = %.2e (crit 0.1%%: %.2e)", m, v, s3, k4, D,
            1.95 / sqrt((double)n));

    /* prefix stability: n = 5 is the head of the n = 16 block from the same state */
    pattn_rng_seed(&r, 1);
    pattn_rng_normal_f32(&r, z, 16);
    pattn_rng_seed(&r, 1);
    pattn_rng_normal_f32(&r, z2, 5);
    PT_CHECK(!memcmp(z, z2, 5 * sizeof(float)), "normal_f32 prefix stable");
    /* invalid: nothing written */
    for (i = 0; i < 40; ++i) z2[i] = sentinel;
    pattn_rng_normal_f32(&r, z2, 0);
    pattn_rng_normal_f32(&r, z2, -3);
    pattn_rng_normal_f32(NULL, z2, 8);
    PT_CHECK(all_equal_f32(z2, sentinel, 40), "normal_f32 with n <= 0 or NULL rng writes nothing");

    /* the double sampler */
    {
        double s1 = 0, s2 = 0;
        pattn_rng_seed(&r, 77);
        for (i = 0; i < 200000; ++i) {
            double x = pattn_rng_normal_f64(&r);
            s1 += x; s2 += x * x;
        }
        PT_NEAR(s1 / 200000, 0.0, 0, 4 / sqrt(200000.0));
        PT_NEAR(s2 / 200000, 1.0, 0, 4 * sqrt(2.0 / 200000));
    }
    free(z);
    free(z2);
}


/* the eight-lane generator: every lane is a reference xoshiro128** */
static uint32_t ref_rotl32(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
static uint32_t ref_xoshiro128ss(uint32_t *s)
{
    uint32_t out = ref_rotl32(s[1] * 5, 7) * 9, t = s[1] << 9;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = ref_rotl32(s[3], 11);
    return out;
}

static void test_rng8(void)
{
    pattn_rng8 r, r0, r2;
    uint32_t st[8][4], ref1 = 0;
    float u[64], z[64], *big;
    int j, k, ok = 1, n = 1000000, i, bad = 0;
    double m = 0, v = 0, D;
    uint32_t s4[4] = {1, 2, 3, 4};
    ref1 = ref_xoshiro128ss(s4);
    PT_CHECK(ref1 == 11520u, "xoshiro128** reference first output from {1,2,3,4}");
    pattn_rng8_seed(&r, 7, 3);
    r0 = r;
    for (j = 0; j < 8; ++j)
        for (k = 0; k < 4; ++k) st[j][k] = r.s[k][j];
    pattn_rng8_uniform_f32(&r, u, 64);
    for (k = 0; k < 8; ++k)
        for (j = 0; j < 8; ++j)
            ok &= u[k * 8 + j] == (float)(ref_xoshiro128ss(st[j]) >> 8) * (1.0f / 16777216.0f);
    PT_CHECK(ok, "rng8 lanes are independent xoshiro128** generators");
    pattn_rng8_seed(&r2, 7, 4);
    PT_CHECK(memcmp(&r0, &r2, sizeof r0), "rng8 streams differ");
    for (j = 1, ok = 1; j < 8; ++j) ok &= memcmp(st[0], st[j], sizeof st[0]) != 0;
    PT_CHECK(ok, "rng8 lanes start in distinct states");
    /* normal statistics and prefix stability */
    big = fbuf((size_t)n);
    pattn_rng8_seed(&r, 2025, 0);
    pattn_rng8_normal_f32(&r, big, n);
    pt_dump("rng8 normals", big, 4096 * sizeof(float));
    for (i = 0; i < n; ++i) {
        if (!(big[i] == big[i]) || fabsf(big[i]) > 6.0f) ++bad;
        m += big[i];
        v += (double)big[i] * big[i];
    }
    m /= n;
    v = v / n - m * m;
    PT_CHECK(bad == 0, "rng8 normals finite and in range");
    PT_NEAR(m, 0.0, 0, 4 / sqrt((double)n));
    PT_NEAR(v, 1.0, 0, 4 * sqrt(2.0 / n));
    D = ks_normal(big, n);
    PT_CHECKF(D < 1.95 / sqrt((double)n), "rng8 KS statistic %g on 1e6 normals", D);
    pt_info("rng8 normals: mean %.2e, var %.5f, KS D = %.2e", m, v, D);
    pattn_rng8_seed(&r, 1, 1);
    pattn_rng8_normal_f32(&r, z, 32);
    pattn_rng8_seed(&r, 1, 1);
    pattn_rng8_normal_f32(&r, u, 21);
    PT_CHECK(!memcmp(z, u, 21 * sizeof(float)), "rng8 normal prefix stable");
    for (i = 0; i < 64; ++i) u[i] = 4.0f;
    pattn_rng8_normal_f32(&r, u, 0);
    pattn_rng8_normal_f32(NULL, u, 8);
    pattn_rng8_uniform_f32(&r, u, -1);
    PT_CHECK(all_equal_f32(u, 4.0f, 64), "rng8 fills with bad input write nothing");
    free(big);
}

/* ---- exp, dot, axpy, scale, matvec -------------------------------------------------------- */

static void test_exp(void)
{
    const int n = 1 << 22;
    float *x = fbuf((size_t)n), *y = fbuf((size_t)n);
    double worst = 0, worst_x = 0;
    int i;
    for (i = 0; i < n; ++i) x[i] = -87.0f + 175.0f * (float)i / (float)n;
    pattn_exp_f32(x, y, n);
    for (i = 0; i < n; ++i) {
        double e = ulp_err(y[i], exp((double)x[i]));
        if (e > worst) { worst = e; worst_x = x[i]; }
    }
    pt_info("exp: max error %.3f ulp over %d points of [-87, 88] (worst at x = %.6g)", worst, n, worst_x);
    PT_CHECKF(worst <= 1.5, "exp max error %.3f ulp <= 1.5", worst);
    pt_dump("exp grid", y, 65536 * sizeof(float));
    /* scalar entry point agrees with the vector one lane for lane */
    for (i = 0; i < 1000; ++i)
        if (pattn_expf(x[i * 4001]) != y[i * 4001]) break;
    PT_CHECK(i == 1000, "pattn_expf equals pattn_exp_f32");
    /* the subnormal range: within one subnormal spacing plus the polynomial's relative error */
    {
        double wsub = 0;
        for (i = 0; i < 100000; ++i) {
            float xs = -103.9f + 16.5f * (float)i / 100000.0f;
            double ref = exp((double)xs), e = fabs(pattn_expf(xs) - ref) / (2e-7 * ref + 0x1p-149);
            if (e > wsub) wsub = e;
        }
        PT_CHECKF(wsub <= 1.0, "exp in [-103.9, -87.4] within 2e-7 relative or 2^-149 (%.3f)", wsub);
    }
    PT_CHECK(pattn_expf(0.0f) == 1.0f, "exp(0) = 1");
    PT_CHECK(pattn_expf(-105.0f) == 0.0f && pattn_expf(-INFINITY) == 0.0f, "exp underflows to 0");
    PT_CHECK(isnan(pattn_expf(NAN)), "exp(NaN) is NaN");
    PT_CHECK(pattn_expf(88.0f) > 1.6e38f && isfinite(pattn_expf(1000.0f)), "exp clamps large inputs");
    free(x);
    free(y);
}

static void test_blas1(void)
{
    pattn_rng r;
    float x[67], y[67], y0[67], sentinel = 3.5f;
    int n, i, bad_dot = 0, bad_axpy = 0, bad_scale = 0;
    pattn_rng_seed(&r, 11);
    for (n = 0; n <= 67; ++n) {
        double ref = 0, mag = 0;
        float got;
        fill_normal(&r, x, 67, 1.0f);
        fill_normal(&r, y, 67, 1.0f);
        for (i = 0; i < n; ++i) { ref += (double)x[i] * y[i]; mag += fabs((double)x[i] * y[i]); }
        got = pattn_dot_f32(x, y, n);
        if (fabs(got - ref) > 1e-6 * mag + 1e-30) ++bad_dot;
        memcpy(y0, y, sizeof y);
        pattn_axpy_f32(n, 0.37f, x, y);
        for (i = 0; i < 67; ++i) {
            if (i < n ? !fma_ok(y[i], 0.37f, x[i], y0[i]) : y[i] != y0[i]) ++bad_axpy;
        }
        memcpy(y0, y, sizeof y);
        pattn_scale_f32(n, -1.25f, y);
        for (i = 0; i < 67; ++i)
            if (y[i] != (i < n ? -1.25f * y0[i] : y0[i])) ++bad_scale;
    }
    PT_CHECK(bad_dot == 0, "dot within 1e-6 of the summands' magnitude, n = 0..67");
    PT_CHECK(bad_axpy == 0, "axpy exact (one fma per element), no write past n");
    { /* fma on the hard cases: products whose low bits make a sum land on (or next to) a
         halfway point between floats, subnormal and near-overflow results, cancellation */
        static const float as[] = {1.0f + 0x1p-23f, 1.0f + 0x1p-12f, 0x1p-75f, 3.0f, 0x1.fffffep127f, 1.0f - 0x1p-24f, -1.5f};
        static const float bs[] = {1.0f + 0x1p-23f, 1.0f - 0x1p-12f, 0x1p-75f, 0x1.555556p-2f, 0.5f, 1.0f + 0x1p-23f, 0x1p-100f};
        static const float cs[] = {-1.0f, -1.0f, 0x1p-149f, -1.0f, 0x1.fffffep127f, 0x1p-24f, 0x1p-126f};
        float xa[1], ya[1];
        int ia, ib, ic, bad = 0;
        for (ia = 0; ia < 7; ++ia)
            for (ib = 0; ib < 7; ++ib)
                for (ic = 0; ic < 7; ++ic) {
                    float sgn = (ia + ib + ic) % 2 ? -1.0f : 1.0f;
                    xa[0] = bs[ib];
                    ya[0] = sgn * cs[ic];
                    pattn_axpy_f32(1, as[ia], xa, ya);
                    if (!fma_ok(ya[0], as[ia], bs[ib], sgn * cs[ic])) ++bad;
                }
        PT_CHECKF(bad == 0, "axpy's fma correctly rounded on 343 hard cases (%d wrong)", bad);
    }
    PT_CHECK(bad_scale == 0, "scale exact, no write past n");
    PT_CHECK(isnan(pattn_dot_f32(NULL, y, 3)) && isnan(pattn_dot_f32(x, y, -1)), "dot rejects NULL and n < 0");
    for (i = 0; i < 67; ++i) y[i] = sentinel;
    pattn_axpy_f32(-2, 1.0f, x, y);
    pattn_axpy_f32(5, 1.0f, NULL, y);
    pattn_scale_f32(-1, 2.0f, y);
    PT_CHECK(all_equal_f32(y, sentinel, 67), "axpy/scale with bad input write nothing");
}

static void test_matvec(void)
{
    pattn_rng r;
    int T = 13, d = 21, t, j, bad = 0;
    float X[13 * 21], p[21], s[13], a[13], h[21], sent[21];
    pattn_rng_seed(&r, 5);
    fill_normal(&r, X, T * d, 1.0f);
    fill_normal(&r, p, d, 1.0f);
    fill_normal(&r, a, T, 1.0f);
    pattn_matvec_f32(X, T, d, p, s);
    pattn_matvec_t_f32(X, T, d, a, h);
    for (t = 0; t < T; ++t) {
        double ref = 0, mag = 0;
        for (j = 0; j < d; ++j) { ref += (double)X[t * d + j] * p[j]; mag += fabs((double)X[t * d + j] * p[j]); }
        if (fabs(s[t] - ref) > 1e-6 * mag) ++bad;
    }
    for (j = 0; j < d; ++j) {
        double ref = 0, mag = 0;
        for (t = 0; t < T; ++t) { ref += (double)X[t * d + j] * a[t]; mag += fabs((double)X[t * d + j] * a[t]); }
        if (fabs(h[j] - ref) > 1e-6 * mag) ++bad;
    }
    PT_CHECK(bad == 0, "X p and X'a against double references");
    pt_dump("matvec", s, sizeof s);
    pt_dump("matvec_t", h, sizeof h);
    for (j = 0; j < d; ++j) sent[j] = h[j] = 9.0f;
    pattn_matvec_t_f32(X, 0, d, a, h);
    pattn_matvec_t_f32(NULL, T, d, a, h);
    pattn_matvec_f32(X, T, -1, p, h);
    PT_CHECK(!memcmp(h, sent, sizeof h), "matvec with bad input writes nothing");
}

/* ---- softmax ------------------------------------------------------------------------------ */

/* max over i of |y - ref| / (1e-5 ref + 2^-149): below 1 means relative error under 1e-5, or
   an error under the spacing of subnormal floats, which no float result can beat */
static double softmax_err(const float *x, const float *y, int n, double *sum_err, int *in01)
{
    double mx = -INFINITY, z = 0, worst = 0, sum = 0;
    int i;
    for (i = 0; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
    for (i = 0; i < n; ++i) z += exp((double)x[i] - mx);
    *in01 = 1;
    for (i = 0; i < n; ++i) {
        double ref = exp((double)x[i] - mx) / z, e = fabs(y[i] - ref) / (ref + 1e5 * 0x1p-149);
        if (e > worst) worst = e;
        if (!(y[i] >= 0.0f && y[i] <= 1.0f)) *in01 = 0;
        sum += y[i];
    }
    *sum_err = fabs(sum - 1.0);
    return worst;
}

static void test_softmax(void)
{
    enum { N = 300 };
    pattn_rng r;
    float x[N], y[N], sent[N];
    double worst = 0, worst_sum = 0;
    int kind, n, i, rep, all01 = 1;
    static const int sizes[] = {1, 2, 7, 8, 9, 16, 31, 64, 100, 257, 300};
    pattn_rng_seed(&r, 8);
    for (kind = 0; kind < 7; ++kind)
        for (rep = 0; rep < 11; ++rep) {
            double se, e;
            int in01;
            n = sizes[rep];
            fill_normal(&r, x, n, 1.0f);
            for (i = 0; i < n; ++i) {
                switch (kind) {
                case 0: break;                                         /* plain */
                case 1: x[i] *= 300.0f; break;                         /* spread ~1000 */
                case 2: x[i] = 88.0f + 0.5f * x[i]; break;             /* near the exp limit */
                case 3: x[i] = -150.0f + 0.5f * x[i]; break;           /* far below it */
                case 4: x[i] = (i == n / 2) ? 40.0f : x[i]; break;     /* near one-hot */
                case 5: x[i] = (i == n - 1) ? 1000.0f : -1000.0f * (float)(i % 3); break; /* spread 2000 */
                case 6: x[i] = 5.0f; break;                            /* constant */
                }
            }
            pattn_softmax_f32(x, y, n);
            e = softmax_err(x, y, n, &se, &in01);
            if (e > worst) worst = e;
            if (se > worst_sum) worst_sum = se;
            all01 &= in01;
            if (kind == 2 && n == 300) pt_dump("softmax near 88", y, sizeof(float) * (size_t)n);
        }
    pt_info("softmax: max relative error %.2e (subnormal floor 2^-149), max |sum - 1| %.2e", worst, worst_sum);
    PT_CHECKF(worst < 1e-5, "softmax relative error %g < 1e-5 (spreads of 1000, near 88, near -150, one-hot)", worst);
    PT_CHECKF(worst_sum < 1e-6, "softmax sums to 1 within 1e-6 (%g)", worst_sum);
    PT_CHECK(all01, "softmax outputs in [0, 1]");
    /* aliasing */
    fill_normal(&r, x, 50, 3.0f);
    pattn_softmax_f32(x, y, 50);
    pattn_softmax_f32(x, x, 50);
    PT_CHECK(!memcmp(x, y, 50 * sizeof(float)), "softmax in place equals out of place");
    /* rows */
    {
        float M[5 * 37], Y[5 * 37];
        fill_normal(&r, M, 5 * 37, 2.0f);
        pattn_softmax_rows_f32(M, Y, 5, 37);
        for (i = 0; i < 5; ++i) {
            pattn_softmax_f32(M + 37 * i, y, 37);
            if (memcmp(y, Y + 37 * i, 37 * sizeof(float))) break;
        }
        PT_CHECK(i == 5, "row-wise softmax equals per-row softmax");
        pt_dump("softmax rows", Y, sizeof Y);
    }
    /* a matrix big enough (> 16 MB, 32-byte aligned) for the non-temporal-store path */
    {
        int rows = 65600, cols = 64, bad = 0;
        size_t nel = (size_t)rows * cols;
        char *raw = (char *)malloc(nel * sizeof(float) + 32), *raw2 = (char *)malloc(nel * sizeof(float));
        float *Yb = (float *)(void *)(raw + (32 - ((uintptr_t)raw & 31))), *Mb = (float *)(void *)raw2;
        pattn_rng_normal_f32(&r, Mb, (int)nel);
        pattn_softmax_rows_f32(Mb, Yb, rows, cols);
        for (i = 0; i < rows; i += 97) {
            pattn_softmax_f32(Mb + (size_t)i * cols, y, cols);
            bad += memcmp(y, Yb + (size_t)i * cols, (size_t)cols * sizeof(float)) != 0;
        }
        PT_CHECK(bad == 0, "streaming row-wise softmax equals per-row softmax");
        free(raw);
        free(raw2);
    }
    /* non-finite maximum: NaN out; bad sizes: nothing written */
    x[0] = 1; x[1] = NAN; x[2] = 3;
    pattn_softmax_f32(x, y, 3);
    PT_CHECK(isnan(y[0]) && isnan(y[1]) && isnan(y[2]), "softmax with a NaN input gives NaN");
    x[0] = x[1] = x[2] = -INFINITY;
    pattn_softmax_f32(x, y, 3);
    PT_CHECK(isnan(y[0]), "softmax of all -inf gives NaN");
    x[0] = 1; x[1] = -INFINITY; x[2] = 0;
    pattn_softmax_f32(x, y, 3);
    PT_NEAR(y[0], 1.0 / (1.0 + exp(-1.0)), 1e-6, 0);
    PT_CHECK(y[1] == 0.0f, "a -inf logit gets weight 0");
    for (i = 0; i < N; ++i) sent[i] = y[i] = 2.0f;
    pattn_softmax_f32(x, y, 0);
    pattn_softmax_f32(NULL, y, 3);
    pattn_softmax_rows_f32(x, y, -1, 3);
    PT_CHECK(!memcmp(y, sent, sizeof y), "softmax with bad sizes writes nothing");
}

/* ---- the prompt-attention kernel ---------------------------------------------------------- */

/* double reference: f, h, grad_p and the magnitudes that bound float rounding */
static double pa_ref(const float *X, int T, int d, const double *p, const double *v, double *h, double *g,
                     double *fmag, double *hmag, double *gmag)
{
    double *s = dbuf((size_t)T), *u = dbuf((size_t)T), mx = -INFINITY, Z = 0, f = 0;
    int t, j;
    for (t = 0; t < T; ++t) {
        s[t] = u[t] = 0;
        for (j = 0; j < d; ++j) { s[t] += X[t * d + j] * p[j]; u[t] += X[t * d + j] * v[j]; }
        mx = s[t] > mx ? s[t] : mx;
    }
    for (t = 0; t < T; ++t) { s[t] = exp(s[t] - mx); Z += s[t]; }
    *fmag = 0;
    for (t = 0; t < T; ++t) { s[t] /= Z; f += s[t] * u[t]; *fmag += s[t] * fabs(u[t]); }
    for (j = 0; j < d; ++j) {
        h[j] = g[j] = hmag[j] = gmag[j] = 0;
        for (t = 0; t < T; ++t) {
            double x = X[t * d + j];
            h[j] += s[t] * x;
            g[j] += s[t] * (u[t] - f) * x;
            hmag[j] += s[t] * fabs(x);
            gmag[j] += s[t] * fabs((u[t] - f) * x) + s[t] * fabs(x) * *fmag;
        }
    }
    free(s);
    free(u);
    return f;
}

/* Error bound: 1e-4 relative to the size of the sums being formed (their condition), which is
   the relative error itself whenever no cancellation happens. */
static void check_pa(const float *X, int T, int d, const float *p, const float *v, const char *what, double *worst)
{
    double *pd = dbuf((size_t)d), *vd = dbuf((size_t)d), *hr = dbuf((size_t)d), *gr = dbuf((size_t)d);
    double *hm = dbuf((size_t)d), *gm = dbuf((size_t)d), fm, fr, e;
    float *h = fbuf((size_t)d), *g = fbuf((size_t)d), *g2 = fbuf((size_t)d), f, f0, f1;
    int j, ok = 1, same;
    for (j = 0; j < d; ++j) { pd[j] = p[j]; vd[j] = v[j]; }
    fr = pa_ref(X, T, d, pd, vd, hr, gr, &fm, hm, gm);
    f = pattn_pa_forward_backward_f32(X, T, d, p, v, h, g);
    e = fabs(f - fr) / fm;
    if (e > *worst) *worst = e;
    ok &= e < 1e-4;
    for (j = 0; j < d; ++j) {
        double eh = fabs(h[j] - hr[j]) / (hm[j] > 0 ? hm[j] : 1), eg = fabs(g[j] - gr[j]) / (gm[j] > 0 ? gm[j] : 1);
        if (eh > *worst) *worst = eh;
        if (eg > *worst) *worst = eg;
        ok &= eh < 1e-4 && eg < 1e-4;
    }
    PT_CHECKF(ok, "pa_forward_backward (%s, T=%d, d=%d) within 1e-4 of double reference", what, T, d);
    /* the f-only and grad-only paths agree with the full one */
    f0 = pattn_pa_forward_backward_f32(X, T, d, p, v, NULL, NULL);
    f1 = pattn_pa_forward_backward_f32(X, T, d, p, v, NULL, g2);
    same = fabs(f0 - f) <= 1e-6 * fm && fabs(f1 - f) <= 1e-6 * fm;
    for (j = 0; j < d; ++j) same &= fabs(g2[j] - g[j]) <= 1e-5 * (gm[j] > 0 ? gm[j] : 1);
    PT_CHECKF(same, "pa_forward_backward partial outputs agree (%s, d=%d)", what, d);
    free(pd); free(vd); free(hr); free(gr); free(hm); free(gm); free(h); free(g); free(g2);
}

static void test_pa_kernel(void)
{
    pattn_rng r;
    double worst = 0;
    static const int Ts[] = {1, 3, 8, 32, 77};
    static const int ds[] = {1, 7, 8, 64, 130, 1500};
    int it, jd, j;
    pattn_rng_seed(&r, 31);
    for (it = 0; it < 5; ++it)
        for (jd = 0; jd < 6; ++jd) {
            int T = Ts[it], d = ds[jd];
            float *X = fbuf((size_t)T * d), *p = fbuf((size_t)d), *v = fbuf((size_t)d);
            fill_normal(&r, X, T * d, 1.0f);
            fill_normal(&r, p, d, 1.0f / (float)sqrt((double)d));
            fill_normal(&r, v, d, 1.0f);
            check_pa(X, T, d, p, v, "random", &worst);
            /* sharp attention: scores spread over hundreds */
            for (j = 0; j < d; ++j) p[j] *= 60.0f;
            check_pa(X, T, d, p, v, "sharp", &worst);
            free(X); free(p); free(v);
        }
    pt_info("pa_forward_backward: max error %.2e relative to the sums' magnitude", worst);

    /* gradient against central finite differences of the double reference in p */
    {
        int T = 11, d = 9, i, ok = 1;
        float X[99], p[9], v[9], g[9];
        double pd[9], vd[9], hr[9], gr[9], hm[9], gm[9], fm;
        fill_normal(&r, X, T * d, 1.0f);
        fill_normal(&r, p, d, 0.7f);
        fill_normal(&r, v, d, 1.0f);
        pattn_pa_forward_backward_f32(X, T, d, p, v, NULL, g);
        for (i = 0; i < d; ++i) { pd[i] = p[i]; vd[i] = v[i]; }
        for (i = 0; i < d; ++i) {
            double fp, fmn, fd, hh = 1e-5;
            pd[i] = p[i] + hh;
            fp = pa_ref(X, T, d, pd, vd, hr, gr, &fm, hm, gm);
            pd[i] = p[i] - hh;
            fmn = pa_ref(X, T, d, pd, vd, hr, gr, &fm, hm, gm);
            pd[i] = p[i];
            fd = (fp - fmn) / (2 * hh);
            ok &= fabs(g[i] - fd) < 1e-4 * (fabs(fd) + fm);
        }
        PT_CHECK(ok, "grad_p against central finite differences");
    }

    /* bit-identity material: a W1-shaped sample */
    {
        int T = 32, d = 64;
        float *X = fbuf((size_t)T * d), p[64], v[64], out[129];
        fill_normal(&r, X, T * d, 1.0f);
        fill_normal(&r, p, d, 0.3f);
        fill_normal(&r, v, d, 1.0f);
        out[128] = pattn_pa_forward_backward_f32(X, T, d, p, v, out, out + 64);
        pt_dump("pa kernel T32 d64", out, sizeof out);
        free(X);
    }

    /* invalid input: NaN, nothing written */
    {
        float X[12], p[4] = {1, 2, 3, 4}, v[4] = {1, 1, 1, 1}, h[4], g[4], sent[4] = {5, 5, 5, 5};
        int k, ok = 1;
        fill_normal(&r, X, 12, 1.0f);
        for (k = 0; k < 7; ++k) {
            float f;
            memcpy(h, sent, sizeof h);
            memcpy(g, sent, sizeof g);
            p[2] = k == 5 ? NAN : 3.0f;
            v[1] = k == 6 ? INFINITY : 1.0f;
            f = pattn_pa_forward_backward_f32(k == 0 ? NULL : X, k == 1 ? 0 : 3, k == 2 ? -4 : 4, k == 3 ? NULL : p,
                                              k == 4 ? NULL : v, h, g);
            ok &= isnan(f) && !memcmp(h, sent, sizeof h) && !memcmp(g, sent, sizeof g);
        }
        PT_CHECK(ok, "pa_forward_backward: NULL, T < 1, d < 1, NaN p, inf v give NaN and write nothing");
    }
}

/* ---- linear algebra ------------------------------------------------------------------------ */

static void random_spd(pattn_rng *r, double *A, int n, double ridge)
{
    double *B = dbuf((size_t)n * n);
    int i, j, k;
    for (i = 0; i < n * n; ++i) B[i] = pattn_rng_normal_f64(r);
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
            double s = i == j ? ridge : 0;
            for (k = 0; k < n; ++k) s += B[i * n + k] * B[j * n + k];
            A[i * n + j] = s;
        }
    free(B);
}

static void test_linalg(void)
{
    pattn_rng r;
    int n = 12, i, j, k;
    double *A = dbuf(144), *L = dbuf(144), *Bm = dbuf(144 * 2), *X = dbuf(144 * 2), w[12], *V = dbuf(144);
    double err = 0, scale = 0;
    pattn_rng_seed(&r, 4);
    random_spd(&r, A, n, 0.5);
    memcpy(L, A, 144 * sizeof(double));
    PT_CHECK(pattn_chol(L, n) == PATTN_OK, "chol of an SPD matrix");
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
            double s = 0;
            for (k = 0; k < n; ++k) s += L[i * n + k] * L[j * n + k];
            err = fmax(err, fabs(s - A[i * n + j]));
            scale = fmax(scale, fabs(A[i * n + j]));
            if (j > i && L[i * n + j] != 0.0) err = INFINITY;
        }
    PT_CHECKF(err < 1e-13 * scale, "L L' = A (error %g)", err / scale);
    for (i = 0; i < n * 2; ++i) X[i] = Bm[i] = pattn_rng_normal_f64(&r);
    PT_CHECK(pattn_chol_solve(L, n, X, 2) == PATTN_OK, "chol_solve");
    err = 0;
    for (i = 0; i < n; ++i)
        for (k = 0; k < 2; ++k) {
            double s = 0;
            for (j = 0; j < n; ++j) s += A[i * n + j] * X[j * 2 + k];
            err = fmax(err, fabs(s - Bm[i * 2 + k]));
        }
    PT_CHECKF(err < 1e-10, "A X = B residual %g", err);

    /* not positive definite, not symmetric, NaN, bad sizes: status and A untouched */
    memcpy(L, A, 144 * sizeof(double));
    L[5 * n + 5] = -1.0;
    memcpy(X, L, 144 * sizeof(double));
    PT_CHECK(pattn_chol(L, n) == PATTN_ENUM && !memcmp(L, X, 144 * sizeof(double)), "chol: indefinite gives ENUM, A untouched");
    memcpy(L, A, 144 * sizeof(double));
    for (i = 0; i < n; ++i) /* rank one: PSD but singular */
        for (j = 0; j < n; ++j) L[i * n + j] = (i + 1.0) * (j + 1.0);
    PT_CHECK(pattn_chol(L, n) == PATTN_ENUM, "chol: singular PSD gives ENUM");
    memcpy(L, A, 144 * sizeof(double));
    L[1] += 1e-3;
    PT_CHECK(pattn_chol(L, n) == PATTN_ENUM, "chol: non-symmetric gives ENUM");
    memcpy(L, A, 144 * sizeof(double));
    L[7] = NAN;
    PT_CHECK(pattn_chol(L, n) == PATTN_EINVAL, "chol: NaN gives EINVAL");
    PT_CHECK(pattn_chol(NULL, n) == PATTN_EINVAL && pattn_chol(L, 0) == PATTN_EINVAL, "chol: NULL, n = 0");
    PT_CHECK(pattn_chol_solve(NULL, n, X, 1) == PATTN_EINVAL && pattn_chol_solve(A, n, X, 0) == PATTN_EINVAL,
             "chol_solve: NULL, nrhs = 0");

    /* eigen-decomposition */
    PT_CHECK(pattn_sym_eig(A, n, w, V) == PATTN_OK, "sym_eig");
    err = 0;
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
            double s = 0, o = 0;
            for (k = 0; k < n; ++k) { s += V[i * n + k] * w[k] * V[j * n + k]; o += V[k * n + i] * V[k * n + j]; }
            err = fmax(err, fabs(s - A[i * n + j]) / scale);
            err = fmax(err, fabs(o - (i == j)));
        }
    for (i = 1; i < n; ++i)
        if (w[i] < w[i - 1]) err = INFINITY;
    PT_CHECKF(err < 1e-12, "V diag(w) V' = A, V'V = I, w ascending (error %g)", err);
    {
        double D[9] = {2, 0, 0, 0, -1, 0, 0, 0, 0}, wd[3];
        PT_CHECK(pattn_sym_eig(D, 3, wd, NULL) == PATTN_OK && wd[0] == -1 && wd[1] == 0 && wd[2] == 2,
                 "sym_eig of a diagonal matrix, V = NULL");
        D[1] = 1;
        PT_CHECK(pattn_sym_eig(D, 3, wd, NULL) == PATTN_ENUM, "sym_eig: non-symmetric gives ENUM");
        D[1] = NAN;
        D[3] = NAN;
        PT_CHECK(pattn_sym_eig(D, 3, wd, NULL) == PATTN_EINVAL, "sym_eig: NaN gives EINVAL");
    }
    free(A); free(L); free(Bm); free(X); free(V);
}

/* The AVX-512 kernels against the 8-lane code in the same binary: one long call of the
   eight-lane sampler (32 normals per AVX-512 step) against 16 at a time (always 8-lane), and
   the paired softmax rows against single rows. Where the CPU lacks AVX-512 both sides run
   the same code and the checks hold trivially; the dump comparisons of run.sh then cover
   the AVX2 path against the scalar one. */
static void test_avx512_twins(void)
{
    enum { NN = 4096 + 28, R = 257, C = 64 };
    float *a = fbuf(NN), *b = fbuf(NN), *x = fbuf((size_t)R * C), *y = fbuf((size_t)R * C), *z = fbuf((size_t)R * C);
    pattn_rng8 r1, r2;
    pattn_rng r;
    int i, same = 1, expect = 0;
#if !defined(PATTN_NO_AVX512)
    expect = defined_avx2() && cpu_has(1);
#endif
    PT_CHECKF(pattn_avx512_active() == expect, "avx512 kernels %d, expected %d for this build and CPU",
              pattn_avx512_active(), expect);
    pattn_rng8_seed(&r1, 99, 4);
    pattn_rng8_seed(&r2, 99, 4);
    pattn_rng8_normal_f32(&r1, a, NN);
    for (i = 0; i < NN; i += 16) pattn_rng8_normal_f32(&r2, b + i, NN - i < 16 ? NN - i : 16);
    PT_CHECK(!memcmp(a, b, NN * sizeof(float)) && !memcmp(&r1, &r2, sizeof r1),
             "rng8 normals: one call of 4124 equals calls of 16 (same values, same state after)");
    pattn_rng_seed(&r, 17);
    fill_normal(&r, x, R * C, 6.0f);
    x[5 * C + 3] = NAN;          /* row 5: NaN */
    x[8 * C] = 500.0f;           /* row 8: spread above 87, the general exp */
    x[9 * C + 1] = INFINITY;     /* row 9: non-finite max */
    pattn_softmax_rows_f32(x, y, R, C);
    for (i = 0; i < R; ++i) pattn_softmax_f32(x + (size_t)i * C, z + (size_t)i * C, C);
    for (i = 0; i < R * C; ++i) same &= !memcmp(&y[i], &z[i], sizeof(float));
    PT_CHECK(same, "softmax rows (paired) equal single rows bit for bit, special rows included");
    free(a); free(b); free(x); free(y); free(z);
}

void suite_foundation(void)
{
    test_status();
    test_avx512_twins();
    test_rng();
    test_normals();
    test_rng8();
    test_exp();
    test_blas1();
    test_matvec();
    test_softmax();
    test_pa_kernel();
    test_linalg();
}
