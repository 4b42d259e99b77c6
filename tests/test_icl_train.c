#include "prompt_attn.h"
#include "harness.h"

void suite_icl_train(void) {}
