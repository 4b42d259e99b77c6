/* Every option and model struct, zero-initialised the way the README shows: `= {0}` in C and
   `= {}` in C++ (and `= {0}` compiles there too), under -Wall -Wextra -pedantic -Werror. Zero means the defaults. */
#include "prompt_attn.h"
#include <stdio.h>

int main(void)
{
#ifdef __cplusplus
    pattn_cmm m = {};
    pattn_cmm_ext ext = {};
    pattn_params P = {};
    pattn_batch_out bo = {};
    pattn_optim opt = {};
    pattn_train_opts to = {};
    pattn_traj_opts jo = {};
    pattn_history h = {};
    pattn_icl_mix mix = {};
    pattn_icl_train_opts io = {};
    pattn_icl_risks r = {};
    pattn_head_risk hr = {};
#ifdef BRACE0 /* `= {0}` must compile in C++ too (g++ once rejected it: an enum came first);
                 -Wextra's missing-field-initializers still notes it, so this build turns that off */
    pattn_train_opts to0 = {0};
    pattn_icl_train_opts io0 = {0};
    pattn_cmm m0 = {0};
    pattn_optim opt0 = {0};
    (void)to0; (void)io0; (void)m0; (void)opt0;
#endif
#else
    pattn_cmm m = {0};
    pattn_cmm_ext ext = {0};
    pattn_params P = {0};
    pattn_batch_out bo = {0};
    pattn_optim opt = {0};
    pattn_train_opts to = {0};
    pattn_traj_opts jo = {0};
    pattn_history h = {0};
    pattn_icl_mix mix = {0};
    pattn_icl_train_opts io = {0};
    pattn_icl_risks r = {0};
    pattn_head_risk hr = {0};
#endif
    (void)ext; (void)P; (void)bo; (void)jo; (void)h; (void)mix; (void)r; (void)hr;
    printf("%d %d %d %d %ld\n", (int)m.noise, (int)to.model, (int)io.regime, (int)opt.optimizer, to.opt.steps);
    return m.d + (int)io.opt.steps;
}
