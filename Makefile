# lfm-tools: Text-Guided Mixup for long-tailed image classification, as small Unix tools.
#
#   make              build every tool into bin/ and libcommon into build/libcommon.a
#   make check        build and run every test; ends with "N passed, N failed"
#   make check-asan   the unit tests again under AddressSanitizer + UBSan
#   make fuzz         run each libFuzzer target for FUZZ_SECONDS (clang)
#   make demo         the whole pipeline on the embedded data
#   make install PREFIX=/usr/local DESTDIR=   /   make uninstall
#   make CUDA=0       CPU-only even when nvcc is present; WERROR=1 turns warnings into errors
#   make MPI=0        without Open MPI even when it is installed
#
# Sources are discovered, not listed: libcommon/*/*.c make the library, tools/NAME/*.c make bin/NAME,
# tests/unit/test_*.c make one test program each, tests/golden/*.c make tests/golden-check,
# tests/fuzz/fuzz_*.c are fuzz targets, cuda/*.cu make build/liblfm_cuda.a. Adding a file needs no edit here.

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
CFLAGS   ?= -O2 -g
WERROR   ?= 0
BUILD    ?= build

PKGS := msgpack libarchive zlib libturbojpeg openblas libutf8proc nettle jansson

# A missing dependency: scripts/deps.sh installs it (root) or prints the apt-get command (otherwise).
# Open MPI is wanted too (data-parallel runs on the CPU, NCCL's bootstrap under mpirun) but not needed:
# without it the tools build, and a CPU run on several ranks is refused with a message.
MPI ?= 1
ifeq ($(filter clean uninstall help,$(MAKECMDGOALS)),)
  ifneq ($(shell pkg-config --exists $(PKGS) $(if $(filter 1,$(MPI)),ompi-c) && echo yes),yes)
    $(info Some libraries are missing; running scripts/deps.sh)
    DEPS_STATUS := $(shell sh scripts/deps.sh >&2; echo $$?)
    ifneq ($(DEPS_STATUS),0)
      ifneq ($(shell pkg-config --exists $(PKGS) && echo yes),yes)
        $(error missing dependencies: see the message above)
      endif
      $(info Open MPI is missing: building without it (several ranks then need GPUs and NCCL))
    endif
  endif
endif
ifeq ($(MPI),1)
  ifeq ($(shell pkg-config --exists ompi-c && echo yes),yes)
    MPI_CFLAGS := -DLFM_HAVE_MPI -DOMPI_SKIP_MPICXX $(shell pkg-config --cflags ompi-c)
    MPI_LIBS   := $(shell pkg-config --libs ompi-c)
  endif
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter
ifeq ($(WERROR),1)
  WARN += -Werror
