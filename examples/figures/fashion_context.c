/* fashion_context: paper 1's image experiment in its spirit, on real images. Does a learned
   prompt find the one tile that matters when the rest of the canvas is distraction?

   Data: Fashion-MNIST (Debian's dataset-fashion-mnist, MIT), read with zlib. Task: sneaker
   (y = +1) against ankle boot (y = -1). A sample is a canvas of T tiles: one tile, at a random
   position, holds the labelled item and carries a fixed faint marker (a light band across
   its middle: the context vector q of the contextual model); the other T - 1 tiles hold items
   of other classes, half of them sandals (footwear, the confusing ones). Each tile becomes a
   d = 64 token through a frozen backbone: 2x2 average pooling to 14 x 14, then the top 64
   principal components of the training items (no marker, no test image). The marker's token
   is the same linear map applied to the band, so relevance is learnable, but only from the
   labels: nothing tells a model which tile is marked.

   Models, each trained by Adam on the logistic loss (full batch):
     PA      prompt-attention v'X' softmax(X p), p and v trained, W = I frozen (prompt-tuning)
     FT      fine-tuning analogue: a trained d x d map A of the tokens, mean-pooled, then a head
             (A starts at I; mean pooling commutes with A, so it is linear in the mean token)
     LIN     linear probe on the mean-pooled tokens
     SA      self-attention, mean-pooled, W and v trained (W starts at 0: uniform attention)
     ORACLE  linear probe on the relevant tile alone (T = 1: the best a head on one token does)
   Sweep: T = 1 .. 16 at n_train = 2000, and n_train = 100 .. 3000 at T = 16 (--full: the
   grid T x n_train up to 10000). Output: out/fashion_context.csv (model,T,n_train,test_acc,
   relevant_mass), out/fashion_context.gp (accuracy against T and against n), and
   out/fashion_attention.svg (test canvases with PA's attention weight over each tile).
   relevant_mass is the attention mass on the labelled tile: PA's softmax, SA's mean over
   queries, 1/T for the mean-pooled models, 1 for the oracle.
   Run from the repository root. --smoke: a tiny run for the test suite. */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define D 64    /* token dimension */
#define S 14    /* pooled tile side */
#define NPIX (S * S)
#define NM 5    /* models */
#define SNEAKER 7
#define BOOT 9
#define SANDAL 5

static const char *MODEL[NM] = {"PA", "FT", "LIN", "SA", "ORACLE"};

