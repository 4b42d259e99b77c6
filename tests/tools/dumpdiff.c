/* Compares two test dumps entry by entry (the dump is: tag, newline, a uint64 byte count,
   the bytes). Entries whose tag starts with "libm " hold double-precision results that go
   through the C library's exp, log, erf or lgamma: another C library may change their last
   bits, so they are reported (count and largest relative difference) but do not fail.
   Every other entry (kernels, samplers, generators, training) must match byte for byte.
   Usage: dumpdiff REFERENCE OTHER [LABEL]; exit status 1 if an exact entry differs. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry { char tag[256]; uint64_t n; unsigned char *data; } entry;

static int next_entry(FILE *f, entry *e)
{
    size_t len;
    if (!fgets(e->tag, sizeof e->tag, f)) return 0;
    len = strlen(e->tag);
    if (len && e->tag[len - 1] == '\n') e->tag[len - 1] = 0;
    if (fread(&e->n, sizeof e->n, 1, f) != 1 || e->n > ((uint64_t)1 << 34)) return -1;
    e->data = (unsigned char *)malloc(e->n ? (size_t)e->n : 1);
    if (!e->data || fread(e->data, 1, (size_t)e->n, f) != e->n) return -1;
    return 1;
}

int main(int argc, char **argv)
{
    FILE *fa, *fb;
    entry a, b;
    long exact = 0, exact_bad = 0, libm = 0, libm_bad = 0;
    double worst = 0.0;
    const char *label = argc > 3 ? argv[3] : "dump";
    int ra, rb;
    if (argc < 3 || !(fa = fopen(argv[1], "rb")) || !(fb = fopen(argv[2], "rb"))) {
        fprintf(stderr, "usage: dumpdiff REFERENCE OTHER [LABEL]\n");
        return 2;
    }
    for (;;) {
        ra = next_entry(fa, &a);
        rb = next_entry(fb, &b);
        if (ra <= 0 || rb <= 0) break;
        if (strcmp(a.tag, b.tag) || a.n != b.n) {
            printf("FAIL %s: entry '%s' (%lu bytes) against '%s' (%lu bytes): the runs diverged\n", label, a.tag,
                   (unsigned long)a.n, b.tag, (unsigned long)b.n);
            return 1;
        }
        if (!strncmp(a.tag, "libm ", 5)) {
            ++libm;
            if (memcmp(a.data, b.data, (size_t)a.n)) {
                uint64_t i;
                ++libm_bad;
                for (i = 0; i + 8 <= a.n; i += 8) {
                    double x, y, r;
                    memcpy(&x, a.data + i, 8);
                    memcpy(&y, b.data + i, 8);
                    if (x == y || (x != x && y != y)) continue;
                    r = fabs(x - y) / (fabs(x) > fabs(y) ? fabs(x) : fabs(y));
                    if (r > worst || r != r) worst = r;
                }
            }
        } else {
            ++exact;
            if (memcmp(a.data, b.data, (size_t)a.n)) {
                uint64_t i = 0;
                while (a.data[i] == b.data[i]) ++i;
                printf("FAIL %s: entry '%s' differs at byte %lu of %lu\n", label, a.tag, (unsigned long)i, (unsigned long)a.n);
                ++exact_bad;
            }
        }
        free(a.data);
        free(b.data);
    }
    if (ra != rb) {
        printf("FAIL %s: the dumps have different numbers of entries\n", label);
        return 1;
    }
    printf("%s: %ld kernel/sampler/training entries %s; %ld libm-dependent theory entries, %ld differ in the last bits (largest relative difference %.2g)\n",
           label, exact, exact_bad ? "DIFFER" : "identical", libm, libm_bad, worst);
    return exact_bad ? 1 : 0;
}
