/* Test runner: the one translation unit with PATTN_IMPLEMENTATION; suites live in their own
   files (which also proves the header links from several TUs). */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include "harness.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int pt_passed = 0, pt_failed = 0;
static FILE *pt_dumpf = NULL;
static const char *pt_suite = "";
static int pt_quick_flag = 0;

void pt_check(int ok, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    if (ok) { ++pt_passed; return; }
    ++pt_failed;
    fprintf(stdout, "FAIL [%s] %s:%d: ", pt_suite, file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

int pt_check_near(double got, double want, double rtol, double atol, const char *what,
                  const char *file, int line)
{
    int ok;
    if (isnan(want) || isnan(got)) ok = isnan(want) && isnan(got);
    else if (isinf(want) || isinf(got)) ok = got == want;
    else ok = fabs(got - want) <= rtol * fabs(want) + atol;
    pt_check(ok, file, line, "%s = %.12g, want %.12g (rtol %g, atol %g)", what, got, want, rtol, atol);
    return ok;
}

void pt_dump(const char *tag, const void *data, size_t bytes)
{
    uint64_t nb = (uint64_t)bytes;
    if (!pt_dumpf) return;
    fprintf(pt_dumpf, "%s\n", tag);
    fwrite(&nb, sizeof nb, 1, pt_dumpf);
    fwrite(data, 1, bytes, pt_dumpf);
}

void pt_info(const char *fmt, ...)
{
    va_list ap;
    fprintf(stdout, "  [%s] ", pt_suite);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

int pt_quick(void) { return pt_quick_flag; }

void suite_foundation(void);
void suite_p1_models(void);
void suite_p1_theory(void);
void suite_icl_theory(void);
void suite_icl_train(void);
void suite_api(void);
void suite_hardening(void);
void suite_nowrite(void);

static const struct { const char *name; void (*fn)(void); } pt_suites[] = {
    {"foundation", suite_foundation},
    {"p1_models", suite_p1_models},
    {"p1_theory", suite_p1_theory},
    {"icl_theory", suite_icl_theory},
    {"icl_train", suite_icl_train},
    {"api", suite_api},
    {"hardening", suite_hardening},
    {"nowrite", suite_nowrite},
};

int main(int argc, char **argv)
{
    size_t i;
    int a;
    const char *only = NULL;
    for (a = 1; a < argc; ++a) {
        if (!strcmp(argv[a], "--dump") && a + 1 < argc) {
            pt_dumpf = fopen(argv[++a], "wb");
            if (!pt_dumpf) { perror("dump file"); return 2; }
        } else if (!strcmp(argv[a], "--quick")) {
            pt_quick_flag = 1;
        } else {
            only = argv[a];
        }
    }
    printf("prompt_attn.h %s tests, simd path: %s, avx512 kernels: %s\n", pattn_version(), pattn_simd_path(),
           pattn_avx512_active() ? "on" : "off");
    for (i = 0; i < sizeof pt_suites / sizeof pt_suites[0]; ++i) {
        int p0 = pt_passed, f0 = pt_failed;
        clock_t c0 = clock();
        if (only && strcmp(only, pt_suites[i].name)) continue;
        pt_suite = pt_suites[i].name;
        pt_suites[i].fn();
        printf("suite %-12s %4d passed, %d failed (%.1f s cpu)\n", pt_suites[i].name,
               pt_passed - p0, pt_failed - f0, (double)(clock() - c0) / CLOCKS_PER_SEC);
    }
    if (pt_dumpf) fclose(pt_dumpf);
    printf("%d passed, %d failed\n", pt_passed, pt_failed);
    return pt_failed ? 1 : 0;
}
