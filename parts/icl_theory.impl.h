/* icl_theory impl: part of prompt_attn.h during development; inlined at release */
