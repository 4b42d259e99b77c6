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
TEST_DEP = $(TEST_SRC) tests/harness.h $(HDR) $(wildcard tests/dropin/*.c) tests/dropin.sh
EXAMPLES = $(patsubst examples/%.c,$(B)/%,$(wildcard examples/*.c)) \
           $(patsubst examples/figures/%.c,$(B)/%,$(wildcard examples/figures/*.c))
BENCHES  = $(patsubst bench/%.c,$(B)/bench_%,$(wildcard bench/*.c))

.PHONY: all test sanitize cxx strict multi-tu examples bench demo demo-full clean deps install uninstall

all: test examples

# -- tests: the AVX2 build (2 threads, AVX-512 kernels where the CPU has them), the same
#    without AVX-512 (1 thread) and the scalar build (1 thread) run the whole suite; their
#    dumps of every kernel and generator output must match byte for byte.
$(B)/test_avx2: $(TEST_DEP) | $(B)
	$(CC) $(BASE) $(AVX) $(OMP) -o $@ $(TEST_SRC) $(LIBS)
$(B)/test_scalar: $(TEST_DEP) | $(B)
	$(CC) $(BASE) -DPATTN_NO_SIMD $(OMP) -o $@ $(TEST_SRC) $(LIBS)
$(B)/test_no512: $(TEST_DEP) | $(B)
	$(CC) $(BASE) $(AVX) -DPATTN_NO_AVX512 $(OMP) -o $@ $(TEST_SRC) $(LIBS)
test: $(B)/test_avx2 $(B)/test_scalar $(B)/test_no512
	@sh tests/run.sh $(B)/test_avx2 $(B)/test_scalar $(B)/test_no512

# -- the suite under AddressSanitizer + UndefinedBehaviorSanitizer (both SIMD paths)
$(B)/test_asan_avx2: $(TEST_DEP) | $(B)
	$(CC) $(BASE) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all $(AVX) -o $@ $(TEST_SRC) $(LIBS)
$(B)/test_asan_scalar: $(TEST_DEP) | $(B)
	$(CC) $(BASE) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -DPATTN_NO_SIMD -o $@ $(TEST_SRC) $(LIBS)
sanitize: $(B)/test_asan_avx2 $(B)/test_asan_scalar
	@sh tests/run.sh --quick $(B)/test_asan_avx2 $(B)/test_asan_scalar

# -- the header as C++, and strict C99 builds with both compilers and both paths
cxx: | $(B)
	$(CXX_) -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror -O2 -I. -I$(STB_INC) $(AVX) -o $(B)/cxx_check tests/tu/tu_cxx.cc $(LIBS)
	$(CXX_) -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror -O2 -I. -I$(STB_INC) -DPATTN_NO_SIMD -o $(B)/cxx_check_scalar tests/tu/tu_cxx.cc $(LIBS)
	$(B)/cxx_check && $(B)/cxx_check_scalar
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
	@echo "multi-tu: ok"

# -- examples, the demo, benchmarks
$(B)/%: examples/%.c $(HDR) | $(B)
	$(CC) $(BASE) -O3 $(AVX) $(OMP) -o $@ $< $(LIBS)
$(B)/%: examples/figures/%.c $(HDR) | $(B)
	$(CC) $(BASE) -O3 $(AVX) $(OMP) -o $@ $< $(LIBS)
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
BENCH_NO512 = $(patsubst bench/%.c,$(B)/bench_%_no512,$(filter-out bench/machine.c,$(wildcard bench/*.c)))
bench: $(BENCHES) $(BENCH_SCALAR) $(BENCH_NO512)
	@sh bench/run.sh $(B)

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
	install -m 644 README.md CHANGELOG.md LICENSE docs/reference.md docs/models.md docs/theory.md $(DESTDIR)$(PREFIX)/share/doc/prompt_attn/
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
