# pipelines/lfm.mk — the paper's two-stage recipe as make rules, included by the per-dataset files
# (cifar10-lt.mk, cifar100-lt.mk, imagenet-lt.mk, places-lt.mk); not a makefile of its own. Each
# experiment (a method at an imbalance factor) lives in $(OUT)/g<imbalance>/<method>/ and ends in
# eval.json; `make -f pipelines/X.mk` (goal `table`) collects every finished experiment into
# $(OUT)/results.tsv. Nothing is chosen on the test set: the numbers are the last epoch's.
#
# Runs from any folder: the tools, collect.sh, the plot script and the class lists are found from this
# file's own path; the paths a user gives (datasets, WEIGHTS, OUT) are relative to the current folder.
#
# Variables a user sets (the dataset file gives defaults):
#   BIN       the folder of the tools. Default: the build tree's bin/ beside this pipelines/ folder
#             when it has been built (make), else the tools on PATH (make install). BIN= (empty) forces
#             PATH; BIN=DIR names a folder.
#   WEIGHTS   CLIP weights, safetensors (OpenAI/open_clip or Hugging Face names)
#   OUT       where results go
#   SEED      the seed of every random choice (default 0; stage 2's plan uses SEED + 1)
#   THREADS   threads of lfm-fit / lfm-eval (default 0: all CPUs)
#   LAUNCH    a launcher put in front of every lfm-fit (default none: one process). The paper's ImageNet-LT
#             and Places-LT runs on three GPUs, 32 images each (BATCH is the global batch, 96 there):
#               make -f pipelines/imagenet-lt.mk LAUNCH="mpirun -np 3" ...
#             or LAUNCH="srun" inside an allocation; see lfm-fit(1), SEVERAL GPUS AND MACHINES.
#   METHODS   which experiments: ce lfm-ce lfm-mms mixup remix remix-official (see the table below)
# Per dataset: TRAIN_SOURCE/TEST_SOURCE (+ LIST options), TRAIN_DATA/TEST_DATA, BATCH,
# S1_EPOCHS/S1_LR/S1_MIN_LR, S2_EPOCHS/S2_LR/S2_MIN_LR, ALPHA (S2_ALPHA), TAU, METHODS, IMBALANCES.
# A dataset file of your own sets those and ends with `include $(dir $(lastword $(MAKEFILE_LIST)))lfm.mk`
# (or the path of this file).

# This file's folder (pipelines/), captured before anything else is included, and the tree above it.
LFM_PIPELINES := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
LFM_TOP       := $(patsubst %/,%,$(dir $(LFM_PIPELINES)))

