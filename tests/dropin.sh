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
# make install, then a program built with pkg-config from the installed copy
if have pkg-config && have make; then
    rm -rf "$B/inst"
    check "make install + pkg-config build" sh -c "make -s install PREFIX=$PWD/$B/inst > /dev/null && \
        PKG_CONFIG_PATH=$PWD/$B/inst/lib/pkgconfig $CC $W examples/quickstart.c -o $B/inst/quickstart \$(PKG_CONFIG_PATH=$PWD/$B/inst/lib/pkgconfig pkg-config --cflags --libs prompt_attn) && \
        $B/inst/quickstart > /dev/null && test -f $B/inst/share/doc/prompt_attn/reference.md"
fi
# documentation that stands on its own: every public function in docs/reference.md, and no
# pointer at a document the repository does not ship
missing=$(grep -o 'PATTN_DEF [^(]*(' prompt_attn.h | grep -o 'pattn_[a-z0-9_]*' | sort -u | while read -r f; do grep -q "\`$f\`" docs/reference.md || echo "$f"; done)
check "docs/reference.md names every public function${missing:+ (missing: $missing)}" test -z "$missing"
# the patterns are assembled here so that this file does not name the documents itself
sp="spec"; md=".md"
check "no reference to documents the repository lacks" sh -c "! git grep -n -I -e '$sp §' -e 'api\\$md' -e '\\.\\./shared' -e 'icl_prompts\\$md' -e 'experiments\\$md' -e 'prompt_attention\\$md' -- . 2>/dev/null | grep ."
# the QUICK START program of the header's doc block, as printed there
awk '/^        #define PATTN_IMPLEMENTATION$/ {on = 1} on {print substr($0, 9)} on && /^        }$/ {exit}' prompt_attn.h > "$B/two/quick.c"
check "doc block QUICK START, cc -O2 prog.c -lm" sh -c "cd $B/two && test -s quick.c && $CC $W quick.c -o quick -lm && ./quick"
# the real-image example: its zlib loader, backbone and sweep on Debian's Fashion-MNIST in a
# tiny run; without the data it must skip with the install hint and succeed
if [ -f /usr/include/zlib.h ]; then
    rm -rf "$B/fashion" && mkdir -p "$B/fashion/out"
    if $CC $W -I. -I$STB_INC examples/figures/fashion_context.c -o "$B/fashion/fc" -lstb -lz -lm > "$B/last.log" 2>&1; then
        check "fashion_context without its data: skips with the install hint" sh -c \
            "cd $B/fashion && FASHION_MNIST_DIR=/nonexistent ./fc --smoke | grep -q 'apt-get install dataset-fashion-mnist'"
        if [ -f "${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}/t10k-labels-idx1-ubyte.gz" ]; then
            check "fashion_context --smoke on Fashion-MNIST: CSV of 15 rows, attention SVG" sh -c \
                "cd $B/fashion && ./fc --smoke > smoke.log && head -n 1 out/fashion_context.csv | grep -qx 'model,T,n_train,test_acc,relevant_mass' && \
                 test \$(wc -l < out/fashion_context.csv) -eq 16 && grep -q 'data:image/png;base64,iVBORw0KGgo' out/fashion_attention.svg"
        else
            echo "dropin: note  Fashion-MNIST not installed (dataset-fashion-mnist): its run is not checked"
        fi
    else
        F=$((F + 1)); echo "FAIL dropin: fashion_context builds strictly"; sed 's/^/    /' "$B/last.log" | head -n 20
    fi
fi
# the MPI sweep: 1 rank and 2 ranks must write the same CSV, byte for byte (Open MPI)
if have mpicc && have mpirun && have make; then
    rm -rf "$B/mpi" && mkdir -p "$B/mpi"
    # a launch failure is the machine's (no ranks could start), and is reported as such; a
    # run that completes with a different CSV is the library's, and fails
    if make -s sweep-mpi NP=1 B="$B/mpi" > "$B/mpi/np1.log" 2>&1 && cp out/sweep_mpi.csv "$B/mpi/np1.csv" &&
       make -s sweep-mpi NP=2 B="$B/mpi" > "$B/mpi/np2.log" 2>&1; then
        check "sweep_mpi: 2 ranks write the 1-rank CSV byte for byte" cmp "$B/mpi/np1.csv" out/sweep_mpi.csv
    else
        echo "dropin: note  mpirun could not run the sweep here, the MPI comparison is not checked:"
        cat "$B/mpi/np1.log" "$B/mpi/np2.log" 2>/dev/null | sed 's/^/    /' | head -n 8
    fi
fi
echo "$P passed, $F failed"
[ "$F" -eq 0 ]
