/* ==== paper 1 models: PA, LPA, SA, LIN (spec §1) ========================================== */

/* Samples per block: the unit of partial gradient sums (added in block order, so results do
   not depend on the thread count). Blocks per group: partials held at once, which bounds the
   workspace independently of n; each group ends in a barrier, so groups are made large (a
   barrier costs a whole time slice when another process holds a core). SA's partials carry
   a d x d gradient, hence its smaller groups. */
#define PATTN__P1_BLK 64
#define PATTN__P1_GROUP 256
#define PATTN__P1_GROUP_SA 32

#ifdef _OPENMP
#define PATTN__P1_OMP_FOR_NT(nt) PATTN__PRAGMA(omp parallel for schedule(static) num_threads(nt))
PATTN__INLINE int pattn__p1_tid(void) { return omp_get_thread_num(); }
PATTN__INLINE int pattn__p1_max_threads(void) { return omp_get_max_threads(); }
#else
#define PATTN__P1_OMP_FOR_NT(nt) (void)(nt); /* a statement of its own before the loop */
PATTN__INLINE int pattn__p1_tid(void) { return 0; }
PATTN__INLINE int pattn__p1_max_threads(void) { return 1; }
#endif

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
#if defined(__GNUC__) || defined(__clang__)
#define PATTN__P1_PREFETCH(p) __builtin_prefetch((const void *)(p), 0, 3)
#else
#define PATTN__P1_PREFETCH(p) ((void)(p))
#endif

/* H = X'a and G = X'b in one sweep over the sample (eight chains per chunk of 32). This
   second pass runs on L1-resident data and leaves the memory bus idle, so it prefetches the
   rows of the next sample nx (a T x d sample; X itself when there is none). */