static void die(const char *what)
{
    fprintf(stderr, "fashion_context: %s\n", what);
    exit(1);
}
static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory");
    return p;
}
#define CK(call) do { pattn_status st_ = (call); if (st_ != PATTN_OK) { \
    fprintf(stderr, "fashion_context: %s: %s\n", #call, pattn_last_error()); exit(1); } } while (0)

/* ---- the data: IDX files, gzip-compressed -------------------------------------------------- */

static unsigned be32(const unsigned char *b) { return (unsigned)b[0] << 24 | (unsigned)b[1] << 16 | (unsigned)b[2] << 8 | b[3]; }

/* count items of `per` bytes after a header of `hdr` bytes whose first word is `magic` */
static unsigned char *load_idx(const char *dir, const char *name, unsigned magic, int hdr, size_t per, int *count)
{
    char path[1024];
    unsigned char h[16], *data;
    gzFile f;
    size_t bytes;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = gzopen(path, "rb");
    if (!f) return NULL;
    if (gzread(f, h, (unsigned)hdr) != hdr || be32(h) != magic) die("unexpected IDX header");
    *count = (int)be32(h + 4);
    if (hdr == 16 && (be32(h + 8) != 28 || be32(h + 12) != 28)) die("images are not 28 x 28");
    bytes = (size_t)*count * per;
    data = (unsigned char *)xmalloc(bytes);
    if ((size_t)gzread(f, data, (unsigned)bytes) != bytes) die("truncated IDX file");
    gzclose(f);
    return data;
}

typedef struct split { int n; unsigned char *img, *lab; float *tok; } split;

static int load_split(const char *dir, const char *pre, split *s)
{
    char a[64], b[64];
    int ni, nl;
    snprintf(a, sizeof a, "%s-images-idx3-ubyte.gz", pre);
    snprintf(b, sizeof b, "%s-labels-idx1-ubyte.gz", pre);
    s->img = load_idx(dir, a, 0x803, 16, 784, &ni);
    if (!s->img) return 0;
    s->lab = load_idx(dir, b, 0x801, 8, 1, &nl);
    if (!s->lab || nl != ni) die("labels do not match images");
    s->n = ni;
    return 1;
}

/* 2x2 average pooling to 14 x 14, pixels in [0, 1] */
static void pool(const unsigned char *img, double *out)
{
    int r, c;
    for (r = 0; r < S; ++r)
        for (c = 0; c < S; ++c) {
            const unsigned char *p = img + (2 * r) * 28 + 2 * c;
            out[r * S + c] = (p[0] + p[1] + p[28] + p[29]) / (4.0 * 255.0);
        }
}

/* ---- the frozen backbone: PCA of the training items ---------------------------------------- */

typedef struct backbone { double mean[NPIX], P[D][NPIX], scale, kept; } backbone;

static void fit_backbone(const split *tr, backbone *B)
{
    double *C = (double *)xmalloc(sizeof(double) * NPIX * NPIX), *V = (double *)xmalloc(sizeof(double) * NPIX * NPIX);
    double w[NPIX], x[NPIX], tot = 0, top = 0;
    int i, j, k;
    memset(B->mean, 0, sizeof B->mean);
    memset(C, 0, sizeof(double) * NPIX * NPIX);
    for (i = 0; i < tr->n; ++i) {
        pool(tr->img + (size_t)i * 784, x);
        for (j = 0; j < NPIX; ++j) B->mean[j] += x[j] / tr->n;
    }
    for (i = 0; i < tr->n; ++i) {
        pool(tr->img + (size_t)i * 784, x);
        for (j = 0; j < NPIX; ++j) x[j] -= B->mean[j];
        for (j = 0; j < NPIX; ++j)
            for (k = 0; k <= j; ++k) C[j * NPIX + k] += x[j] * x[k];
    }
    for (j = 0; j < NPIX; ++j)
        for (k = 0; k <= j; ++k) C[k * NPIX + j] = C[j * NPIX + k] = C[j * NPIX + k] / tr->n;
    CK(pattn_sym_eig(C, NPIX, w, V)); /* ascending: the top D are the last columns */
    for (j = 0; j < NPIX; ++j) tot += w[j];
    for (k = 0; k < D; ++k) {
        top += w[NPIX - 1 - k];
        for (j = 0; j < NPIX; ++j) B->P[k][j] = V[j * NPIX + (NPIX - 1 - k)];
    }
    B->scale = sqrt(top / D); /* tokens of unit variance per coordinate on average */
    B->kept = top / tot;
    free(C); free(V);
}

static void embed(const backbone *B, const double *x, int centre, float *tok)
{
    int j, k;
    for (k = 0; k < D; ++k) {
        double s = 0;
        for (j = 0; j < NPIX; ++j) s += B->P[k][j] * (x[j] - (centre ? B->mean[j] : 0.0));
        tok[k] = (float)(s / B->scale);
    }
}

static void embed_split(const backbone *B, split *s)
{
    double x[NPIX];
    int i;
    s->tok = (float *)xmalloc(sizeof(float) * (size_t)s->n * D);
    for (i = 0; i < s->n; ++i) {
        pool(s->img + (size_t)i * 784, x);
        embed(B, x, 1, s->tok + (size_t)i * D);
    }
}

/* the marker: a faint light band across the middle rows of the 28 x 28 tile */
#define MARK_AMP 0.2
static int marked(int r) { return r >= 12 && r < 16; }

/* ---- canvases ---------------------------------------------------------------------------- */

typedef struct pools { int *pos, npos, *neg, nneg, *sandal, nsandal, *other, nother; } pools;

static void make_pools(const split *s, pools *p)
{
    int i;
    p->pos = (int *)xmalloc(sizeof(int) * s->n); p->neg = (int *)xmalloc(sizeof(int) * s->n);
    p->sandal = (int *)xmalloc(sizeof(int) * s->n); p->other = (int *)xmalloc(sizeof(int) * s->n);
    p->npos = p->nneg = p->nsandal = p->nother = 0;
    for (i = 0; i < s->n; ++i) {
        int l = s->lab[i];
        if (l == SNEAKER) p->pos[p->npos++] = i;
        else if (l == BOOT) p->neg[p->nneg++] = i;
        else if (l == SANDAL) p->sandal[p->nsandal++] = i;
        else p->other[p->nother++] = i;
    }
}

static int pick(pattn_rng *r, const int *ix, int n) { return ix[pattn_rng_u64(r) % (uint64_t)n]; }

/* n canvases of T tiles: X (n*T*D), y, the relevant tile's token alone (Xr, n*D), the mask
   and the item shown on each tile (for the picture) */
static void make_canvases(const split *s, const pools *p, const float *q, int T, int n, uint64_t seed,
                          float *X, float *y, float *Xr, uint8_t *mask, int *items)
{
    pattn_rng r;
    int i, t, k;
    pattn_rng_seed(&r, seed);
    for (i = 0; i < n; ++i) {
        int lab = (pattn_rng_u64(&r) >> 63) ? 1 : -1, at = (int)(pattn_rng_u64(&r) % (uint64_t)T);
        y[i] = (float)lab;
        for (t = 0; t < T; ++t) {
            int it;
            float *x = X + ((size_t)i * T + t) * D;
            if (t == at) it = lab > 0 ? pick(&r, p->pos, p->npos) : pick(&r, p->neg, p->nneg);
            else it = (pattn_rng_u64(&r) >> 63) ? pick(&r, p->sandal, p->nsandal) : pick(&r, p->other, p->nother);
            for (k = 0; k < D; ++k) x[k] = s->tok[(size_t)it * D + k] + (t == at ? q[k] : 0.0f);
            if (mask) mask[(size_t)i * T + t] = (uint8_t)(t == at);
            if (items) items[(size_t)i * T + t] = it;
            if (t == at) memcpy(Xr + (size_t)i * D, x, sizeof(float) * D);
        }
    }
}

/* ---- models ------------------------------------------------------------------------------ */

static double train_lib(pattn_model m, int steps, const float *X, const float *y, int n, int T,
                        const float *Xt, const float *yt, int nt, const uint8_t *mt, double *mass, float *p_out)
{
    pattn_train_opts o;
    pattn_params P;
    pattn_batch_out bo;
    float p[D], v[D], *W = NULL;
    memset(&o, 0, sizeof o);
    memset(p, 0, sizeof p);
    memset(v, 0, sizeof v);
    o.model = m;
    o.loss = PATTN_LOSS_LOGISTIC;
    o.opt.steps = steps;
    o.opt.lr = m == PATTN_SA ? 0.02 : 0.05;
    P.d = D; P.p = p; P.v = v; P.W = NULL;
    if (m == PATTN_SA) {
        W = (float *)calloc(D * D, sizeof(float));
        P.W = W;
    }
    CK(pattn_train(&o, &P, X, y, n, T, NULL));
    memset(&bo, 0, sizeof bo);
    CK(pattn_model_batch(m, &P, PATTN_LOSS_LOGISTIC, Xt, yt, nt, T, &bo, NULL, 0));
    if (m == PATTN_PA) CK(pattn_pa_relevant_mass(Xt, mt, nt, T, D, p, NULL, mass));
    else if (m == PATTN_SA) {
        /* mean over samples and queries of softmax(X W x_t) on the marked tile */
        double tot = 0;
        float wx[D], sc[64];
        int i, t, u;
        for (i = 0; i < nt; ++i) {
            const float *Xi = Xt + (size_t)i * T * D;
            for (t = 0; t < T; ++t) {
                pattn_matvec_f32(W, D, D, Xi + t * D, wx); /* W x_t */
                pattn_matvec_f32(Xi, T, D, wx, sc);        /* scores x_u' W x_t */
                pattn_softmax_f32(sc, sc, T);
                for (u = 0; u < T; ++u) tot += mt[(size_t)i * T + u] ? sc[u] : 0.0;
            }
        }
        *mass = tot / ((double)nt * T);
    } else *mass = 1.0 / T;
    if (p_out) memcpy(p_out, p, sizeof p);
    free(W);
    return bo.acc;
}

/* FT: f = v' A xbar with A (D x D) from I, v from 0; Adam with the library's default
   constants and cosine decay, as pattn_train runs the other models. With u = A'v the outputs
   are f_i = u'xbar_i, and with s = sum_i dl_i xbar_i the gradients are v s' (A) and A s (v). */
static double ft_eval(const double *A, const double *v, const double *x)
{
    double f = 0;
    int j, k;
    for (j = 0; j < D; ++j) {
        double s = 0;
        for (k = 0; k < D; ++k) s += A[j * D + k] * x[k];
        f += v[j] * s;
    }
    return f;
}

static void mean_tokens(const float *X, int n, int T, double *xb)
{
    int i, t, k;
    for (i = 0; i < n; ++i)
        for (k = 0; k < D; ++k) {
            double s = 0;
            for (t = 0; t < T; ++t) s += X[((size_t)i * T + t) * D + k];
            xb[(size_t)i * D + k] = s / T;
        }
}

static double train_ft(int steps, const float *X, const float *y, int n, int T, const float *Xt, const float *yt, int nt)
{
    const int np = D * D + D;
    double *th = (double *)xmalloc(sizeof(double) * np), *g = (double *)xmalloc(sizeof(double) * np);
    double *m1 = (double *)calloc((size_t)np, sizeof(double)), *m2 = (double *)calloc((size_t)np, sizeof(double));
    double *xb = (double *)xmalloc(sizeof(double) * (size_t)(n > nt ? n : nt) * D), u[D], sv[D], b1 = 1, b2 = 1;
    double *A = th, *v = th + D * D;
    int i, j, k, it, correct = 0;
    memset(th, 0, sizeof(double) * np);
    for (j = 0; j < D; ++j) A[j * D + j] = 1;
    mean_tokens(X, n, T, xb);
    for (it = 0; it < steps; ++it) {
        double lr = 0.05 * (1e-3 + (1 - 1e-3) * 0.5 * (1 + cos(3.141592653589793 * it / steps)));
        for (k = 0; k < D; ++k) {
            u[k] = 0;
            for (j = 0; j < D; ++j) u[k] += A[j * D + k] * v[j];
            sv[k] = 0;
        }
        for (i = 0; i < n; ++i) {
            const double *x = xb + (size_t)i * D;
            double f = 0, dl;
            for (k = 0; k < D; ++k) f += u[k] * x[k];
            pattn_loss_value(PATTN_LOSS_LOGISTIC, f, y[i], &dl);
            for (k = 0; k < D; ++k) sv[k] += dl / n * x[k];
        }
        for (j = 0; j < D; ++j) {
            double s = 0;
            for (k = 0; k < D; ++k) {
                g[j * D + k] = v[j] * sv[k];
                s += A[j * D + k] * sv[k];
            }
            g[D * D + j] = s;
        }
        b1 *= 0.9; b2 *= 0.999;
        for (j = 0; j < np; ++j) {
            m1[j] = 0.9 * m1[j] + 0.1 * g[j];
            m2[j] = 0.999 * m2[j] + 0.001 * g[j] * g[j];
            th[j] -= lr * (m1[j] / (1 - b1)) / (sqrt(m2[j] / (1 - b2)) + 1e-8);
        }
    }
    mean_tokens(Xt, nt, T, xb);
    for (i = 0; i < nt; ++i) correct += (ft_eval(A, v, xb + (size_t)i * D) > 0) == (yt[i] > 0);
    free(th); free(g); free(m1); free(m2); free(xb);
    return (double)correct / nt;
}

/* ---- the attention picture: canvases as PNG inside an SVG ---------------------------------- */

static void put32(unsigned char *b, unsigned v) { b[0] = (unsigned char)(v >> 24); b[1] = (unsigned char)(v >> 16); b[2] = (unsigned char)(v >> 8); b[3] = (unsigned char)v; }

/* a grayscale PNG (8 bit) of w x h pixels, base64 encoded into a new string */
static char *png_base64(const unsigned char *px, int w, int h)
{
    static const char *b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uLong raw_n = (uLong)(w + 1) * h, z_n = compressBound(raw_n);
    unsigned char *raw = (unsigned char *)xmalloc(raw_n), *png = (unsigned char *)xmalloc(z_n + 64), *o;
    size_t len = 0, i;
    char *s;
    int r;
    for (r = 0; r < h; ++r) {
        raw[(size_t)r * (w + 1)] = 0; /* filter: none */
        memcpy(raw + (size_t)r * (w + 1) + 1, px + (size_t)r * w, (size_t)w);
    }
    memcpy(png, "\x89PNG\r\n\x1a\n", 8);
    len = 8;
    /* IHDR */
    put32(png + len, 13); memcpy(png + len + 4, "IHDR", 4);
    put32(png + len + 8, (unsigned)w); put32(png + len + 12, (unsigned)h);
    png[len + 16] = 8; png[len + 17] = 0; png[len + 18] = 0; png[len + 19] = 0; png[len + 20] = 0;
    put32(png + len + 21, (unsigned)crc32(0L, png + len + 4, 17));
    len += 25;
    /* IDAT */
    o = png + len;
    {
        uLongf zn = z_n;
        if (compress(o + 8, &zn, raw, raw_n) != Z_OK) die("zlib compress failed");
        put32(o, (unsigned)zn); memcpy(o + 4, "IDAT", 4);
        put32(o + 8 + zn, (unsigned)crc32(0L, o + 4, (uInt)zn + 4));
        len += 12 + zn;
    }
    put32(png + len, 0); memcpy(png + len + 4, "IEND", 4); put32(png + len + 8, (unsigned)crc32(0L, png + len + 4, 4));
    len += 12;
    s = (char *)xmalloc(4 * ((len + 2) / 3) + 1);
    for (i = 0, o = (unsigned char *)s; i < len; i += 3) {
        unsigned v = (unsigned)png[i] << 16 | (i + 1 < len ? (unsigned)png[i + 1] << 8 : 0) | (i + 2 < len ? png[i + 2] : 0);
        *o++ = (unsigned char)b64[v >> 18 & 63]; *o++ = (unsigned char)b64[v >> 12 & 63];
        *o++ = (unsigned char)(i + 1 < len ? b64[v >> 6 & 63] : '=');
        *o++ = (unsigned char)(i + 2 < len ? b64[v & 63] : '=');
    }
    *o = 0;
    free(raw); free(png);
    return s;
}

static void attention_svg(const char *path, const split *te, const int *items, const uint8_t *mask, const float *X,
                          const float *y, int T, int ncv, const float *p)
{
    const int side = (int)ceil(sqrt((double)T)), px = side * 28, sc = 3, W = px * sc, gap = 24;
    FILE *f = fopen(path, "w");
    unsigned char *img = (unsigned char *)xmalloc((size_t)px * px);
    float a[64];
    int c, t, r, col;
    if (!f) die("cannot write out/fashion_attention.svg");
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif' font-size='13'>\n",
            ncv * (W + gap) + gap, W + 70);
    fprintf(f, "<rect width='100%%' height='100%%' fill='white'/>\n<text x='%d' y='18'>Prompt-attention weights on %d "
               "test canvases (T = %d): red fill = attention, green frame = the labelled, marked tile</text>\n", gap, ncv, T);
    for (c = 0; c < ncv; ++c) {
        const float *Xi = X + (size_t)c * T * D;
        char *b;
        int x0 = gap + c * (W + gap), y0 = 30;
        pattn_matvec_f32(Xi, T, D, p, a);
        pattn_softmax_f32(a, a, T);
        memset(img, 0, (size_t)px * px);
        for (t = 0; t < T; ++t) {
            const unsigned char *src = te->img + (size_t)items[(size_t)c * T + t] * 784;
            for (r = 0; r < 28; ++r)
                for (col = 0; col < 28; ++col) {
                    double v = src[r * 28 + col] + (mask[(size_t)c * T + t] && marked(r) ? MARK_AMP * 255 : 0);
                    img[(size_t)((t / side) * 28 + r) * px + (t % side) * 28 + col] = (unsigned char)(v > 255 ? 255 : v);
                }
        }
        b = png_base64(img, px, px);
        fprintf(f, "<image x='%d' y='%d' width='%d' height='%d' style='image-rendering:pixelated' href='data:image/png;base64,%s'/>\n",
                x0, y0, W, W, b);
        free(b);
        for (t = 0; t < T; ++t) {
            int tx = x0 + (t % side) * 28 * sc, ty = y0 + (t / side) * 28 * sc;
            fprintf(f, "<rect x='%d' y='%d' width='%d' height='%d' fill='red' fill-opacity='%.3f' stroke='%s' stroke-width='%d'/>\n",
                    tx, ty, 28 * sc, 28 * sc, 0.6 * a[t], mask[(size_t)c * T + t] ? "lime" : "gray", mask[(size_t)c * T + t] ? 3 : 1);
            fprintf(f, "<text x='%d' y='%d' fill='yellow' font-size='11'>%.2f</text>\n", tx + 3, ty + 12, a[t]);
        }
        fprintf(f, "<text x='%d' y='%d'>label: %s</text>\n", x0, y0 + W + 18, y[c] > 0 ? "sneaker" : "ankle boot");
    }
    fprintf(f, "</svg>\n");
    fclose(f);
    free(img);
}

