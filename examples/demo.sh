#!/bin/sh
# make demo: builds the examples, runs the short teaching programs, then the figure programs
# (examples/figures/). Tables go to the terminal, CSV and SVG plots to out/. `--full` (or
# PATTN_FULL=1) runs the figure programs at their larger sizes.
set -u
cd "$(dirname "$0")/.."
full=""
[ "${1:-}" = "--full" ] && full="--full"
[ "${PATTN_FULL:-0}" = "1" ] && full="--full"

# what the demo needs: a C compiler, make, stb_ds (libstb-dev); gnuplot-nox for the pictures;
# zlib (zlib1g-dev) and Fashion-MNIST (dataset-fashion-mnist) for the real-image example
FMNIST=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
missing=""
[ -f "${STB_INC:-/usr/include/stb}/stb_ds.h" ] || missing="$missing libstb-dev"
command -v gnuplot >/dev/null 2>&1 || missing="$missing gnuplot-nox"
[ -f /usr/include/zlib.h ] || missing="$missing zlib1g-dev"
[ -f "$FMNIST/train-images-idx3-ubyte.gz" ] || missing="$missing dataset-fashion-mnist"
if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "demo: installing$missing" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1; }
    fi
    if [ ! -f "${STB_INC:-/usr/include/stb}/stb_ds.h" ]; then
        echo "demo: stb_ds.h not found. Install it with: sudo apt-get install libstb-dev" >&2
        echo "      (or set STB_INC to a folder holding stb_ds.h; see README.md)" >&2
        exit 1
    fi
    command -v gnuplot >/dev/null 2>&1 ||
        echo "demo: gnuplot not found (sudo apt-get install gnuplot-nox): CSV only, no SVG" >&2
    [ -f /usr/include/zlib.h ] ||
        echo "demo: zlib.h not found (sudo apt-get install zlib1g-dev): the Fashion-MNIST example is skipped" >&2
fi

export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} # no spin-waiting between short parallel regions
make -s examples || exit 1
mkdir -p out
t0=$(date +%s)
for ex in quickstart p1_teaching icl_regimes kernel_bench; do
    echo
    echo "==================== examples/$ex.c ===================="
    "build/$ex" || { echo "demo: $ex failed" >&2; exit 1; }
done
for ex in expressivity gd_trajectory head_risk icl_prompts fashion_context; do
    echo
    echo "==================== examples/figures/$ex.c ===================="
    if [ ! -x "build/$ex" ]; then echo "skipped: not built (needs zlib1g-dev)"; continue; fi
    "build/$ex" $full || { echo "demo: $ex failed" >&2; exit 1; }
done
if command -v gnuplot >/dev/null 2>&1; then
    for gp in out/*.gp; do
        [ -f "$gp" ] || continue
        (cd out && gnuplot "$(basename "$gp")") || echo "demo: gnuplot failed on $gp" >&2
    done
fi
echo
echo "demo: done in $(( $(date +%s) - t0 )) s; CSV and SVG in out/:"
ls out | sed 's/^/  /'