static void pattn__p1_xt2(const float *X, int T, int d, const float *a, const float *b, float *H, float *G,
                          const float *nx)
{
    int j = 0, t;
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

/* s = Xp and u = Xv for all T tokens, eight rows per step stored as whole vectors (so later
   vector loads of s and u do not stall on partial store forwarding); the last T mod 4
   tokens the same way one at a time, so a token gets the same bits wherever it falls. */
static void pattn__p1_scores2(const float *X, int T, int d, const float *p, const float *v, float *s, float *u)
{
    int t = 0, t8 = T - T % 8, t4 = T - T % 4;
    for (; t < t8; t += 8) {
        pattn__f8 lo, hi;
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
    pattn__f8 vm = pattn__f8_set1(pattn__max(x, n)), sum = pattn__f8_zero(), e;
    int i = 0;
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

/* PA on one sample, p already W p. Two passes over the (L1-resident) sample rather than one
   online-softmax pass: the first computes the scores s = Xp and u = Xv, so the T exponentials
   are taken 8 at a time and f is known before the second pass, which then accumulates
   h = X'a and G = X'(a o (u - f)) = df/d(Wp) directly, with no rescaling.
   sc: 2T floats. v NULL: features only (returns 0). */
static float pattn__p1_pa_one(const float *X, int T, int d, const float *p, const float *v,
                              float *sc, float *H, float *G, const float *nx)
{
    float *s = sc, *u = sc + T, mx, invZ, f;
    pattn__f8 vm, vz = pattn__f8_zero(), vf = pattn__f8_zero(), e, vi, vfv;
    int t, i = 0;
    if (v)
        pattn__p1_scores2(X, T, d, p, v, s, u);
    else
        for (t = 0; t < T; ++t) s[t] = pattn__dot(X + (size_t)t * (size_t)d, p, d);
    mx = pattn__max(s, T);
    vm = pattn__f8_set1(mx);
    for (; i + 8 <= T; i += 8) {
        e = pattn__f8_exp(pattn__f8_sub(pattn__f8_load(s + i), vm));
        pattn__f8_store(s + i, e);
        vz = pattn__f8_add(vz, e);
        if (v) vf = pattn__f8_fma(e, pattn__f8_load(u + i), vf);
    }
    if (i < T) {
        e = pattn__f8_exp(pattn__f8_sub(pattn__f8_load_part(s + i, T - i, -INFINITY), vm));
        pattn__f8_store_part(s + i, T - i, e);
        vz = pattn__f8_add(vz, e);
        if (v) vf = pattn__f8_fma(e, pattn__f8_load_part(u + i, T - i, 0.0f), vf);
    }
    invZ = 1.0f / pattn__f8_hsum(vz);
    f = v ? pattn__f8_hsum(vf) * invZ : 0.0f;
    vi = pattn__f8_set1(invZ);
    vfv = pattn__f8_set1(f);
    for (i = 0; i + 8 <= T; i += 8) {
        pattn__f8 a = pattn__f8_mul(pattn__f8_load(s + i), vi);
        pattn__f8_store(s + i, a);
        if (G) pattn__f8_store(u + i, pattn__f8_mul(a, pattn__f8_sub(pattn__f8_load(u + i), vfv)));
    }
    if (i < T) {
        pattn__f8 a = pattn__f8_mul(pattn__f8_load_part(s + i, T - i, 0.0f), vi);
        pattn__f8_store_part(s + i, T - i, a);
        if (G) pattn__f8_store_part(u + i, T - i, pattn__f8_mul(a, pattn__f8_sub(pattn__f8_load_part(u + i, T - i, 0.0f), vfv)));
    }
    if (G) pattn__p1_xt2(X, T, d, s, u, H, G, nx);
    else pattn__p1_xt1(X, T, d, s, H, 0);
    return f;
}

/* LPA on one sample (p already W p): f = s'u/T, h = X's/T, df/d(Wp) = X'u/T. */
static float pattn__p1_lpa_one(const float *X, int T, int d, const float *p, const float *v,
                               float *sc, float *H, float *G)
{
    float *s = sc, *u = sc + T, invT = 1.0f / (float)T, f;
    pattn__p1_scores2(X, T, d, p, v, s, u);
    f = pattn__dot(s, u, T) * invT;
    pattn__scale(T, invT, s);
    if (G) {
        pattn__scale(T, invT, u);
        pattn__p1_xt2(X, T, d, s, u, H, G, X);
    } else {
        pattn__p1_xt1(X, T, d, s, H, 0);
    }
    return f;
}

/* LIN on one sample: h = mean token, f = v'h. */
static float pattn__p1_lin_one(const float *X, int T, int d, const float *v, float *sc, float *H)
{
    float invT = 1.0f / (float)T;
    int t;
    for (t = 0; t < T; ++t) sc[t] = invT;
    pattn__p1_xt1(X, T, d, sc, H, 0);
    return pattn__dot(v, H, d);
}

/* SA works on rows of Tp = T rounded up to 8 floats: padded keys score -inf (weight 0),
   so no vector op needs a masked tail. Scratch: Kt (d Tp), A (T Tp), u, ft, abar, tmp (Tp
   each), C (T d), krow (d). */
PATTN__INLINE int pattn__p1_pad8(int T) { return (T + 7) & ~7; }
PATTN__INLINE size_t pattn__p1_sa_floats(int T, int d)
{
    size_t Tp = (size_t)pattn__p1_pad8(T);
    return (size_t)d * Tp + (size_t)T * Tp + 4 * Tp + (size_t)T * (size_t)d + (size_t)d;
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

/* scratch floats of one sample of model m (besides the H and G vectors) */
static size_t pattn__p1_scratch(pattn_model m, int T, int d)
{
    return m == PATTN_SA ? pattn__p1_sa_floats(T, d) : 2 * (size_t)T;
}

/* f of one sample; H = df/dv; G (PA/LPA, may be NULL) = df/d(Wp). pe = W p; nx: the next
   sample, for prefetching. */
static float pattn__p1_fwd(pattn_model m, const float *X, int T, int d, const float *pe,
                           const float *v, const float *W, float *sc, float *H, float *G,
                           const float *nx)
{
    switch (m) {
    case PATTN_PA: return pattn__p1_pa_one(X, T, d, pe, v, sc, H, G, nx);
    case PATTN_LPA: return pattn__p1_lpa_one(X, T, d, pe, v, sc, H, G);
    case PATTN_SA: return pattn__p1_sa_fwd(X, T, d, W, v, sc, H);
    default: return pattn__p1_lin_one(X, T, d, v, sc, H);
    }
}

PATTN_DEF const char *pattn_model_name(pattn_model m)
{
    switch (m) {
    case PATTN_PA: return "PA";
    case PATTN_LPA: return "LPA";
    case PATTN_SA: return "SA";
    case PATTN_LIN: return "LIN";
    }
    return "?";
}

static double pattn__p1_loss(pattn_loss l, double f, double y, double *dl)
{
    double m, e, sg;
    if (l == PATTN_LOSS_SQUARED) {
        *dl = f - y;
        return 0.5 * (y - f) * (y - f);
    }
    /* log(1 + e^m), m = -y f, as max(m, 0) + log1p(e^-|m|): no overflow for any f */
    m = -y * f;
    e = exp(-fabs(m));
    sg = m > 0 ? 1.0 / (1.0 + e) : e / (1.0 + e); /* sigmoid(m) */
    *dl = -y * sg;
    return (m > 0 ? m : 0.0) + log1p(e);
}

PATTN_DEF double pattn_loss_value(pattn_loss l, double f, double y, double *dldf)
{
    double dl;
    if (l != PATTN_LOSS_SQUARED && l != PATTN_LOSS_LOGISTIC) {
        if (dldf) *dldf = NAN;
        return NAN;
    }
    f = pattn__p1_loss(l, f, y, &dl);
    if (dldf) *dldf = dl;
    return f;
}

PATTN__INLINE int pattn__p1_correct(double f, double y) { return (f > 0 && y > 0) || (f < 0 && y < 0); }

static int pattn__p1_model_ok(pattn_model m)
{
    return m == PATTN_PA || m == PATTN_LPA || m == PATTN_SA || m == PATTN_LIN;
}

static int pattn__p1_params_ok(pattn_model m, const pattn_params *P)
{
    int i;
    if (!pattn__p1_model_ok(m) || !P || P->d < 1) return 0;
    if (!P->v || !pattn__all_finite_f32(P->v, P->d)) return 0;
    if ((m == PATTN_PA || m == PATTN_LPA) && (!P->p || !pattn__all_finite_f32(P->p, P->d))) return 0;
    if (P->W)
        for (i = 0; i < P->d; ++i)
            if (!pattn__all_finite_f32(P->W + (size_t)i * (size_t)P->d, P->d)) return 0;
    return 1;
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

/* one-sample scratch sizes above this many floats come from the heap */
#define PATTN__P1_STACK 4096

PATTN_DEF pattn_status pattn_model_eval(pattn_model m, const pattn_params *P, const float *X,
                                        int T, float *f, float *h, float *gp, float *gW)
{
    float stackbuf[PATTN__P1_STACK], *buf, *pe, *sc, *H, *G, fv;
    size_t need;
    int d, i, j, wantg;
    if (!X || T < 1 || !pattn__p1_params_ok(m, P)) return PATTN_EINVAL;
    if (gp && (m == PATTN_SA || m == PATTN_LIN)) return PATTN_EINVAL;
    if (gW && m == PATTN_LIN) return PATTN_EINVAL;
    d = P->d;
    wantg = (gp || gW) && (m == PATTN_PA || m == PATTN_LPA);
    need = 4 * (size_t)d + pattn__p1_scratch(m, T, d);
    buf = need <= PATTN__P1_STACK ? stackbuf : (float *)PATTN_MALLOC(need * sizeof(float));
    if (!buf) return PATTN_ENOMEM;
    pe = buf; H = pe + d; G = H + d; sc = G + 2 * (size_t)d;
    if (m == PATTN_PA || m == PATTN_LPA) pattn__p1_matvec(P->W, d, P->p, 0, pe);
    fv = pattn__p1_fwd(m, X, T, d, pe, P->v, P->W, sc, H, wantg ? G : NULL, X);
    if (f) *f = fv;
    if (h) memcpy(h, H, (size_t)d * sizeof(float));
    if (wantg) {
        /* d f/d p = W' G and d f/d W = G p' with G = d f/d(Wp) */
        if (gW)
            for (i = 0; i < d; ++i)
                for (j = 0; j < d; ++j) gW[(size_t)i * (size_t)d + j] = G[i] * P->p[j];
        if (gp) pattn__p1_matvec(P->W, d, G, 1, gp);
    }
    if (gW && m == PATTN_SA) {
        memset(gW, 0, (size_t)d * (size_t)d * sizeof(float));
        pattn__p1_sa_bwd(X, T, d, sc, 1.0f, gW);
    }
    if (buf != stackbuf) PATTN_FREE(buf);
    return PATTN_OK;
}

/* workspace layout, in this order:
   doubles: accumulators gp (d), gv (d), gW (d*d, SA only); per-block loss and hits (2 group)
   floats:  W p (d); group block partials of pstride floats; nth slots of slot floats */
typedef struct pattn__p1_layout {
    size_t nacc, pstride, slot, fixed_bytes;
    long group;
} pattn__p1_layout;

static pattn__p1_layout pattn__p1_layout_of(pattn_model m, int T, int d)
{
    pattn__p1_layout L;
    size_t dd = (size_t)d * (size_t)d;
    L.group = m == PATTN_SA ? PATTN__P1_GROUP_SA : PATTN__P1_GROUP;
    L.nacc = 2 * (size_t)d + (m == PATTN_SA ? dd : 0);
    L.pstride = pattn__p1_round16(L.nacc);
    L.slot = pattn__p1_round16(2 * (size_t)d + pattn__p1_scratch(m, T, d));
    L.fixed_bytes = (L.nacc + 2 * (size_t)L.group) * sizeof(double) +
                    (pattn__p1_round16((size_t)d) + (size_t)L.group * L.pstride) * sizeof(float);
    return L;
}

PATTN_DEF size_t pattn_model_work_size(pattn_model m, int T, int d)
{
    pattn__p1_layout L;
    if (!pattn__p1_model_ok(m) || T < 1 || d < 1) return 0;
    L = pattn__p1_layout_of(m, T, d);
    return L.fixed_bytes + (size_t)pattn__p1_max_threads() * L.slot * sizeof(float);
}

typedef struct pattn__p1_ctx {
    pattn_model m;
    pattn_loss loss;
    int d, T, n, need_g, want_gv, want_gW;
    const float *X, *y, *pe, *v, *W;
    float *fout, *hout;
} pattn__p1_ctx;

/* one block of samples: its partial gradient sums (float) and loss/hits (double) */
static void pattn__p1_block(const pattn__p1_ctx *c, long b, float *slot, float *part, double *dp,
                            size_t pstride)
{
    int d = c->d, T = c->T;
    long i, i0 = b * PATTN__P1_BLK, i1 = i0 + PATTN__P1_BLK < c->n ? i0 + PATTN__P1_BLK : c->n;
    float *Hs = slot, *G = c->need_g ? slot + d : NULL, *sc = slot + 2 * (size_t)d;
    float *pgp = part, *pgv = part + d, *pgW = part + 2 * (size_t)d;
    memset(part, 0, pstride * sizeof(float));
    dp[0] = dp[1] = 0.0;
    for (i = i0; i < i1; ++i) {
        const float *Xi = c->X + (size_t)i * (size_t)T * (size_t)d;
        float *H = c->hout ? c->hout + (size_t)i * (size_t)d : Hs, f, coef;
        double dl;
        f = pattn__p1_fwd(c->m, Xi, T, d, c->pe, c->v, c->W, sc, H, G,
                          i + 1 < c->n ? Xi + (size_t)T * (size_t)d : Xi);
        if (c->fout) c->fout[i] = f;
        if (!c->y) continue;
        dp[0] += pattn__p1_loss(c->loss, (double)f, (double)c->y[i], &dl);
        dp[1] += pattn__p1_correct((double)f, (double)c->y[i]);
        coef = (float)dl;
        if (c->want_gv) pattn__axpy(d, coef, H, pgv);
        if (G) pattn__axpy(d, coef, G, pgp);
        if (c->want_gW) pattn__p1_sa_bwd(Xi, T, d, sc, coef, pgW);
    }
}

PATTN_DEF pattn_status pattn_model_batch(pattn_model m, const pattn_params *P, pattn_loss loss,
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
    if (!out || !X || n < 1 || T < 1 || !pattn__p1_params_ok(m, P)) return PATTN_EINVAL;
    if (loss != PATTN_LOSS_SQUARED && loss != PATTN_LOSS_LOGISTIC) return PATTN_EINVAL;
    is_pl = m == PATTN_PA || m == PATTN_LPA;
    if (out->gp && !is_pl) return PATTN_EINVAL;
    if (out->gW && m == PATTN_LIN) return PATTN_EINVAL;
    if (!y && (out->gp || out->gv || out->gW)) return PATTN_EINVAL;
    if (y && !pattn__all_finite_f32(y, n)) return PATTN_EINVAL;
    d = P->d;
    L = pattn__p1_layout_of(m, T, d);
    nth = pattn__p1_max_threads();
    if (work) {
        size_t fit;
        if (work_bytes < L.fixed_bytes + L.slot * sizeof(float)) return PATTN_EINVAL;
        fit = (work_bytes - L.fixed_bytes) / (L.slot * sizeof(float));
        if (fit < (size_t)nth) nth = (int)fit;
    } else {
        mem = work = PATTN_MALLOC(L.fixed_bytes + (size_t)nth * L.slot * sizeof(float));
        if (!mem) return PATTN_ENOMEM;
    }
    acc = (double *)work;
    dparts = acc + L.nacc;
    pe = (float *)(void *)(dparts + 2 * L.group);
    parts = pe + pattn__p1_round16((size_t)d);
    slots = parts + (size_t)L.group * L.pstride;
    memset(acc, 0, L.nacc * sizeof(double));
    if (is_pl) pattn__p1_matvec(P->W, d, P->p, 0, pe);

    c.m = m; c.loss = loss; c.d = d; c.T = T; c.n = n;
    c.need_g = is_pl && (out->gp || out->gW);
    c.want_gv = out->gv != NULL;
    c.want_gW = m == PATTN_SA && out->gW;
    c.X = X; c.y = y; c.pe = pe; c.v = P->v; c.W = P->W;
    c.fout = out->f; c.hout = out->h;

    nb = ((long)n + PATTN__P1_BLK - 1) / PATTN__P1_BLK;
    nth = pattn__p1_threads(nth, (double)n * T * d * (m == PATTN_SA ? 1.0 + (double)(T + d) / 8.0 : 1.0), nb);
    for (g0 = 0; g0 < nb; g0 += L.group) {
        long gb = nb - g0 < L.group ? nb - g0 : L.group;
        PATTN__P1_OMP_FOR_NT(nth)
        for (bi = 0; bi < gb; ++bi)
            pattn__p1_block(&c, g0 + bi, slots + (size_t)pattn__p1_tid() * L.slot,
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
    out->loss = y ? lsum / n : NAN;
    out->acc = y ? hits / n : NAN;
    if (out->gv)
        for (i = 0; i < d; ++i) out->gv[i] = (float)(acc[d + i] / n);
    if (c.need_g) {
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

/* ==== paper 1: contextual mixture generator (spec §2) ===================================== */

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

/* x = s x + add (one rounding), or s x when add is NULL */
static void pattn__p1_scale_add(int n, float s, float *x, const float *add)
{
    pattn__f8 vs = pattn__f8_set1(s);
    int i = 0;
    if (add) {
        for (; i + 8 <= n; i += 8) pattn__f8_store(x + i, pattn__f8_fma(vs, pattn__f8_load(x + i), pattn__f8_load(add + i)));
        if (i < n) pattn__f8_store_part(x + i, n - i, pattn__f8_fma(vs, pattn__f8_load_part(x + i, n - i, 0.0f), pattn__f8_load_part(add + i, n - i, 0.0f)));
    } else {
        pattn__scale(n, s, x);
    }
}

static int pattn__p1_cmm_ok(const pattn_cmm *m, const pattn_cmm_ext *ext)
{
    const float *q = ext ? ext->q : NULL, *v = ext ? ext->vstar : NULL;
    long k;
    if (!m || m->d < 2 || m->T < 1) return 0;
    if (!pattn__finite(m->zeta) || !pattn__finite(m->sigma) || !pattn__finite(m->q_norm) ||
        !pattn__finite(m->v_norm) || !pattn__finite(m->rho) || !pattn__finite(m->eps) ||
        !pattn__finite(m->dist_q))
        return 0;
    if (!(m->zeta > 0.0 && m->zeta <= 1.0)) return 0;
    k = lround(m->zeta * m->T);
    if (k < 1 || k > m->T) return 0;
    if (m->sigma < 0.0 || m->rho < 0.0 || m->eps < 0.0 || m->eps > 1.0) return 0;
    if (m->dist_q < 0.0 || m->dist_q >= 1.0) return 0;
    if (m->noise != PATTN_NOISE_ORTHO && m->noise != PATTN_NOISE_ISO) return 0;
    if (!q && !(m->q_norm > 0.0)) return 0;
    if (!v && !(m->v_norm > 0.0)) return 0;
    if (q || v) {
        double qq = 0, vv = 0, qv = 0, qj, vj;
        int j;
        if (q && !pattn__all_finite_f32(q, m->d)) return 0;
        if (v && !pattn__all_finite_f32(v, m->d)) return 0;
        for (j = 0; j < m->d; ++j) {
            qj = q ? (double)q[j] : (j == 0 ? m->q_norm : 0.0);
            vj = v ? (double)v[j] : (j == 1 ? m->v_norm : 0.0);
            qq += qj * qj;
            vv += vj * vj;
            qv += qj * vj;
        }
        if (!(qq > 0.0) || !(vv > 0.0) || fabs(qv) > 1e-5 * sqrt(qq * vv)) return 0;
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

PATTN_DEF pattn_status pattn_cmm_vectors(const pattn_cmm *m, const pattn_cmm_ext *ext, float *q,
                                         float *vstar)
{
    if (!pattn__p1_cmm_ok(m, ext)) return PATTN_EINVAL;
    pattn__p1_cmm_qv(m, ext, q, vstar);
    return PATTN_OK;
}

PATTN_DEF pattn_status pattn_cmm_sample(const pattn_cmm *m, const pattn_cmm_ext *ext,
                                        uint64_t seed, uint64_t first, int n, float *X,
                                        float *y, uint8_t *mask)
{
    float *buf, *rel[2], *dis[2], *qh, *qf, *vf, sig;
    int d, T, k, ortho, userq, leading, j, nth;
    size_t Td;
    long i;
    double qn = 0.0;
    if (!X || !y || n < 1 || !pattn__p1_cmm_ok(m, ext)) return PATTN_EINVAL;
    d = m->d;
    T = m->T;
    Td = (size_t)T * (size_t)d;
    k = (int)lround(m->zeta * T);
    buf = (float *)PATTN_MALLOC(7 * (size_t)d * sizeof(float));
    if (!buf) return PATTN_ENOMEM;
    qf = buf; vf = qf + d; qh = vf + d;
    rel[0] = qh + d; rel[1] = rel[0] + d; dis[0] = rel[1] + d; dis[1] = dis[0] + d;
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
    nth = pattn__p1_threads(pattn__p1_max_threads(), 8.0 * (double)n * (double)Td, n);

    PATTN__P1_OMP_FOR_NT(nth)
    for (i = 0; i < (long)n; ++i) {
        pattn_rng r;
        pattn_rng8 r8;
        float *Xi = X + (size_t)i * Td;
        uint8_t *mi = mask ? mask + (size_t)i * (size_t)T : NULL;
        int t, sel = 0, yp;
        uint64_t noise_seed;
        /* the sample's scalar stream gives the discrete draws (exact probabilities) and seeds
           the eight-lane generator that makes the T*d normals */
        pattn_rng_stream(&r, seed, first + (uint64_t)i);
        noise_seed = pattn_rng_u64(&r);
        if (sig > 0.0f) {
            pattn_rng8_seed(&r8, noise_seed, 0);
            pattn_rng8_normal_f32(&r8, Xi, (int)Td);
        } else {
            memset(Xi, 0, Td * sizeof(float));
        }
        yp = (int)(pattn_rng_u64(&r) >> 63);
        y[i] = yp ? 1.0f : -1.0f;
        for (t = 0; t < T; ++t) {
            float *row = Xi + (size_t)t * (size_t)d;
            const float *add = NULL;
            int isrel, type = 0;
            /* selection sampling: token t is relevant with probability (k - sel)/(T - t) */
            isrel = leading ? t < k : (int)pattn__p1_below32(&r, (uint32_t)(T - t)) < k - sel;
            if (isrel) {
                ++sel;
                type = 1;
                add = rel[yp];
            } else if (m->eps > 0.0 && pattn_rng_uniform_f64(&r) < m->eps) {
                type = 2;
                add = dis[yp];
            }
            if (sig > 0.0f) {
                /* z ~ N(0, s^2 (I - qq'/|q|^2)): the default q = |q| e1 just drops coordinate 0 */
                if (ortho) {
                    if (userq) pattn__axpy(d, -pattn__dot(row, qh, d), qh, row);
                    else row[0] = 0.0f;
                }
                pattn__p1_scale_add(d, sig, row, add); /* x = sigma z + signal, one pass */
            } else if (add) {
                memcpy(row, add, (size_t)d * sizeof(float));
            }
            if (mi) mi[t] = (uint8_t)type;
        }
    }
    PATTN_FREE(buf);
    return PATTN_OK;
}

/* ==== paper 1: training, ridge head, initial trajectory (spec §3) ========================== */

PATTN_DEF pattn_status pattn_pa_features(const float *X, int n, int T, int d, const float *p,
                                         const float *W, float *H)
{
    float *buf, *pe, *sc;
    int nth = pattn__p1_max_threads();
    size_t slot = pattn__p1_round16(2 * (size_t)T);
    long i;
    if (!X || !p || !H || n < 1 || T < 1 || d < 1 || !pattn__all_finite_f32(p, d)) return PATTN_EINVAL;
    if (W)
        for (i = 0; i < d; ++i)
            if (!pattn__all_finite_f32(W + (size_t)i * (size_t)d, d)) return PATTN_EINVAL;
    buf = (float *)PATTN_MALLOC((pattn__p1_round16((size_t)d) + (size_t)nth * slot) * sizeof(float));
    if (!buf) return PATTN_ENOMEM;
    pe = buf;
    sc = buf + pattn__p1_round16((size_t)d);
    pattn__p1_matvec(W, d, p, 0, pe);
    nth = pattn__p1_threads(nth, (double)n * T * d, n);
    PATTN__P1_OMP_FOR_NT(nth)
    for (i = 0; i < (long)n; ++i)
        (void)pattn__p1_pa_one(X + (size_t)i * (size_t)T * (size_t)d, T, d, pe, NULL,
                               sc + (size_t)pattn__p1_tid() * slot, H + (size_t)i * (size_t)d, NULL, NULL);
    PATTN_FREE(buf);
    return PATTN_OK;
}

PATTN_DEF pattn_status pattn_pa_relevant_mass(const float *X, const uint8_t *mask, int n, int T,
                                              int d, const float *p, const float *W,
                                              double *mass)
{
    float *buf, *pe, *sc;
    double *per, total = 0.0;
    int nth = pattn__p1_max_threads();
    size_t slot = pattn__p1_round16((size_t)T);
    long i;
    if (!X || !mask || !p || !mass || n < 1 || T < 1 || d < 1 || !pattn__all_finite_f32(p, d)) return PATTN_EINVAL;
    if (W)
        for (i = 0; i < d; ++i)
            if (!pattn__all_finite_f32(W + (size_t)i * (size_t)d, d)) return PATTN_EINVAL;
    buf = (float *)PATTN_MALLOC((pattn__p1_round16((size_t)d) + (size_t)nth * slot) * sizeof(float) + (size_t)n * sizeof(double));
    if (!buf) return PATTN_ENOMEM;
    pe = buf;
    sc = buf + pattn__p1_round16((size_t)d);
    per = (double *)(void *)(sc + (size_t)nth * slot);
    pattn__p1_matvec(W, d, p, 0, pe);
    nth = pattn__p1_threads(nth, (double)n * T * d, n);
    PATTN__P1_OMP_FOR_NT(nth)
    for (i = 0; i < (long)n; ++i) {
        const float *Xi = X + (size_t)i * (size_t)T * (size_t)d;
        float *s = sc + (size_t)pattn__p1_tid() * slot;
        double mr = 0.0;
        int t;
        for (t = 0; t < T; ++t) s[t] = pattn__dot(Xi + (size_t)t * (size_t)d, pe, d);
        pattn__p1_softmax(s, T);
        for (t = 0; t < T; ++t)
            if (mask[(size_t)i * (size_t)T + t] == 1) mr += (double)s[t];
        per[i] = mr;
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
    if (!ev) return PATTN_ENOMEM;
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
    if (!L) return PATTN_ENOMEM;
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

PATTN_DEF pattn_status pattn_ridge_fit(const float *H, const float *y, int n, int d,
                                       double lambda, double *w)
{
    double *Hd, *A, *b, *x;
    pattn_status st;
    int m, nth;
    long i;
    if (!H || !y || !w || n < 1 || d < 1 || !pattn__finite(lambda) || lambda < 0.0) return PATTN_EINVAL;
    if (!pattn__all_finite_f32(y, n)) return PATTN_EINVAL;
    for (i = 0; i < n; ++i)
        if (!pattn__all_finite_f32(H + (size_t)i * (size_t)d, d)) return PATTN_EINVAL;
    m = n >= d ? d : n;
    Hd = (double *)PATTN_MALLOC(((size_t)n * (size_t)d + (size_t)m * (size_t)m + 2 * (size_t)m) * sizeof(double));
    if (!Hd) return PATTN_ENOMEM;
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
        nth = pattn__p1_threads(pattn__p1_max_threads(), 0.5 * (double)n * d * d, d);
        PATTN__P1_OMP_FOR_NT(nth)
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
        nth = pattn__p1_threads(pattn__p1_max_threads(), 0.5 * (double)n * n * d, n);
        PATTN__P1_OMP_FOR_NT(nth)
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

/* the model's own trained set (spec §1 table) */
static int pattn__p1_default_train(pattn_model m, const pattn_params *P)
{
    switch (m) {
    case PATTN_PA:
    case PATTN_LPA: return PATTN_TRAIN_P | PATTN_TRAIN_V;
    case PATTN_SA: return P->W ? (PATTN_TRAIN_W | PATTN_TRAIN_V) : PATTN_TRAIN_V;
    default: return PATTN_TRAIN_V;
    }
}

/* theta -= step, where step is the GD or Adam update of gradient g (Adam state m1, m2) */
static void pattn__p1_update(float *theta, const float *g, size_t len, const pattn_train_opts *o,
                             double *m1, double *m2, double b1, double b2, double eps,
                             double c1, double c2)
{
    size_t i;
    for (i = 0; i < len; ++i) {
        double gi = (double)g[i], step;
        if (o->adam) {
            m1[i] = b1 * m1[i] + (1.0 - b1) * gi;
            m2[i] = b2 * m2[i] + (1.0 - b2) * gi * gi;
            step = o->lr * (m1[i] / c1) / (sqrt(m2[i] / c2) + eps);
        } else {
            step = o->lr * gi;
        }
        theta[i] = (float)((double)theta[i] - step);
    }
}

PATTN_DEF pattn_status pattn_train(const pattn_train_opts *o, pattn_params *P, const float *X,
                                   const float *y, int n, int T, pattn_train_rec **hist)
{
    pattn_batch_out bo;
    pattn_status st = PATTN_OK;
    pattn_rng rng;
    size_t wbytes, dd, Td, nstate;
    void *work = NULL;
    float *gbuf = NULL, *Xb = NULL, *yb = NULL;
    double *state = NULL, b1, b2, eps, c1 = 1.0, c2 = 1.0;
    int *perm = NULL, flags, bs, pos, it, d, i;
    if (!o || !P || !X || !y || n < 1 || T < 1) return PATTN_EINVAL;
    if (!pattn__p1_params_ok(o->model, P)) return PATTN_EINVAL;
    if (o->loss != PATTN_LOSS_SQUARED && o->loss != PATTN_LOSS_LOGISTIC) return PATTN_EINVAL;
    if (o->iters < 1 || !pattn__finite(o->lr) || !(o->lr > 0.0) || o->batch < 0) return PATTN_EINVAL;
    if (!pattn__finite(o->beta1) || !pattn__finite(o->beta2) || !pattn__finite(o->adam_eps)) return PATTN_EINVAL;
    if (o->beta1 < 0.0 || o->beta1 >= 1.0 || o->beta2 < 0.0 || o->beta2 >= 1.0 || o->adam_eps < 0.0) return PATTN_EINVAL;
    if (!pattn__all_finite_f32(y, n)) return PATTN_EINVAL;
    flags = o->train ? o->train : pattn__p1_default_train(o->model, P);
    if (flags & ~(PATTN_TRAIN_P | PATTN_TRAIN_V | PATTN_TRAIN_W)) return PATTN_EINVAL;
    if ((flags & PATTN_TRAIN_P) && (o->model == PATTN_SA || o->model == PATTN_LIN)) return PATTN_EINVAL;
    if ((flags & PATTN_TRAIN_W) && (o->model == PATTN_LIN || !P->W)) return PATTN_EINVAL;
    b1 = o->beta1 > 0.0 ? o->beta1 : 0.9;
    b2 = o->beta2 > 0.0 ? o->beta2 : 0.999;
    eps = o->adam_eps > 0.0 ? o->adam_eps : 1e-8;
    d = P->d;
    dd = (size_t)d * (size_t)d;
    Td = (size_t)T * (size_t)d;
    bs = (o->batch == 0 || o->batch >= n) ? n : o->batch;

    wbytes = pattn_model_work_size(o->model, T, d);
    work = PATTN_MALLOC(wbytes);
    gbuf = (float *)PATTN_MALLOC((2 * (size_t)d + dd) * sizeof(float));
    nstate = o->adam ? 2 * (2 * (size_t)d + dd) : 1;
    state = (double *)PATTN_MALLOC(nstate * sizeof(double));
    if (bs < n) {
        Xb = (float *)PATTN_MALLOC((size_t)bs * Td * sizeof(float));
        yb = (float *)PATTN_MALLOC((size_t)bs * sizeof(float));
        perm = (int *)PATTN_MALLOC((size_t)n * sizeof(int));
    }
    if (!work || !gbuf || !state || (bs < n && (!Xb || !yb || !perm))) {
        st = PATTN_ENOMEM;
        goto done;
    }
    memset(state, 0, nstate * sizeof(double));
    memset(&bo, 0, sizeof bo);
    bo.gp = (flags & PATTN_TRAIN_P) ? gbuf : NULL;
    bo.gv = (flags & PATTN_TRAIN_V) ? gbuf + d : NULL;
    bo.gW = (flags & PATTN_TRAIN_W) ? gbuf + 2 * (size_t)d : NULL;
    pattn_rng_seed(&rng, o->seed);
    pos = n; /* forces a shuffle before the first mini-batch */
    if (perm)
        for (i = 0; i < n; ++i) perm[i] = i;

    for (it = 0; it < o->iters; ++it) {
        const float *Xu = X, *yu = y;
        pattn_train_rec rec;
        if (bs < n) {
            if (pos + bs > n) { /* new epoch: Fisher-Yates */
                for (i = n - 1; i > 0; --i) {
                    int j = (int)pattn__p1_below32(&rng, (uint32_t)(i + 1)), tmp = perm[i];
                    perm[i] = perm[j];
                    perm[j] = tmp;
                }
                pos = 0;
            }
            for (i = 0; i < bs; ++i) {
                memcpy(Xb + (size_t)i * Td, X + (size_t)perm[pos + i] * Td, Td * sizeof(float));
                yb[i] = y[perm[pos + i]];
            }
            pos += bs;
            Xu = Xb;
            yu = yb;
        }
        st = pattn_model_batch(o->model, P, o->loss, Xu, yu, bs, T, &bo, work, wbytes);
        if (st != PATTN_OK) goto done;
        memset(&rec, 0, sizeof rec); /* padding too: histories can be compared bytewise */
        rec.iter = it;
        rec.loss = bo.loss;
        rec.acc = bo.acc;
        if (hist) arrput(*hist, rec);
        if (!pattn__finite(bo.loss) || ((flags & PATTN_TRAIN_P) && !pattn__all_finite_f32(gbuf, d)) ||
            ((flags & PATTN_TRAIN_V) && !pattn__all_finite_f32(gbuf + d, d)) ||
            ((flags & PATTN_TRAIN_W) && !pattn__all_finite_f32(gbuf + 2 * (size_t)d, d * d))) {
            st = PATTN_ENUM;
            goto done;
        }
        if (o->adam) {
            c1 *= b1;
            c2 *= b2;
        }
        {
            double *s1 = state, *s2 = o->adam ? state + 2 * (size_t)d + dd : state;
            double k1 = 1.0 - c1, k2 = 1.0 - c2;
            if (flags & PATTN_TRAIN_P) pattn__p1_update(P->p, gbuf, (size_t)d, o, s1, s2, b1, b2, eps, k1, k2);
            if (flags & PATTN_TRAIN_V) pattn__p1_update(P->v, gbuf + d, (size_t)d, o, o->adam ? s1 + d : s1, o->adam ? s2 + d : s2, b1, b2, eps, k1, k2);
            if (flags & PATTN_TRAIN_W) pattn__p1_update(P->W, gbuf + 2 * (size_t)d, dd, o, o->adam ? s1 + 2 * (size_t)d : s1, o->adam ? s2 + 2 * (size_t)d : s2, b1, b2, eps, k1, k2);
        }
        if (((flags & PATTN_TRAIN_P) && !pattn__all_finite_f32(P->p, d)) ||
            ((flags & PATTN_TRAIN_V) && !pattn__all_finite_f32(P->v, d)) ||
            ((flags & PATTN_TRAIN_W) && !pattn__all_finite_f32(P->W, d * d))) {
            st = PATTN_ENUM; /* the step overflowed float */
            goto done;
        }
        if (o->progress && o->progress(o->user, &rec, o->iters)) break;
    }
done:
    PATTN_FREE(work);
    PATTN_FREE(gbuf);
    PATTN_FREE(state);
    PATTN_FREE(Xb);
    PATTN_FREE(yb);
    PATTN_FREE(perm);
    return st;
}

PATTN_DEF pattn_status pattn_traj3(const pattn_traj_opts *o, const float *X, const float *y,
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
    size_t Td = (size_t)T * (size_t)d;
    int n1, n2, j, i0[3], ni[3];
    if (!o || !X || !y || !Xte || !yte || !res || T < 1 || d < 1 || nte < 1) return PATTN_EINVAL;
    if (n < (o->split ? 3 : 1)) return PATTN_EINVAL;
    if (!pattn__finite(o->eta_v) || !pattn__finite(o->eta_p) || !pattn__finite(o->lambda)) return PATTN_EINVAL;
    if (!(o->eta_v > 0.0) || !(o->eta_p > 0.0) || o->lambda < 0.0) return PATTN_EINVAL;
    if (!pattn__all_finite_f32(y, n) || !pattn__all_finite_f32(yte, nte)) return PATTN_EINVAL;
    if (q && !pattn__all_finite_f32(q, d)) return PATTN_EINVAL;
    if (o->split) {
        n1 = n / 3;
        n2 = 2 * n / 3;
        i0[0] = 0; ni[0] = n1;
        i0[1] = n1; ni[1] = n2 - n1;
        i0[2] = n2; ni[2] = n - n2;
    } else {
        i0[0] = i0[1] = i0[2] = 0;
        ni[0] = ni[1] = ni[2] = n;
    }
    buf = (float *)PATTN_MALLOC(5 * (size_t)d * sizeof(float));
    if (!buf) return PATTN_ENOMEM;
    zero = buf; pv1 = zero + d; pp2 = pv1 + d; pv3 = pp2 + d; g = pv3 + d;
    memset(zero, 0, (size_t)d * sizeof(float));
    P.d = d;
    P.W = NULL;
    memset(&bo, 0, sizeof bo);

    /* step 1: at v = 0, p = 0 only the head moves */
    P.p = zero; P.v = zero; bo.gv = g;
    st = pattn_model_batch(PATTN_PA, &P, PATTN_LOSS_SQUARED, X + (size_t)i0[0] * Td, y + i0[0], ni[0], T, &bo, NULL, 0);
    if (st != PATTN_OK) goto done;
    for (j = 0; j < d; ++j) pv1[j] = (float)(-o->eta_v * (double)g[j]);
    /* step 2: the prompt, from the gradient at (v1, 0) */
    P.v = pv1; bo.gv = NULL; bo.gp = g;
    st = pattn_model_batch(PATTN_PA, &P, PATTN_LOSS_SQUARED, X + (size_t)i0[1] * Td, y + i0[1], ni[1], T, &bo, NULL, 0);
    if (st != PATTN_OK) goto done;
    for (j = 0; j < d; ++j) pp2[j] = (float)(-o->eta_p * (double)g[j]);
    /* step 3: the head under p2 */
    if (o->refit) {
        Hf = (float *)PATTN_MALLOC((size_t)ni[2] * (size_t)d * sizeof(float));
        w = (double *)PATTN_MALLOC((size_t)d * sizeof(double));
        if (!Hf || !w) { st = PATTN_ENOMEM; goto done; }
        st = pattn_pa_features(X + (size_t)i0[2] * Td, ni[2], T, d, pp2, NULL, Hf);
        if (st == PATTN_OK) st = pattn_ridge_fit(Hf, y + i0[2], ni[2], d, o->lambda, w);
        if (st != PATTN_OK) goto done;
        for (j = 0; j < d; ++j) pv3[j] = (float)w[j];
    } else {
        P.p = pp2; bo.gp = NULL; bo.gv = g;
        st = pattn_model_batch(PATTN_PA, &P, PATTN_LOSS_SQUARED, X + (size_t)i0[2] * Td, y + i0[2], ni[2], T, &bo, NULL, 0);
        if (st != PATTN_OK) goto done;
        for (j = 0; j < d; ++j) pv3[j] = (float)((double)pv1[j] - o->eta_v * (double)g[j]);
    }
    /* evaluation on the test set */
    P.p = pp2; P.v = pv3; bo.gp = bo.gv = NULL;
    st = pattn_model_batch(PATTN_PA, &P, PATTN_LOSS_SQUARED, Xte, yte, nte, T, &bo, NULL, 0);
    if (st != PATTN_OK) goto done;
    R.acc = bo.acc;
    R.loss = bo.loss;
    R.mass_r = NAN;
    if (mask_te) {
        st = pattn_pa_relevant_mass(Xte, mask_te, nte, T, d, pp2, NULL, &R.mass_r);
        if (st != PATTN_OK) goto done;
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
