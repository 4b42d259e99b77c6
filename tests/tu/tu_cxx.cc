// The header compiled as C++ (implementation included), exercising a few entry points.
#define PATTN_IMPLEMENTATION
#include "prompt_attn.h"
#include <cstdio>

int main()
{
    pattn_rng r;
    float x[19], y[19];
    pattn_rng_seed(&r, 7);
    pattn_rng_normal_f32(&r, x, 19);
    pattn_softmax_f32(x, y, 19);
    std::printf("cxx: %s, %s, y[0] = %g\n", pattn_simd_path(), pattn_status_str(PATTN_ENUM), (double)y[0]);
    return 0;
}