ifeq ($(firstword $(MAKEFILE_LIST)),$(lastword $(MAKEFILE_LIST)))
  $(error $(lastword $(MAKEFILE_LIST)) holds the rules every pipeline shares and is not run by itself; \
    run a dataset's file, e.g. make -f $(LFM_PIPELINES)/cifar10-lt.mk CIFAR10=cifar-10-binary.tar.gz \
    WEIGHTS=ViT-B-32.safetensors (also cifar100-lt.mk, imagenet-lt.mk, places-lt.mk))
endif
ifeq ($(strip $(TRAIN_DATA)),)
  $(error $(firstword $(MAKEFILE_LIST)): a dataset file must set TRAIN_DATA, TEST_DATA and the \
    samples sources before including lfm.mk (see pipelines/cifar10-lt.mk))
endif

# The tools: the build tree's bin/ when built, else PATH; BIN given (even empty) wins.
ifeq ($(origin BIN),undefined)
  ifneq ($(wildcard $(LFM_TOP)/bin/lfm-fit),)
    BIN := $(LFM_TOP)/bin
  else ifneq ($(shell command -v lfm-fit 2>/dev/null),)
    BIN :=
  else
    BIN := $(LFM_TOP)/bin
    ifeq ($(findstring n,$(firstword -$(MAKEFLAGS))),)
      $(error the lfm tools were found neither in $(LFM_TOP)/bin (run make in $(LFM_TOP)) nor on PATH \
        (make install); or name their folder with BIN=DIR)
    endif
  endif
endif
TOOL = $(if $(BIN),$(BIN)/)$(1)

# The class-name lists (data/classes/ in the source tree; share/lfm/classes/ beside an installed
# share/lfm/pipelines/).
LFM_CLASSES ?= $(firstword $(wildcard $(LFM_TOP)/data/classes $(LFM_TOP)/classes) $(LFM_TOP)/data/classes)

OUT      ?= results
SEED     ?= 0
THREADS  ?= 0
BETA     ?= 0.5
S2_ALPHA ?= $(ALPHA)
TEMPLATE ?= a photo of a {}
PLOT     ?= gnuplot

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:

# ---- shared inputs --------------------------------------------------------------------------------
# lt-subset's arguments per imbalance factor (datasets with fixed split lists ignore the factor).
TRAIN_SAMPLES_ARGS ?= --imbalance $(1) --seed $(SEED) $(TRAIN_SOURCE)
TEST_SAMPLES_ARGS  ?= --split $(TEST_SPLIT) $(TEST_SOURCE)

$(OUT)/g%/train.samples:
	@mkdir -p $(@D)
	$(call TOOL,lt-subset) $(call TRAIN_SAMPLES_ARGS,$*) -o $@

$(OUT)/test.samples:
	@mkdir -p $(@D)
	$(call TOOL,lt-subset) $(TEST_SAMPLES_ARGS) -o $@

$(OUT)/text.npy: $(OUT)/test.samples
	$(call TOOL,clip-embed-text) --model $(WEIGHTS) --template '$(TEMPLATE)' --underscores-to-spaces \
	  --samples $< -o $@

# ---- plans: one per stage (stage 2 has its own epochs and, for Places-LT, its own alpha) -----------
# Method-specific arguments of lfm-pairs, lfm-mix and lfm-fit. The methods (a METHODS entry each):
#   ce              plain cross-entropy, no mixing (lfm-mix --method none)
#   lfm-ce, lfm-mms the paper's method: local sampling by text similarity + label shift, CE or MMS loss
#   mixup           Mixup (Zhang et al. 2018): uniform partners, one lambda per batch
#   remix           Remix as the paper states it (Chou et al. 2020's rule: the label to the minority class)
#   remix-official  the official text-guided-mixup code's Remix, its two cases swapped (the label to the
#                   majority class): reproduces that code's Remix numbers, not the published rule
PAIRS_lfm-ce    = --text $(OUT)/text.npy --tau $(TAU)
PAIRS_lfm-mms   = --text $(OUT)/text.npy --tau $(TAU)
PAIRS_ce        = --uniform
PAIRS_mixup     = --uniform
PAIRS_remix     = --uniform
PAIRS_remix-official = --uniform
MIX_lfm-ce      = --method lfm --beta $(BETA)
MIX_lfm-mms     = --method lfm --beta $(BETA)
MIX_ce          = --method none
MIX_mixup       = --method mixup --beta 1 --per-batch $(BATCH)
MIX_remix       = --method remix --beta 1 --per-batch $(BATCH)
MIX_remix-official = --method remix-official --beta 1 --per-batch $(BATCH)
LOSS_lfm-ce     = ce
LOSS_lfm-mms    = mms
LOSS_ce         = ce
LOSS_mixup      = ce
LOSS_remix      = ce
LOSS_remix-official = ce

# Experiment directories are $(OUT)/g<imbalance>/<method>/; the samples are shared per imbalance.
define EXPERIMENT
$(OUT)/g$(1)/$(2)/s1.plan: $(OUT)/g$(1)/train.samples $(OUT)/text.npy
	@mkdir -p $$(@D)
	$(call TOOL,lfm-pairs) $(PAIRS_$(2)) --epochs $(S1_EPOCHS) --seed $(SEED) $$< | \
	  $(call TOOL,lfm-mix) $(MIX_$(2)) --alpha $(ALPHA) --seed $(SEED) -o $$@
$(OUT)/g$(1)/$(2)/s2.plan: $(OUT)/g$(1)/train.samples $(OUT)/text.npy
	@mkdir -p $$(@D)
	$(call TOOL,lfm-pairs) $(PAIRS_$(2)) --epochs $(S2_EPOCHS) --seed $$$$(($(SEED) + 1)) $$< | \
	  $(call TOOL,lfm-mix) $(MIX_$(2)) --alpha $(S2_ALPHA) --seed $$$$(($(SEED) + 1)) -o $$@
$(OUT)/g$(1)/$(2)/stage1.safetensors: $(OUT)/g$(1)/$(2)/s1.plan $(OUT)/text.npy
	$(LAUNCH) $(call TOOL,lfm-fit) --stage 1 --model $(WEIGHTS) --text $(OUT)/text.npy --data $(TRAIN_DATA) \
	  --epochs $(S1_EPOCHS) --lr $(S1_LR) --min-lr $(S1_MIN_LR) --batch $(BATCH) \
	  --loss $(LOSS_$(2)) --seed $(SEED) --threads $(THREADS) \
	  --log $(OUT)/g$(1)/$(2)/stage1.metrics -o $$@ $$<
$(OUT)/g$(1)/$(2)/stage2.safetensors: $(OUT)/g$(1)/$(2)/s2.plan $(OUT)/g$(1)/$(2)/stage1.safetensors
	$(LAUNCH) $(call TOOL,lfm-fit) --stage 2 --model $(OUT)/g$(1)/$(2)/stage1.safetensors --text $(OUT)/text.npy \
	  --data $(TRAIN_DATA) --epochs $(S2_EPOCHS) --lr $(S2_LR) --min-lr $(S2_MIN_LR) --batch $(BATCH) \
	  --loss $(LOSS_$(2)) --seed $(SEED) --threads $(THREADS) \
	  --log $(OUT)/g$(1)/$(2)/stage2.metrics -o $$@ $$<
$(OUT)/g$(1)/$(2)/eval.json: $(OUT)/g$(1)/$(2)/stage2.safetensors $(OUT)/test.samples
	$(call TOOL,lfm-eval) --model $$< --text $(OUT)/text.npy --data $(TEST_DATA) \
	  --groups-from $(OUT)/g$(1)/train.samples --threads $(THREADS) --json \
	  --per-class $(OUT)/g$(1)/$(2)/per-class.tsv $(OUT)/test.samples > $$@
g$(1)-$(2): $(OUT)/g$(1)/$(2)/eval.json
ALL_EXPERIMENTS += g$(1)-$(2)
ALL_RESULTS += $(OUT)/g$(1)/$(2)/eval.json
endef
$(foreach g,$(IMBALANCES),$(foreach m,$(METHODS),$(eval $(call EXPERIMENT,$(g),$(m)))))

# The zero-shot row: the original weights, no training.
$(OUT)/zero-shot/eval.json: $(OUT)/test.samples $(OUT)/text.npy
	@mkdir -p $(@D)
	$(call TOOL,lfm-eval) --model $(WEIGHTS) --text $(OUT)/text.npy --data $(TEST_DATA) \
	  --groups-from $(OUT)/g$(firstword $(IMBALANCES))/train.samples --threads $(THREADS) --json \
	  $(OUT)/test.samples > $@
$(OUT)/zero-shot/eval.json: $(OUT)/g$(firstword $(IMBALANCES))/train.samples

REMIX_NOTE = remix: the rule as published (Chou et al. 2020; the label goes to the minority class). \
  remix-official: the official code, its two cases swapped (the label goes to the majority class). See lfm-mix(1).

.PHONY: all table zero-shot $(ALL_EXPERIMENTS) plots
all: table
zero-shot: $(OUT)/zero-shot/eval.json
table: $(ALL_RESULTS) $(OUT)/zero-shot/eval.json
	sh $(LFM_PIPELINES)/collect.sh $^ > $(OUT)/results.tsv
	@cat $(OUT)/results.tsv
	@$(if $(filter remix remix-official,$(METHODS)),echo '$(REMIX_NOTE)')

# Per-class accuracy against training count, one PNG per experiment (gnuplot).
plots: $(ALL_RESULTS)
	for f in $(ALL_RESULTS:eval.json=per-class.tsv); do \
	  $(PLOT) -e "in='$$f'; out='$${f%.tsv}.png'" $(LFM_PIPELINES)/plot-per-class.gp || exit 1; done

# The paper's figures from one experiment (long-tail accuracy, p_ls beside the zero-shot confusion,
# t-SNE of the features), drawn with the user's Python: `make ... figures`; see figures.mk.
include $(LFM_PIPELINES)/figures.mk
