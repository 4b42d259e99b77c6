# prompt_attn.h - build, test, demo and benchmarks.  `make demo`, `make test`.
CC      ?= cc
CLANG   ?= clang
CXX_    ?= g++
STB_INC ?= /usr/include/stb
LIBS    ?= -lstb -lm
WARN     = -std=c99 -Wall -Wextra -pedantic -Werror
BASE     = $(WARN) -O2 -ffp-contract=off -I. -I$(STB_INC)
AVX      = -mavx2 -mfma
OMP      = -fopenmp
B        = build

HDR      = prompt_attn.h
TEST_SRC = $(wildcard tests/*.c)
TEST_DEP = $(TEST_SRC) tests/harness.h $(HDR) $(wildcard tests/dropin/*.c) tests/dropin.sh examples/figures/fashion_context.c
# fashion_context reads its data with zlib: built only where zlib.h is (Debian: zlib1g-dev)
ZLIB_H  ?= $(wildcard /usr/include/zlib.h)
EXAMPLES = $(patsubst examples/%.c,$(B)/%,$(wildcard examples/*.c)) \
           $(patsubst examples/figures/%.c,$(B)/%,$(wildcard examples/figures/*.c))
ifeq ($(ZLIB_H),)
EXAMPLES := $(filter-out $(B)/fashion_context,$(EXAMPLES))
endif
# sweep_mpi needs MPI's compiler wrapper: built by `make sweep-mpi` only
EXAMPLES := $(filter-out $(B)/sweep_mpi,$(EXAMPLES))
BENCHES  = $(patsubst bench/%.c,$(B)/bench_%,$(filter-out bench/sizes.c,$(wildcard bench/*.c)))

.PHONY: all test sanitize cxx strict multi-tu examples bench bench-sizes sweep-mpi demo demo-full clean deps install uninstall platforms fuzz

all: test examples

# -- tests: the suite in six builds whose dumps of every kernel, generator and training output
#    must match the strict scalar build byte for byte:
#      scalar    -DPATTN_NO_SIMD, 1 thread (the reference)
#      avx2      -mavx2 -mfma, 2 threads (AVX-512 kernels where the CPU has them)
#      no512     -mavx2 -mfma -DPATTN_NO_AVX512, 1 thread
#      dispatch  no SIMD flags: run-time dispatch picks AVX2 on this CPU, 2 threads
#      dscalar   no SIMD flags, the dispatch forced onto its scalar path, with the software
#                fma (PATTN_SOFT_FMA, the mingw-w64 default), 1 thread
#      gnu       gcc's GNU mode (no -std, no -ffp-contract: contraction allowed), -mavx2 -mfma
$(B)/test_avx2: $(TEST_DEP) | $(B)
	$(CC) $(BASE) $(AVX) $(OMP) -o $@ $(TEST_SRC) $(LIBS)
$(B)/test_scalar: $(TEST_DEP) | $(B)
	$(CC) $(BASE) -DPATTN_NO_SIMD $(OMP) -o $@ $(TEST_SRC) $(LIBS)
$(B)/test_no512: $(TEST_DEP) | $(B)
	$(CC) $(BASE) $(AVX) -DPATTN_NO_AVX512 $(OMP) -o $@ $(TEST_SRC) $(LIBS)
$(B)/test_dispatch: $(TEST_DEP) | $(B)
	$(CC) $(BASE) $(OMP) -o $@ $(TEST_SRC) $(LIBS)
$(B)/test_dscalar: $(TEST_DEP) | $(B)
	$(CC) $(BASE) -DPATTN__TEST_SCALAR_PATH -DPATTN_SOFT_FMA $(OMP) -o $@ $(TEST_SRC) $(LIBS)
$(B)/test_gnu: $(TEST_DEP) | $(B)
	$(CC) -O2 -Wall -Wextra -Werror -I. -I$(STB_INC) $(AVX) $(OMP) -o $@ $(TEST_SRC) $(LIBS)
TESTS = $(B)/test_scalar $(B)/test_avx2 $(B)/test_no512 $(B)/test_dispatch $(B)/test_dscalar $(B)/test_gnu
test: $(TESTS)
	@sh tests/run.sh scalar=$(B)/test_scalar:1 avx2=$(B)/test_avx2:2 no512=$(B)/test_no512:1 \
	    dispatch=$(B)/test_dispatch:2 dscalar=$(B)/test_dscalar:1 gnu=$(B)/test_gnu:2

# -- platforms: gcc and clang in several modes, tcc, aarch64 (NEON) under qemu-user, mingw-w64
#    under wine; each dump compared with the strict scalar build's (tests/platforms.sh)
platforms: | $(B)
	@B=$(B) sh tests/platforms.sh

# -- the suite under AddressSanitizer + UndefinedBehaviorSanitizer (both SIMD paths)
$(B)/test_asan_avx2: $(TEST_DEP) | $(B)
	$(CC) $(BASE) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all $(AVX) -o $@ $(TEST_SRC) $(LIBS)
$(B)/test_asan_scalar: $(TEST_DEP) | $(B)
	$(CC) $(BASE) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -DPATTN_NO_SIMD -o $@ $(TEST_SRC) $(LIBS)
$(B)/test_asan_dispatch: $(TEST_DEP) | $(B)
	$(CC) $(BASE) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -o $@ $(TEST_SRC) $(LIBS)
# clang's UBSan also flags arithmetic on a NULL pointer, which gcc's does not
$(B)/test_asan_clang: $(TEST_DEP) | $(B)
	$(CLANG) $(BASE) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all $(AVX) -o $@ $(TEST_SRC) $(LIBS)
# libFuzzer targets (clang), each for FUZZ_S seconds from tests/fuzz/corpus
FUZZ_S ?= 30
FUZZ_TARGETS = kernels linalg p1_models p1_theory p2_models p2_theory diff
fuzz:
	@sh tests/fuzz/run.sh $(FUZZ_S) $(FUZZ_TARGETS)

sanitize: $(B)/test_asan_avx2 $(B)/test_asan_scalar $(B)/test_asan_dispatch $(B)/test_asan_clang
	@sh tests/run.sh --quick scalar=$(B)/test_asan_scalar:1 avx2=$(B)/test_asan_avx2:2 dispatch=$(B)/test_asan_dispatch:1 \
	    clang=$(B)/test_asan_clang:1

# -- the header as C++, and strict C99 builds with both compilers and both paths
cxx: | $(B)
	$(CXX_) -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror -O2 -I. -I$(STB_INC) $(AVX) -o $(B)/cxx_check tests/tu/tu_cxx.cc $(LIBS)
	$(CXX_) -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror -O2 -I. -I$(STB_INC) -DPATTN_NO_SIMD -o $(B)/cxx_check_scalar tests/tu/tu_cxx.cc $(LIBS)
	$(CXX_) -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror -O2 -I. -I$(STB_INC) -o $(B)/cxx_check_dispatch tests/tu/tu_cxx.cc $(LIBS)
	clang++ -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror -O2 -I. -I$(STB_INC) -o $(B)/cxx_check_clang tests/tu/tu_cxx.cc $(LIBS)
	$(B)/cxx_check && $(B)/cxx_check_scalar && $(B)/cxx_check_dispatch && $(B)/cxx_check_clang
strict: | $(B)
	@for cc in $(CC) $(CLANG); do for simd in "$(AVX)" "-DPATTN_NO_SIMD" "$(AVX) -DPATTN_NO_SIMD" ""; do \
	  echo "$$cc $(WARN) $$simd"; \
	  $$cc $(WARN) -O2 -I. -I$(STB_INC) $$simd -c tests/tu/tu_a.c -o $(B)/strict.o || exit 1; \
	  $$cc $(WARN) -O2 -I. -I$(STB_INC) $$simd -DPATTN_STATIC -c tests/tu/tu_a.c -o $(B)/strict_static.o || exit 1; \
	done; done; echo "strict: ok"

# -- two translation units with the implementation in one; a third uses PATTN_STATIC.
#    No pattn__ (private) symbol may be exported, and no public one defined twice.
multi-tu: | $(B)
	$(CC) $(BASE) $(AVX) -c tests/tu/tu_a.c -o $(B)/tu_a.o
	$(CC) $(BASE) $(AVX) -c tests/tu/tu_b.c -o $(B)/tu_b.o
	$(CC) $(BASE) $(AVX) -DPATTN_STATIC -c tests/tu/tu_a.c -o $(B)/tu_s.o
	$(CC) -o $(B)/multi_tu $(B)/tu_a.o $(B)/tu_b.o $(LIBS)
	@if nm -g --defined-only $(B)/tu_a.o $(B)/tu_b.o $(B)/tu_s.o | grep -E ' pattn__'; then echo "multi-tu: private symbols leak"; exit 1; fi
	@if nm -g --defined-only $(B)/tu_s.o | grep -E ' [TDBR] pattn_'; then echo "multi-tu: PATTN_STATIC exports"; exit 1; fi
	@if nm -g --defined-only $(B)/tu_b.o | grep -E ' [TDBR] pattn'; then echo "multi-tu: the plain TU defines library symbols"; exit 1; fi
	$(B)/multi_tu
	$(CC) $(BASE) -c tests/tu/tu_a.c -o $(B)/tu_d.o
	$(CC) -o $(B)/multi_tu_d $(B)/tu_d.o $(B)/tu_b.o $(LIBS)
	@if nm -g --defined-only $(B)/tu_d.o | grep -E ' pattn__| [TDBR] pattn_[a-z0-9_]*_(avx2|scalar)$$'; then echo "multi-tu: the dispatching build exports per-path names"; exit 1; fi
	$(B)/multi_tu_d
	@echo "multi-tu: ok"

# -- examples, the demo, benchmarks
$(B)/%: examples/%.c $(HDR) | $(B)
	$(CC) $(BASE) -O3 $(AVX) $(OMP) -o $@ $< $(LIBS)
$(B)/%: examples/figures/%.c $(HDR) | $(B)
	$(CC) $(BASE) -O3 $(AVX) $(OMP) -o $@ $< $(LIBS)
$(B)/fashion_context: examples/figures/fashion_context.c $(HDR) | $(B)
	$(CC) $(BASE) -O3 $(AVX) $(OMP) -o $@ $< $(LIBS) -lz
examples: $(EXAMPLES)

$(B)/bench_%: bench/%.c bench/bench.h $(HDR) | $(B)
	$(CC) $(WARN) -O3 -I. -I$(STB_INC) $(AVX) $(OMP) -o $@ $< $(LIBS)
$(B)/bench_%_scalar: bench/%.c bench/bench.h $(HDR) | $(B)
	$(CC) $(WARN) -O3 -I. -I$(STB_INC) -DPATTN_NO_SIMD $(OMP) -o $@ $< $(LIBS)
# the scalar twins of the workloads whose scalar/AVX2 ratio is reported
BENCH_SCALAR = $(B)/bench_w1_pa_grad_scalar $(B)/bench_w4_softmax_scalar $(B)/bench_rng_normal_scalar
# the AVX2 build without its run-time AVX-512 kernels, for every workload
$(B)/bench_%_no512: bench/%.c bench/bench.h $(HDR) | $(B)
	$(CC) $(WARN) -O3 -I. -I$(STB_INC) $(AVX) -DPATTN_NO_AVX512 $(OMP) -o $@ $< $(LIBS)
BENCH_NO512 = $(patsubst bench/%.c,$(B)/bench_%_no512,$(filter-out bench/machine.c bench/sizes.c,$(wildcard bench/*.c)))
# every workload built with no SIMD flags at all: the run-time dispatch picks AVX2
$(B)/bench_%_dispatch: bench/%.c bench/bench.h $(HDR) | $(B)
	$(CC) $(WARN) -O3 -I. -I$(STB_INC) $(OMP) -o $@ $< $(LIBS)
BENCH_DISPATCH = $(patsubst bench/%.c,$(B)/bench_%_dispatch,$(filter-out bench/machine.c bench/sizes.c,$(wildcard bench/*.c)))
bench: $(BENCHES) $(BENCH_SCALAR) $(BENCH_NO512) $(BENCH_DISPATCH)
	@sh bench/run.sh $(B)
# W1 and W2 over a grid of sample shapes T x d and W3 over context lengths n x d, 1 and 2
# threads, against read and write rooflines measured in the same process:
# build/bench_sizes.csv and build/bench_sizes.svg
bench-sizes: $(B)/bench_sizes
	@cd $(B) && OMP_PROC_BIND=$${OMP_PROC_BIND:-close} ./bench_sizes
	@if command -v gnuplot >/dev/null 2>&1; then cd $(B) && gnuplot bench_sizes.gp && echo "wrote $(B)/bench_sizes.svg"; fi

# -- the head-risk sweep over MPI ranks (Open MPI: libopenmpi-dev, openmpi-bin). NP=1 is the
#    single-process run; every NP writes the same out/sweep_mpi.csv. As root, Open MPI's
#    mpirun wants --allow-run-as-root (and --oversubscribe for more ranks than cores).
NP      ?= 2
MPICC   ?= mpicc
MPIRUN  ?= mpirun
MPIFLAGS = $(shell [ "$$(id -u)" = 0 ] && echo --allow-run-as-root) --oversubscribe
$(B)/sweep_mpi: examples/sweep_mpi.c $(HDR) | $(B)
	$(MPICC) $(BASE) -O3 $(AVX) -o $@ $< $(LIBS)
sweep-mpi: $(B)/sweep_mpi
	@mkdir -p out
	$(MPIRUN) $(MPIFLAGS) -np $(NP) $(B)/sweep_mpi

demo:
	@sh examples/demo.sh
demo-full:
	@sh examples/demo.sh --full

# -- install: the header and a pkg-config file (Debian's stb_ds: -I/usr/include/stb -lstb)
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION  = $(shell sed -n 's/^\#define PATTN_VERSION_STRING "\(.*\)"/\1/p' $(HDR))
install:
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/doc/prompt_attn
	install -m 644 $(HDR) $(DESTDIR)$(PREFIX)/include/prompt_attn.h
	install -m 644 README.md CHANGELOG.md LICENSE docs/reference.md docs/models.md docs/theory.md docs/expressivity.md docs/limits.md $(DESTDIR)$(PREFIX)/share/doc/prompt_attn/
	printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$${prefix}/include' '' \
	  'Name: prompt_attn' \
	  'Description: prompt-attention and task-specific ICL prompts in one C header (define PATTN_IMPLEMENTATION in one file)' \
	  'Version: $(VERSION)' 'URL: https://arxiv.org/abs/2306.03435' \
	  'Cflags: -I$${includedir} -I$(STB_INC)' 'Libs: -lstb -lm' \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/prompt_attn.pc
	@echo "installed $(DESTDIR)$(PREFIX)/include/prompt_attn.h and $(DESTDIR)$(PREFIX)/lib/pkgconfig/prompt_attn.pc"
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/prompt_attn.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/prompt_attn.pc
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/prompt_attn

$(B):
	@mkdir -p $(B)
clean:
	rm -rf $(B) out
