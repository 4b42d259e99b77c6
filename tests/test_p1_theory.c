#include "prompt_attn.h"
#include "harness.h"

void suite_p1_theory(void) {}
