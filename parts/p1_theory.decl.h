/* p1_theory decl: part of prompt_attn.h during development; inlined at release */
