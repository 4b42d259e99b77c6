/* A small test harness: checks count, failures print where and why, and outputs that must
   be bit-identical between the AVX2 and scalar builds go to a dump file compared by make. */
#ifndef PATTN_TEST_HARNESS_H
#define PATTN_TEST_HARNESS_H
#include <stddef.h>
#include <stdint.h>

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

#define PT_CHECK(cond, msg) pt_check(!!(cond), __FILE__, __LINE__, "%s", (msg))
#define PT_CHECKF(cond, ...) pt_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define PT_NEAR(got, want, rtol, atol) pt_check_near((double)(got), (double)(want), (rtol), (atol), #got, __FILE__, __LINE__)

#endif
