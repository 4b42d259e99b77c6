/* multi-TU check, unit B: declarations only */
#include "prompt_attn.h"

float tu_b_softmax_sum(void)
{
    float x[5] = {1, 2, 3, 4, 5}, y[5];
    pattn_softmax_f32(x, y, 5);
    return y[0] + y[1] + y[2] + y[3] + y[4];
}
