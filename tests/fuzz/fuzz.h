/* Shared decoding for the libFuzzer targets: bytes become sizes, values, options and
   aliasing choices. Sizes are small, or picked from a table of extremes; a call whose sizes
   fit in memory gets buffers of exactly those sizes, and a call whose byte counts overflow
   gets small buffers and must fail. Every failing call must leave its outputs as they were
   (sentinel bytes) and leave a message naming the function. */
#ifndef PATTN_FUZZ_H
#define PATTN_FUZZ_H
#include "prompt_attn.h"
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fz {
    const uint8_t *p;
    size_t n, i;
} fz;

static uint8_t fz_u8(fz *f) { return f->i < f->n ? f->p[f->i++] : 0; }
static uint32_t fz_u32(fz *f)
{
    uint32_t v = 0;
    int k;
    for (k = 0; k < 4; ++k) v = v << 8 | fz_u8(f);
    return v;
}
static uint64_t fz_u64(fz *f) { return (uint64_t)fz_u32(f) << 32 | fz_u32(f); }

/* byte < 200: -1 .. 11; else an extreme from the table */
static int fz_size(fz *f)
{
    static const int ext[] = {0, INT_MAX, INT_MAX - 3, INT_MAX / 2, 1 << 20, 46341, INT_MIN, 1073741823, 65536, 4097, 257};
    uint8_t b = fz_u8(f);
    if (b < 200) return (int)(b % 13) - 1;
    return ext[(b - 200) % (sizeof ext / sizeof ext[0])];
}

static const double fz_special[] = {0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-300, 1e300, DBL_MAX, -DBL_MAX, DBL_MIN,
                                    5e-324, 1e-170, 1e154, 1e200, 1e39, 3.5e38, 1e-45, 1e78, 1e308, 88.5, -104.0};
/* byte < 128: a grid on [-4, 4); < 192: a special value; < 200: NaN/inf; else raw bits */
static double fz_d(fz *f)
{
    uint8_t b = fz_u8(f);
    if (b < 128) return ((double)b - 64.0) / 16.0;
    if (b < 192) return fz_special[(b - 128) % (sizeof fz_special / sizeof fz_special[0])];
    if (b < 196) return b & 1 ? INFINITY : -INFINITY;
    if (b < 200) return NAN;
    {
        uint64_t u = fz_u64(f);
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
}
/* a mostly valid positive value: small, or special */
static double fz_pos(fz *f)
{
    uint8_t b = fz_u8(f);
    if (b < 160) return (double)(b + 1) / 32.0;
    return fabs(fz_special[(b - 160) % (sizeof fz_special / sizeof fz_special[0])]);
}
static float fz_f(fz *f) { return (float)fz_d(f); }

/* fill n values: one mode byte chooses all-grid, all-one-value, or element by element */
static void fz_fill_f(fz *f, float *x, size_t n)
{
    uint8_t mode = fz_u8(f);
    size_t i;
    if (mode < 128) {
        uint32_t s = fz_u32(f) | 1u;
        for (i = 0; i < n; ++i) {
            s ^= s << 13; s ^= s >> 17; s ^= s << 5;
            x[i] = (float)((double)(s % 4096) / 512.0 - 4.0);
        }
    } else if (mode < 192) {
        float v = fz_f(f);
        for (i = 0; i < n; ++i) x[i] = v;
    } else {
        for (i = 0; i < n; ++i) x[i] = fz_f(f);
    }
}
static void fz_fill_d(fz *f, double *x, size_t n)
{
    uint8_t mode = fz_u8(f);
    size_t i;
    if (mode < 128) {
        uint32_t s = fz_u32(f) | 1u;
        for (i = 0; i < n; ++i) {
            s ^= s << 13; s ^= s >> 17; s ^= s << 5;
            x[i] = (double)(s % 4096) / 512.0 - 4.0;
        }
    } else if (mode < 192) {
        double v = fz_d(f);
        for (i = 0; i < n; ++i) x[i] = v;
    } else {
        for (i = 0; i < n; ++i) x[i] = fz_d(f);
    }
}

/* bytes of a*b*c elements, or 0 when they would not fit our cap (the call is then made only
   if it must fail); *ovf set when the product overflows size_t */
#define FZ_CAP ((size_t)16 << 20)
static size_t fz_bytes(long a, long b, long c, size_t elem, int *ovf)
{
    double t = (double)(a > 0 ? a : 1) * (double)(b > 0 ? b : 1) * (double)(c > 0 ? c : 1) * (double)elem;
    if (t > (double)(SIZE_MAX / 2)) { *ovf = 1; return 0; }
    return t > (double)FZ_CAP ? 0 : (size_t)t;
}

/* as fz_bytes, per buffer: *skip set when the buffer is representable but beyond our cap
   (the call cannot be made honestly then), *ovf when its byte count overflows */
static size_t fz_need(int *skip, int *ovf, long a, long b, long c, size_t elem)
{
    int o = 0;
    size_t r = fz_bytes(a, b, c, elem, &o);
    if (o) *ovf = 1;
    else if (!r) *skip = 1;
    return r;
}

/* sentinel-filled buffers: at least 64 bytes so a refused huge call has something to hold */
static void *fz_buf(size_t bytes)
{
    void *p = malloc(bytes < 64 ? 64 : bytes);
    if (!p) abort();
    memset(p, 0xA5, bytes < 64 ? 64 : bytes);
    return p;
}
static int fz_untouched(const void *p, size_t bytes)
{
    const uint8_t *b = (const uint8_t *)p;
    size_t i;
    if (!p) return 1;
    for (i = 0; i < (bytes ? bytes : 64); ++i) /* 0: a 64-byte stand-in from fz_buf */
        if (b[i] != 0xA5) return 0;
    return 1;
}

#define FZ_FAIL(...)                                                                      \
    do {                                                                                  \
        fprintf(stderr, "fuzz: " __VA_ARGS__);                                            \
        fprintf(stderr, " (last error: \"%s\")\n", pattn_last_error());                  \
        abort();                                                                          \
    } while (0)

/* a failing status must leave a message that names the function */
static void fz_failed_msg(const char *fn)
{
    if (!strstr(pattn_last_error(), fn)) FZ_FAIL("%s failed without naming itself", fn);
    if (getenv("FZ_TRACE")) fprintf(stderr, "fuzz trace: %s\n", pattn_last_error()); /* to check a seed */
}
/* status check: on failure, the listed outputs are untouched */
#define FZ_STATUS(fn, st, ...)                                                            \
    do {                                                                                  \
        if ((st) != PATTN_OK) {                                                           \
            const void *outs_[] = {__VA_ARGS__};                                          \
            size_t k_;                                                                    \
            fz_failed_msg(fn);                                                            \
            for (k_ = 0; k_ + 1 < sizeof outs_ / sizeof outs_[0]; k_ += 2)                \
                if (!fz_untouched(outs_[k_], (size_t)(uintptr_t)outs_[k_ + 1]))          \
                    FZ_FAIL("%s returned %d but wrote output %d", fn, (int)(st), (int)(k_ / 2)); \
        }                                                                                 \
    } while (0)
#define FZ_OUT(p, bytes) (const void *)(p), (const void *)(uintptr_t)(bytes)

#endif
