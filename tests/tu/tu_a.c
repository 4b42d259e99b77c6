/* multi-TU check, unit A: holds the implementation */
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include <stdio.h>

float tu_b_softmax_sum(void);

int main(void)
{
    pattn_rng r;
    pattn_rng_seed(&r, 1);
    printf("multi-tu: %s, u64 %llu, softmax sum from unit B %.6f\n", pattn_simd_path(),
           (unsigned long long)pattn_rng_u64(&r), (double)tu_b_softmax_sum());
    return 0;
}
