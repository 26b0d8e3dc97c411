# pipelines/lfm.mk — the paper's two-stage recipe as make rules, included by the per-dataset files
# (cifar10-lt.mk, cifar100-lt.mk, imagenet-lt.mk, places-lt.mk). Each experiment (a method at an
# imbalance factor) lives in $(OUT)/<experiment>/ and ends in eval.json; `make -f pipelines/X.mk table`
# collects every finished experiment into $(OUT)/results.tsv. Nothing is chosen on the test set: the
# numbers are the last epoch's.
#
# Variables a user sets (the dataset file gives defaults):
#   BIN       the tools (default: bin, the build tree; /usr/local/bin after make install)
#   WEIGHTS   CLIP weights, safetensors (OpenAI/open_clip or Hugging Face names)
#   OUT       where results go
#   SEED      the seed of every random choice (default 0)
#   THREADS   decoding threads for lfm-fit / lfm-eval (default: all cores)
# Per dataset: TRAIN_SOURCE/TEST_SOURCE (+ LIST options), BATCH, S1_EPOCHS/S1_LR/S1_MIN_LR,
# S2_EPOCHS/S2_LR/S2_MIN_LR, ALPHA (S2_ALPHA), TAU, METHODS, IMBALANCES.

BIN      ?= bin
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
	$(BIN)/lt-subset $(call TRAIN_SAMPLES_ARGS,$*) -o $@

$(OUT)/test.samples:
	@mkdir -p $(@D)
	$(BIN)/lt-subset $(TEST_SAMPLES_ARGS) -o $@

$(OUT)/text.npy: $(OUT)/test.samples
	$(BIN)/clip-embed-text --model $(WEIGHTS) --template '$(TEMPLATE)' --underscores-to-spaces \
	  --samples $< -o $@

# ---- plans: one per stage (stage 2 has its own epochs and, for Places-LT, its own alpha) -----------
# Method-specific arguments of lfm-pairs, lfm-mix and lfm-fit.
PAIRS_lfm-ce    = --text $(OUT)/text.npy --tau $(TAU)
PAIRS_lfm-mms   = --text $(OUT)/text.npy --tau $(TAU)
PAIRS_ce        = --uniform
PAIRS_mixup     = --uniform
PAIRS_remix     = --uniform
MIX_lfm-ce      = --method lfm --beta $(BETA)
MIX_lfm-mms     = --method lfm --beta $(BETA)
MIX_ce          = --method none
MIX_mixup       = --method mixup --beta 1 --per-batch $(BATCH)
MIX_remix       = --method remix --beta 1 --per-batch $(BATCH)
LOSS_lfm-ce     = ce
LOSS_lfm-mms    = mms
LOSS_ce         = ce
LOSS_mixup      = ce
LOSS_remix      = ce

# Experiment directories are $(OUT)/g<imbalance>/<method>/; the samples are shared per imbalance.
define EXPERIMENT
$(OUT)/g$(1)/$(2)/s1.plan: $(OUT)/g$(1)/train.samples $(OUT)/text.npy
	@mkdir -p $$(@D)
	$(BIN)/lfm-pairs $(PAIRS_$(2)) --epochs $(S1_EPOCHS) --seed $(SEED) $$< | \
	  $(BIN)/lfm-mix $(MIX_$(2)) --alpha $(ALPHA) --seed $(SEED) -o $$@
$(OUT)/g$(1)/$(2)/s2.plan: $(OUT)/g$(1)/train.samples $(OUT)/text.npy
	@mkdir -p $$(@D)
	$(BIN)/lfm-pairs $(PAIRS_$(2)) --epochs $(S2_EPOCHS) --seed $$$$(($(SEED) + 1)) $$< | \
	  $(BIN)/lfm-mix $(MIX_$(2)) --alpha $(S2_ALPHA) --seed $$$$(($(SEED) + 1)) -o $$@
$(OUT)/g$(1)/$(2)/stage1.safetensors: $(OUT)/g$(1)/$(2)/s1.plan $(OUT)/text.npy
	$(BIN)/lfm-fit --stage 1 --model $(WEIGHTS) --text $(OUT)/text.npy --data $(TRAIN_DATA) \
	  --epochs $(S1_EPOCHS) --lr $(S1_LR) --min-lr $(S1_MIN_LR) --batch $(BATCH) \
	  --loss $(LOSS_$(2)) --seed $(SEED) --threads $(THREADS) \
	  --log $(OUT)/g$(1)/$(2)/stage1.metrics -o $$@ $$<
$(OUT)/g$(1)/$(2)/stage2.safetensors: $(OUT)/g$(1)/$(2)/s2.plan $(OUT)/g$(1)/$(2)/stage1.safetensors
	$(BIN)/lfm-fit --stage 2 --model $(OUT)/g$(1)/$(2)/stage1.safetensors --text $(OUT)/text.npy \
	  --data $(TRAIN_DATA) --epochs $(S2_EPOCHS) --lr $(S2_LR) --min-lr $(S2_MIN_LR) --batch $(BATCH) \
	  --loss $(LOSS_$(2)) --seed $(SEED) --threads $(THREADS) \
	  --log $(OUT)/g$(1)/$(2)/stage2.metrics -o $$@ $$<
$(OUT)/g$(1)/$(2)/eval.json: $(OUT)/g$(1)/$(2)/stage2.safetensors $(OUT)/test.samples
	$(BIN)/lfm-eval --model $$< --text $(OUT)/text.npy --data $(TEST_DATA) \
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
	$(BIN)/lfm-eval --model $(WEIGHTS) --text $(OUT)/text.npy --data $(TEST_DATA) \
	  --groups-from $(OUT)/g$(firstword $(IMBALANCES))/train.samples --threads $(THREADS) --json \
	  $(OUT)/test.samples > $@
$(OUT)/zero-shot/eval.json: $(OUT)/g$(firstword $(IMBALANCES))/train.samples

.PHONY: all table zero-shot $(ALL_EXPERIMENTS) plots
all: table
zero-shot: $(OUT)/zero-shot/eval.json
table: $(ALL_RESULTS) $(OUT)/zero-shot/eval.json
	sh pipelines/collect.sh $^ > $(OUT)/results.tsv
	@cat $(OUT)/results.tsv

# Per-class accuracy against training count, one PNG per experiment (gnuplot).
plots: $(ALL_RESULTS)
	for f in $(ALL_RESULTS:eval.json=per-class.tsv); do \
	  $(PLOT) -e "in='$$f'; out='$${f%.tsv}.png'" pipelines/plot-per-class.gp; done