/* ---- the sweep --------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const int TS_DEMO[] = {1, 2, 4, 8, 16}, NS_DEMO[] = {100, 300, 1000, 2000, 4000};
    static const int TS_FULL[] = {1, 2, 4, 8, 12, 16}, NS_FULL[] = {100, 300, 1000, 3000, 10000};
    static const int TS_SMOKE[] = {1, 4}, NS_SMOKE[] = {60, 100};
    const char *dir = getenv("FASHION_MNIST_DIR") ? getenv("FASHION_MNIST_DIR") : "/usr/share/datasets/fashion-mnist";
    int full = (argc > 1 && !strcmp(argv[1], "--full")) || (getenv("PATTN_FULL") && !strcmp(getenv("PATTN_FULL"), "1"));
    int smoke = argc > 1 && !strcmp(argv[1], "--smoke");
    const int *TS = smoke ? TS_SMOKE : full ? TS_FULL : TS_DEMO, *NS = smoke ? NS_SMOKE : full ? NS_FULL : NS_DEMO;
    int nT = smoke ? 2 : full ? 6 : 5, nN = smoke ? 2 : 5, nbase = smoke ? 100 : 2000;
    int steps = smoke ? 20 : 300, nte = smoke ? 200 : 2000, Tmax = TS[nT - 1], nmax = NS[nN - 1] > nbase ? NS[nN - 1] : nbase;
    split tr, te;
    backbone *B = (backbone *)xmalloc(sizeof *B);
    pools ptr, pte;
    double band[NPIX], qn2 = 0, bn2 = 0;
    float q[D], *X, *y, *Xr, *Xt, *yt, *Xrt;
    uint8_t *mt;
    int *items, a, b, mi, ncase = 0;
    static double res[6][5][NM]; /* test accuracy per (T, n, model); 0 = not run */
    FILE *csv, *gp;

    if (!load_split(dir, "train", &tr) || !load_split(dir, "t10k", &te)) {
        printf("fashion_context: Fashion-MNIST not found in %s: skipped.\n"
               "  Get it with: sudo apt-get install dataset-fashion-mnist  (Debian/Ubuntu; MIT licence)\n"
               "  or set FASHION_MNIST_DIR to a folder holding the four *-idx*-ubyte.gz files.\n", dir);
        return 0;
    }
    fit_backbone(&tr, B);
    embed_split(B, &tr);
    embed_split(B, &te);
    /* the marker's token: the backbone applied to the band alone (no centring: it is added) */
    {
        int r, c;
        for (r = 0; r < S; ++r)
            for (c = 0; c < S; ++c) band[r * S + c] = marked(2 * r) ? MARK_AMP : 0.0;
        embed(B, band, 0, q);
        for (r = 0; r < NPIX; ++r) bn2 += band[r] * band[r];
        for (r = 0; r < D; ++r) qn2 += (double)q[r] * q[r];
    }
    make_pools(&tr, &ptr);
    make_pools(&te, &pte);
    printf("Fashion-MNIST: %d training and %d test images; sneaker (+1) against ankle boot (-1)\n", tr.n, te.n);
    printf("backbone: 2x2 pooling, PCA to d = %d (%.1f%% of the pixel variance); marker: band of %.2f over 4 rows,\n"
           "|q| = %.3f in token units (%.0f%% of its energy survives the backbone); distractors: half sandals\n\n",
           D, 100 * B->kept, MARK_AMP, sqrt(qn2), 100 * qn2 * B->scale * B->scale / bn2);

    X = (float *)xmalloc(sizeof(float) * (size_t)nmax * Tmax * D);
    y = (float *)xmalloc(sizeof(float) * (size_t)nmax);
    Xr = (float *)xmalloc(sizeof(float) * (size_t)nmax * D);
    Xt = (float *)xmalloc(sizeof(float) * (size_t)nte * Tmax * D);
    yt = (float *)xmalloc(sizeof(float) * (size_t)nte);
    Xrt = (float *)xmalloc(sizeof(float) * (size_t)nte * D);
    mt = (uint8_t *)xmalloc((size_t)nte * Tmax);
    items = (int *)xmalloc(sizeof(int) * (size_t)nte * Tmax);
    csv = fopen("out/fashion_context.csv", "w");
    if (!csv) die("cannot write out/ (run from the repository root)");
    fprintf(csv, "model,T,n_train,test_acc,relevant_mass\n");
    printf("%4s %7s  %-16s %-16s %-16s %-16s %-16s\n", "T", "n_train", "PA (mass)", "FT", "LIN", "SA (mass)", "ORACLE");

    /* the cases: every T at nbase and every n at Tmax (full: the whole grid) */
    for (a = 0; a < nT; ++a)
        for (b = 0; b < nN; ++b) {
            int T = TS[a], n = NS[b];
            double acc[NM], mass[NM];
            float p[D];
            if (!full && T != Tmax && n != nbase) continue;
            fprintf(stderr, "\rfashion_context: T = %2d, n = %5d ...", T, n);
            make_canvases(&tr, &ptr, q, T, n, 1000 + (uint64_t)T, X, y, Xr, NULL, NULL);
            make_canvases(&te, &pte, q, T, nte, 2000 + (uint64_t)T, Xt, yt, Xrt, mt, items);
            acc[0] = train_lib(PATTN_PA, steps, X, y, n, T, Xt, yt, nte, mt, &mass[0], p);
            acc[1] = train_ft(steps, X, y, n, T, Xt, yt, nte);
            mass[1] = 1.0 / T;
            acc[2] = train_lib(PATTN_LIN, steps, X, y, n, T, Xt, yt, nte, mt, &mass[2], NULL);
            acc[3] = train_lib(PATTN_SA, steps, X, y, n, T, Xt, yt, nte, mt, &mass[3], NULL);
            acc[4] = train_lib(PATTN_LIN, steps, Xr, y, n, 1, Xrt, yt, nte, NULL, &mass[4], NULL);
            mass[4] = 1.0;
            for (mi = 0; mi < NM; ++mi) {
                fprintf(csv, "%s,%d,%d,%.6f,%.6f\n", MODEL[mi], T, n, acc[mi], mass[mi]);
                res[a][b][mi] = acc[mi];
            }
            fprintf(stderr, "\r%40s\r", "");
            printf("%4d %7d  %5.1f%% (%.2f)    %5.1f%%           %5.1f%%           %5.1f%% (%.2f)    %5.1f%%\n", T, n,
                   100 * acc[0], mass[0], 100 * acc[1], 100 * acc[2], 100 * acc[3], mass[3], 100 * acc[4]);
            fflush(stdout);
            ++ncase;
            /* the picture: PA's attention on the first test canvases of the largest case */
            if (T == Tmax && b == nN - 1) attention_svg("out/fashion_attention.svg", &te, items, mt, Xt, yt, T, smoke ? 2 : 6, p);
        }
    printf("(test accuracy on %d test canvases each, binomial SE <= %.1f points; mass: attention on the labelled tile)\n",
           nte, 100 * 0.5 / sqrt((double)nte));
    fclose(csv);

    gp = fopen("out/fashion_context.gp", "w");
    if (!gp) die("cannot write out/fashion_context.gp");
    fprintf(gp, "# cd out && gnuplot fashion_context.gp  ->  fashion_context.svg (written by examples/figures/fashion_context.c)\n"
                "# the series are out/fashion_context.csv's rows, one data block per model and panel\n");
    for (mi = 0; mi < NM; ++mi) {
        int nb = 0;
        while (nb < nN && NS[nb] != (full ? NS[nN - 1] : nbase)) ++nb;
        fprintf(gp, "$%s_T << EOD\n", MODEL[mi]);
        for (a = 0; a < nT; ++a)
            if (res[a][nb][mi] > 0) fprintf(gp, "%d %.4f\n", TS[a], 100 * res[a][nb][mi]);
        fprintf(gp, "EOD\n$%s_N << EOD\n", MODEL[mi]);
        for (b = 0; b < nN; ++b)
            if (res[nT - 1][b][mi] > 0) fprintf(gp, "%d %.4f\n", NS[b], 100 * res[nT - 1][b][mi]);
        fprintf(gp, "EOD\n");
    }
    fprintf(gp, "set terminal svg size 1100,420 font 'sans,12' background rgb 'white'\n"
                "set output 'fashion_context.svg'\n"
                "set multiplot layout 1,2 title 'Fashion-MNIST canvases: sneaker vs ankle boot among T - 1 distractor tiles'\n"
                "set grid\nset key bottom left\nset ylabel 'test accuracy (%%)'\nset yrange [45:101]\n"
                "set title 'accuracy against T, %d training canvases'\nset xlabel 'tiles per canvas T'\nset logscale x 2\n"
                "plot $PA_T w lp pt 7 lw 2 t 'PA (prompt-tuning)', $FT_T w lp pt 5 lw 2 t 'FT (fine-tuning analogue)', "
                "$LIN_T w lp pt 4 lw 2 dt 2 t 'LIN (linear probe)', $SA_T w lp pt 9 lw 2 t 'SA (self-attention)', $ORACLE_T w lp pt 1 lw 2 dt 3 t 'oracle'\n"
                "set title 'accuracy against training canvases, T = %d'\nset xlabel 'training canvases'\nset logscale x 10\n"
                "plot $PA_N w lp pt 7 lw 2 t 'PA (prompt-tuning)', $FT_N w lp pt 5 lw 2 t 'FT (fine-tuning analogue)', "
                "$LIN_N w lp pt 4 lw 2 dt 2 t 'LIN (linear probe)', $SA_N w lp pt 9 lw 2 t 'SA (self-attention)', $ORACLE_N w lp pt 1 lw 2 dt 3 t 'oracle'\n"
                "unset multiplot\n", full ? NS[nN - 1] : nbase, Tmax);
    fclose(gp);
    printf("\nwrote out/fashion_context.csv (%d rows), out/fashion_context.gp, out/fashion_attention.svg\n", ncase * NM);
    free(X); free(y); free(Xr); free(Xt); free(yt); free(Xrt); free(mt); free(items); free(B);
    return 0;
}
