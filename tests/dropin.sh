#!/bin/sh
# Drop-in checks, as a user meets them: each is a build (and a run) of a small program.
#   zero-init   every option/model struct as `= {0}` in C (gcc, clang) and `= {}` in C++
#   own names   a file with its own arrlen/arrput/hmget includes the implementation
#   no short    STBDS_NO_SHORT_NAMES before the header: the implementation still links
#   two headers prompt_attn.h + stb_ds.h + `cc prog.c -lm`, no -lstb (PATTN_STB_DS_IMPLEMENTATION)
# Prints one line per check and ends with "N passed, N failed".
cd "$(dirname "$0")/.."
B=${B:-build}/dropin
STB_INC=${STB_INC:-/usr/include/stb}
CC=${CC:-cc}
mkdir -p "$B"
P=0; F=0
W="-std=c99 -Wall -Wextra -pedantic -Werror -O2"
check() { # description, command...
    d=$1; shift
    if "$@" > "$B/last.log" 2>&1; then
        P=$((P + 1)); echo "dropin: ok    $d"
    else
        F=$((F + 1)); echo "FAIL dropin: $d"; sed 's/^/    /' "$B/last.log" | head -n 20
    fi
}
have() { command -v "$1" > /dev/null 2>&1; }
for c in gcc clang; do
    have $c || continue
    check "zero-init, C ($c)" $c $W -I. -c tests/dropin/zero_init.c -o "$B/zi.o"
    check "own short names in the user's file ($c)" sh -c "$c $W -I. -I$STB_INC tests/dropin/own_names.c -o $B/own_$c -lstb -lm && $B/own_$c"
    check "STBDS_NO_SHORT_NAMES ($c)" sh -c "$c $W -I. -I$STB_INC tests/dropin/no_short_names.c -o $B/nsn_$c -lstb -lm && $B/nsn_$c"
done
for c in g++ clang++; do
    have $c || continue
    check "zero-init, C++ = {} ($c)" $c -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror -I. -c tests/dropin/zero_init.c -o "$B/zi.o"
    check "zero-init, C++ = {0} compiles ($c)" $c -x c++ -std=c++11 -DBRACE0 -Wall -Wextra -Wno-missing-field-initializers -Wno-missing-braces -pedantic -Werror -I. -c tests/dropin/zero_init.c -o "$B/zi.o"
done
# the two-header build in a folder holding nothing else
rm -rf "$B/two" && mkdir -p "$B/two" && cp prompt_attn.h "$STB_INC/stb_ds.h" "$B/two/" && cp tests/dropin/two_headers.c "$B/two/prog.c"
check "two headers, cc prog.c -lm ($CC)" sh -c "cd $B/two && $CC -O2 prog.c -o prog -lm && ./prog"
check "two headers, strict C99" sh -c "cd $B/two && $CC $W prog.c -o prog_strict -lm && ./prog_strict"
have g++ && check "two headers, as C++" sh -c "cd $B/two && g++ -x c++ -O2 -Wall -Wextra -Werror prog.c -o prog_cxx -lm && ./prog_cxx"
echo "$P passed, $F failed"
[ "$F" -eq 0 ]