endif
ALL_CPPFLAGS := -Ilibcommon -Icuda -D_GNU_SOURCE -DLFM_VERSION='"$(VERSION)"' \
                -DLFM_DATADIR='"$(PREFIX)/share/lfm"' $(PKG_CFLAGS) $(MPI_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS   := -std=c11 $(WARN) -pthread $(CFLAGS)
LDLIBS_ALL   := $(PKG_LIBS) $(MPI_LIBS) -lm -pthread $(LDLIBS)

# ---- CUDA (optional) ----------------------------------------------------------------------------
NVCC_FOUND := $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
ifeq ($(CUDA),0)
  NVCC :=
else
  NVCC ?= $(NVCC_FOUND)
endif
CUDA_GENCODE ?= -gencode=arch=compute_90,code=sm_90
NVCCFLAGS    ?= -O2 -g
NVCC_WARN    := -Xcompiler -Wall,-Wextra,-Wno-unused-parameter
ifeq ($(WERROR),1)
  NVCC_WARN := -Werror all-warnings -Xcompiler -Wall,-Wextra,-Wno-unused-parameter,-Werror
endif

# ---- sources ------------------------------------------------------------------------------------
LIB_SRCS   := $(sort $(wildcard libcommon/*/*.c))
LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB        := $(BUILD)/libcommon.a
TOOLS      := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard tools/*/*.c)))))
TOOL_BINS  := $(TOOLS:%=bin/%)
TEST_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
TEST_BINS  := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
GOLDEN_SRCS:= $(sort $(wildcard tests/golden/*.c))
# tests/interop/*.c: test-support programs of the interop tests (our features to compare with other
# libraries'), not unit tests: built into BUILD/tests/interop/, run by tests/cli/interop_*.sh.
INTEROP_BINS := $(patsubst tests/interop/%.c,$(BUILD)/tests/interop/%,$(sort $(wildcard tests/interop/*.c)))
FUZZ_SRCS  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_SRCS:tests/fuzz/%.c=%)
REPLAY_BINS:= $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/%)
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
GPU_BENCH_BINS := $(patsubst bench/gpu/%.c,$(BUILD)/bench/gpu/%,$(sort $(wildcard bench/gpu/*.c)))
CU_SRCS    := $(sort $(wildcard cuda/*.cu))
CUDA_C_OBJS:= $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard cuda/*.c)))
CUDA_TEST_SRCS := $(sort $(wildcard tests/cuda/cuda_*.c))
# The tools that can run on a GPU link the CUDA library: the real one (nvcc), or cuda/none/ without it.
DEVICE_TOOLS := lfm-fit lfm-eval clip-embed-text
# The host emulation (tests/cuda-host/): cuda/*.cu compiled again by the C++ compiler, for make check.
CXX        ?= g++
EMU_CXXFLAGS := -std=c++17 -O1 -g $(WARN) -DLFM_CUDA_EMULATION -include tests/cuda-host/cuda_host.h \
                -Itests/cuda-host/include -Ilibcommon -Icuda -pthread -DLFM_HAVE_NCCL $(MPI_CFLAGS)
EMU_LIB    := $(BUILD)/emu/liblfm_cuda_emu.a
EMU_OBJS   := $(CU_SRCS:%.cu=$(BUILD)/emu/%.o) $(patsubst %.cc,$(BUILD)/emu/%.o,$(sort $(wildcard tests/cuda-host/*.cc)))
EMU_TESTS  := $(CUDA_TEST_SRCS:tests/cuda/%.c=$(BUILD)/emu/tests/%) \
              $(patsubst tests/cuda-host/%.cc,$(BUILD)/emu/tests/%,$(sort $(wildcard tests/cuda-host/selftest_*.cc)))
EMU_TOOLS  := $(DEVICE_TOOLS:%=$(BUILD)/emu/bin/%) $(BUILD)/emu/golden-check
EMU_LIBS   := -lstdc++
ifneq ($(NVCC),)
  CU_OBJS    := $(CU_SRCS:%.cu=$(BUILD)/%.o)
  CUDA_LIB   := $(BUILD)/liblfm_cuda.a
  # nvcc may be a wrapper script outside the toolkit (/usr/local/bin/nvcc exec'ing the real one), so
  # ask nvcc itself where its toolkit is (its dry run prints TOP=), and look for the libraries in each
  # place toolkits put them.
  CUDA_HOME  ?= $(shell $(NVCC) -dryrun -x cu -c /dev/null -o /dev/null 2>&1 | \
                  sed -n 's/^\#\$$ TOP=//p' | head -n 1)
  ifeq ($(strip $(CUDA_HOME)),)
    CUDA_HOME := $(patsubst %/bin/nvcc,%,$(NVCC))
  else
    CUDA_HOME := $(abspath $(CUDA_HOME))
  endif
  CUDA_LIBDIR ?= $(firstword $(foreach d,lib64 lib targets/x86_64-linux/lib,\
                   $(if $(wildcard $(CUDA_HOME)/$(d)/libcublas.so),$(CUDA_HOME)/$(d))))
  ifneq ($(and $(CUDA_LIBDIR),$(wildcard $(CUDA_LIBDIR)/libcudnn.so)),)
    CUDA_LIBS  := -L$(CUDA_LIBDIR) -Wl,-rpath,$(CUDA_LIBDIR) -lcublasLt -lcudart -lstdc++
    # NCCL for data-parallel runs on several GPUs, when the toolkit has it
    ifneq ($(wildcard $(CUDA_LIBDIR)/libnccl.so),)
      NCCL_FLAGS := -DLFM_HAVE_NCCL
      CUDA_LIBS  += -lnccl
    endif
    CUDA_TESTS := $(CUDA_TEST_SRCS:tests/cuda/%.c=$(BUILD)/tests/%)
    TOOL_CUDA_LIB := $(CUDA_LIB)
    TOOL_CUDA_LIBS := $(CUDA_LIBS)
  else
    # The .cu files still compile; only the linked CUDA programs need the libraries.
    CUDA_LIBS_MISSING := 1
  endif
endif
ifeq ($(TOOL_CUDA_LIB),)
  TOOL_CUDA_LIB := $(BUILD)/liblfm_cuda_none.a
endif

.PHONY: emu all check check-asan check-cuda check-golden-other fuzz demo install uninstall clean summary bench
all: $(LIB) $(TOOL_BINS) tests/golden-check $(INTEROP_BINS) $(CUDA_LIB) $(CUDA_TESTS) $(if $(CUDA_TESTS),$(BUILD)/golden-check-cuda) summary
emu: $(EMU_LIB) $(EMU_TESTS) $(EMU_TOOLS)

summary: $(LIB) $(TOOL_BINS)
	@printf 'lfm-tools %s: %d tools in bin/ (%s)\n' '$(VERSION)' $(words $(TOOLS)) '$(TOOLS)'
	@printf '  libraries: %s\n' '$(PKGS)'
	@printf '  MPI: %s\n' '$(if $(MPI_LIBS),Open MPI ($(MPI_LIBS)),off (not found or MPI=0): a CPU run on several ranks is refused)'
	@printf '  CUDA: %s\n' '$(if $(NVCC),$(NVCC) for sm_90 ($(words $(CU_SRCS)) .cu files; toolkit $(CUDA_HOME)$(if $(CUDA_LIBS_MISSING),; cuBLAS/cuDNN libraries not found: CUDA tests not linked,; libraries $(CUDA_LIBDIR)$(if $(NCCL_FLAGS),; NCCL,; no NCCL: one GPU a run))),off (nvcc not found or CUDA=0))'
	@printf '  fuzzing: %s\n' '$(if $(shell command -v clang 2>/dev/null),clang found (make fuzz),clang not found (make fuzz unavailable; seed corpora still replayed))'

# Header dependencies are written by the compilers themselves (-MMD -MP: BUILD/x.d beside BUILD/x.o) and
# read back below, so an object rebuilds exactly when a header it includes changes.
DEPFLAGS := -MMD -MP

$(BUILD)/%.o: %.c | $(BUILD)/.dirs
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/.dirs:
	@mkdir -p $(BUILD) bin
	@touch $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

define TOOL_RULE
bin/$(1): $$(patsubst %.c,$(BUILD)/%.o,$$(wildcard tools/$(1)/*.c)) $(LIB)
	@mkdir -p bin
	$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS_ALL)
endef
define DEVICE_TOOL_RULE
bin/$(1): $$(patsubst %.c,$(BUILD)/%.o,$$(wildcard tools/$(1)/*.c)) $(TOOL_CUDA_LIB) $(LIB)
	@mkdir -p bin
	$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(TOOL_CUDA_LIBS) $$(LDLIBS_ALL)
$(BUILD)/emu/bin/$(1): $$(patsubst %.c,$(BUILD)/%.o,$$(wildcard tools/$(1)/*.c)) $(EMU_LIB) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(EMU_LIBS) $$(LDLIBS_ALL)
endef
$(foreach t,$(filter-out $(DEVICE_TOOLS),$(TOOLS)),$(eval $(call TOOL_RULE,$(t))))
$(foreach t,$(DEVICE_TOOLS),$(eval $(call DEVICE_TOOL_RULE,$(t))))

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

tests/golden-check: $(GOLDEN_SRCS:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

# The programs of tests/interop/ (INTEROP_BINS above): each from its one .c file and the library.
$(BUILD)/tests/interop/%: $(BUILD)/tests/interop/%.o $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

# Fuzz targets built with a plain main() that feeds each corpus file once: gcc, no libFuzzer needed.
$(BUILD)/fuzz-replay/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay_main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)
$(BUILD)/bench/gpu/%: $(BUILD)/bench/gpu/%.o $(TOOL_CUDA_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(TOOL_CUDA_LIBS) $(LDLIBS_ALL)
bench: $(BENCH_BINS) $(TOOL_BINS) $(if $(NVCC),$(GPU_BENCH_BINS))

$(BUILD)/cuda/%.o: cuda/%.cu | $(BUILD)/.dirs
	@mkdir -p $(dir $@)
	$(NVCC) $(CUDA_GENCODE) $(NVCCFLAGS) $(NVCC_WARN) -Ilibcommon -Icuda $(NCCL_FLAGS) $(DEPFLAGS) -c $< -o $@
$(BUILD)/tests/cuda_%: tests/cuda/cuda_%.c $(CUDA_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -Icuda -I$(CUDA_HOME)/include $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CUDA_LIBS) $(LDLIBS_ALL)

$(BUILD)/liblfm_cuda.a: $(CU_OBJS) $(CUDA_C_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^
$(BUILD)/liblfm_cuda_none.a: $(BUILD)/cuda/none/cuda_none.o $(CUDA_C_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# ---- the host emulation of the CUDA code (tests/cuda-host/README.md) ----------------------------------
$(BUILD)/emu/cuda/%.o: cuda/%.cu tests/cuda-host/cuda_host.h | $(BUILD)/.dirs
	@mkdir -p $(dir $@)
	$(CXX) $(EMU_CXXFLAGS) $(DEPFLAGS) -x c++ -c $< -o $@
$(BUILD)/emu/tests/cuda-host/%.o: tests/cuda-host/%.cc tests/cuda-host/cuda_host.h | $(BUILD)/.dirs
	@mkdir -p $(dir $@)
	$(CXX) $(EMU_CXXFLAGS) $(PKG_CFLAGS) $(DEPFLAGS) -c $< -o $@
$(EMU_LIB): $(filter-out $(BUILD)/emu/tests/cuda-host/selftest_%.o,$(EMU_OBJS)) $(CUDA_C_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^
$(BUILD)/emu/tests/cuda_%: tests/cuda/cuda_%.c $(EMU_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -DLFM_CUDA_EMULATION $(ALL_CFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $^ $(EMU_LIBS) $(LDLIBS_ALL)
# The golden checker again with its training step through the CUDA runner (LFM_GOLDEN_PRECISION)
$(BUILD)/emu/golden/%.o: tests/golden/%.c | $(BUILD)/.dirs
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -DLFM_GOLDEN_CUDA $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@
$(BUILD)/emu/golden-check: $(GOLDEN_SRCS:tests/golden/%.c=$(BUILD)/emu/golden/%.o) $(EMU_LIB) $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(EMU_LIBS) $(LDLIBS_ALL)
$(BUILD)/golden-check-cuda: $(GOLDEN_SRCS:tests/golden/%.c=$(BUILD)/emu/golden/%.o) $(CUDA_LIB) $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CUDA_LIBS) $(LDLIBS_ALL)
$(BUILD)/emu/tests/selftest_%: $(BUILD)/emu/tests/cuda-host/selftest_%.o $(EMU_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) -pthread $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)
.PRECIOUS: $(BUILD)/emu/tests/cuda-host/%.o

# ---- tests --------------------------------------------------------------------------------------
check: all emu $(TEST_BINS) $(REPLAY_BINS) $(INTEROP_BINS)
	@sh tests/run.sh $(BUILD)

# Unit tests and seed-corpus replays again under ASan + UBSan, in a separate build tree.
check-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan CUDA=0 \
	  CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
	  LDFLAGS='-fsanitize=address,undefined' \
	  build-asan/libcommon.a $(TEST_BINS:$(BUILD)/%=build-asan/%) $(REPLAY_BINS:$(BUILD)/%=build-asan/%)
	@ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  LFM_TEST_UNIT_ONLY=1 sh tests/run.sh build-asan

FUZZ_SECONDS ?= 60
fuzz:
	@command -v clang >/dev/null || { echo "make fuzz needs clang (apt-get install clang)"; exit 2; }
	@$(MAKE) --no-print-directory BUILD=build-fuzz CUDA=0 CC=clang \
	  CFLAGS='-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined' build-fuzz/libcommon.a
	@mkdir -p build-fuzz/fuzz
	@for t in $(FUZZ_NAMES); do \
	  clang $(ALL_CPPFLAGS) -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    tests/fuzz/$$t.c build-fuzz/libcommon.a $(LDLIBS_ALL) -o build-fuzz/fuzz/$$t || exit 1; \
	  mkdir -p build-fuzz/corpus/$$t; \
	  echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  build-fuzz/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 \
	    build-fuzz/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# The golden checker on a folder made for another model size by scripts/make-golden.py (PyTorch);
# also part of make check, skipped where Debian's python3-torch is missing.
check-golden-other: all
	sh scripts/check-golden-other-size.sh

check-cuda: all
	@if [ -z "$(NVCC)" ]; then echo "check-cuda: nvcc not found"; exit 2; fi
	@if [ -n "$(CUDA_LIBS_MISSING)" ]; then echo "check-cuda: cuBLAS/cuDNN not found under $(CUDA_HOME) (set CUDA_LIBDIR=)"; exit 2; fi
	@sh tests/run.sh $(BUILD) cuda
	@if command -v compute-sanitizer >/dev/null; then for t in $(BUILD)/tests/cuda_*; do \
	  compute-sanitizer --tool memcheck --error-exitcode 99 $$t >/dev/null 2>&1 || { echo "memcheck: $$t failed"; exit 1; }; \
	done; echo "compute-sanitizer memcheck: clean"; fi

demo: all
	@sh pipelines/demo.sh

# ---- install ------------------------------------------------------------------------------------
MANPAGES := $(wildcard man/*.[1-9])
DATAFILES:= $(wildcard data/clip/*)
CLASSFILES:= $(wildcard data/classes/*)
PIPELINEFILES := $(wildcard pipelines/*.mk pipelines/*.sh pipelines/*.gp)
PIPELINEFIGS  := $(wildcard pipelines/figures/*.py)
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/lfm/clip $(DESTDIR)$(PREFIX)/share/lfm/classes
	install -m 755 $(TOOL_BINS) $(DESTDIR)$(PREFIX)/bin/
	@for m in $(MANPAGES); do s=$${m##*.}; \
	  install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
	  echo install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; \
	  install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done
	$(if $(DATAFILES),install -m 644 $(DATAFILES) $(DESTDIR)$(PREFIX)/share/lfm/clip/)
	$(if $(CLASSFILES),install -m 644 $(CLASSFILES) $(DESTDIR)$(PREFIX)/share/lfm/classes/)
	install -d $(DESTDIR)$(PREFIX)/share/lfm/pipelines
	install -m 644 $(PIPELINEFILES) $(DESTDIR)$(PREFIX)/share/lfm/pipelines/
	install -d $(DESTDIR)$(PREFIX)/share/lfm/pipelines/figures
	$(if $(PIPELINEFIGS),install -m 644 $(PIPELINEFIGS) $(DESTDIR)$(PREFIX)/share/lfm/pipelines/figures/)

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(PREFIX)/bin/%)
	@for m in $(MANPAGES); do s=$${m##*.}; b=$${m##*/}; \
	  echo rm -f $(DESTDIR)$(PREFIX)/share/man/man$$s/$$b; rm -f $(DESTDIR)$(PREFIX)/share/man/man$$s/$$b; done
	rm -rf $(DESTDIR)$(PREFIX)/share/lfm

clean:
	rm -rf $(BUILD) build-asan build-fuzz bin tests/golden-check

.SECONDARY:

# The dependency files of every object built so far (none on a first build: then everything builds).
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
