/* A small test harness: checks count, failures print where and why, and outputs that must
   be bit-identical between the AVX2 and scalar builds go to a dump file compared by make. */
#ifndef PATTN_TEST_HARNESS_H
#define PATTN_TEST_HARNESS_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* The tests' own reference arithmetic must not change with the compiler's contraction mode
   either: the gnu build (fusion allowed) dumps what the strict build dumps. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__) && !defined(__TINYC__)
#pragma GCC optimize("fp-contract=off")
#endif

extern int pt_passed, pt_failed;

/* one check; fmt describes it and is printed only on failure */
void pt_check(int ok, const char *file, int line, const char *fmt, ...);
/* |got - want| <= rtol*|want| + atol, and NaN/inf must match exactly */
int pt_check_near(double got, double want, double rtol, double atol, const char *what,
                  const char *file, int line);
/* append bytes under a tag to the dump (no-op without --dump) */
void pt_dump(const char *tag, const void *data, size_t bytes);
/* print an informational line (figures worth quoting), prefixed with the suite name */
void pt_info(const char *fmt, ...);
/* 1 when the run is --quick (sanitizer builds): suites may shrink their Monte Carlo sizes
   but must keep every check */
int pt_quick(void);

#ifdef PATTN_H_INCLUDE
/* A history goes to the dump field by field, never as raw records: a record's padding is
   indeterminate after a copy, and long is 32 bits on Windows. */
static inline void pt_dump_history(const char *tag, const pattn_history *h)
{
    long i, n = h->len > 0 ? h->len : 0;
    double *f = (double *)malloc(sizeof(double) * 4 * (size_t)(n ? n : 1));
    if (!f) return;
    for (i = 0; i < n; ++i) {
        f[4 * i + 0] = (double)h->rec[i].step;
        f[4 * i + 1] = h->rec[i].loss;
        f[4 * i + 2] = h->rec[i].acc;
        f[4 * i + 3] = h->rec[i].lr;
    }
    pt_dump(tag, f, sizeof(double) * 4 * (size_t)n);
    free(f);
}
#endif

#define PT_CHECK(cond, msg) pt_check(!!(cond), __FILE__, __LINE__, "%s", (msg))
#define PT_CHECKF(cond, ...) pt_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define PT_NEAR(got, want, rtol, atol) pt_check_near((double)(got), (double)(want), (rtol), (atol), #got, __FILE__, __LINE__)

#endif
