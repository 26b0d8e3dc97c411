# pipelines/figures.mk — the paper's figures drawn from one experiment's outputs; included by lfm.mk, so
# every dataset file has the goal `figures` (not a makefile of its own):
#
#   make -f pipelines/cifar10-lt.mk ... figures                     (the first imbalance, LFM's experiment)
#   make -f pipelines/cifar10-lt.mk ... FIG_IMBALANCE=10 FIG_METHOD=lfm-ce figures
#
# Into $(OUT)/g<FIG_IMBALANCE>/<FIG_METHOD>/figures/, each with a CSV of the numbers it draws beside it:
#   long-tail.png      per-class top-1 of the experiment and of zero-shot CLIP against the class's training
#                      images, classes sorted by training count, the many/medium/few boundaries marked
#   pls-confusion.png  local sampling's p_ls (lfm-pairs --stats-npy, at TAU) beside the zero-shot
#                      confusion matrix (lfm-eval --confusion): the paper's Fig. 7
#   tsne.png           t-SNE of the test features (lfm-eval --features), zero-shot and the experiment,
#                      coloured by class, shaped by group: the paper's Fig. 3
# The figures need the training run (stage2.safetensors) of the experiment; the rest is made here: one
# more lfm-eval of the experiment and of zero-shot CLIP each (predictions, features, confusion), p_ls.
#
# Drawn by pipelines/figures/*.py with the user's Python: numpy and matplotlib, and scikit-learn for t-SNE
# (PYTHON=...). The tools never need Python: these scripts read lfm-show's JSON lines and .npy only.
#
# Variables:
#   FIG_IMBALANCE   which imbalance factor's experiment (default: the first of IMBALANCES)
#   FIG_METHOD      which method's (default: lfm-mms, else lfm-ce, else the first of METHODS)
#   FIG_FORMAT      png (default), pdf or svg
#   FIG_TSNE_POINTS at most this many test images in the t-SNE (default 5000, chosen with SEED)
#   PYTHON          the Python with those packages (default python3)

FIG_IMBALANCE   ?= $(firstword $(IMBALANCES))
FIG_METHOD      ?= $(firstword $(filter lfm-mms,$(METHODS)) $(filter lfm-ce,$(METHODS)) $(METHODS))
FIG_FORMAT      ?= png
FIG_TSNE_POINTS ?= 5000
PYTHON          ?= python3
# no __pycache__ of lfmfig.py beside the scripts (the source tree, or a read-only install)
FIG_PY           = PYTHONDONTWRITEBYTECODE=1 $(PYTHON)
FIG_SCRIPTS     := $(LFM_PIPELINES)/figures

FIG_EXP := $(OUT)/g$(FIG_IMBALANCE)/$(FIG_METHOD)
FIG_ZS  := $(OUT)/zero-shot
FIG_DIR := $(FIG_EXP)/figures
FIG_ALL := $(FIG_DIR)/long-tail.$(FIG_FORMAT) $(FIG_DIR)/pls-confusion.$(FIG_FORMAT) $(FIG_DIR)/tsne.$(FIG_FORMAT)

# ---- what the figures are drawn from --------------------------------------------------------------
# An evaluation for pictures: predictions, confusion and features of the test set in one lfm-eval run
# (the experiment's eval.json keeps its own); the zero-shot run also writes its per-class file. The
# features file, written last, stands for all of them in the rules (predictions.mp and confusion.npy
# beside it are a little older, so they are never targets of their own).
FIG_EVAL = $(call TOOL,lfm-eval) --model $(1) --text $(OUT)/text.npy --data $(TEST_DATA) \
  --groups-from $(OUT)/g$(FIG_IMBALANCE)/train.samples --threads $(THREADS) \
  --predictions $(@D)/predictions.mp --confusion $(@D)/confusion.npy --features $@ $(2) \
  -o $(@D)/figures-eval.txt $(OUT)/test.samples
$(FIG_EXP)/features.npy: $(FIG_EXP)/stage2.safetensors $(OUT)/test.samples $(OUT)/text.npy
	$(call FIG_EVAL,$<)
$(FIG_ZS)/features.npy: $(OUT)/test.samples $(OUT)/text.npy $(OUT)/g$(FIG_IMBALANCE)/train.samples
	@mkdir -p $(@D)
	$(call FIG_EVAL,$(WEIGHTS),--per-class $(@D)/per-class.tsv)

# p_ls of the training subset's classes at TAU, as lfm-pairs samples partners with it
$(OUT)/g$(FIG_IMBALANCE)/pls.npy: $(OUT)/g$(FIG_IMBALANCE)/train.samples $(OUT)/text.npy
	$(call TOOL,lfm-pairs) --text $(OUT)/text.npy --tau $(TAU) --stats --stats-npy $@ $< > $(@D)/pls-stats.txt

# the streams as JSON lines for Python (lfm-show), so the scripts need no msgpack package
$(FIG_DIR)/train.json: $(OUT)/g$(FIG_IMBALANCE)/train.samples
	@mkdir -p $(@D)
	$(call TOOL,lfm-show) --head 0 $< > $@
$(FIG_DIR)/predictions.jsonl: $(FIG_EXP)/features.npy
	@mkdir -p $(@D)
	$(call TOOL,lfm-show) $(<D)/predictions.mp > $@
$(FIG_DIR)/zero-shot-predictions.jsonl: $(FIG_ZS)/features.npy
	@mkdir -p $(@D)
	$(call TOOL,lfm-show) $(<D)/predictions.mp > $@

# ---- the figures ----------------------------------------------------------------------------------
$(FIG_DIR)/long-tail.$(FIG_FORMAT): $(FIG_DIR)/train.json $(FIG_DIR)/predictions.jsonl $(FIG_DIR)/zero-shot-predictions.jsonl
	$(FIG_PY) $(FIG_SCRIPTS)/long_tail.py --train $< --series $(FIG_METHOD) $(FIG_DIR)/predictions.jsonl \
	  --series zero-shot $(FIG_DIR)/zero-shot-predictions.jsonl --csv $(@:.$(FIG_FORMAT)=.csv) -o $@
$(FIG_DIR)/pls-confusion.$(FIG_FORMAT): $(OUT)/g$(FIG_IMBALANCE)/pls.npy $(FIG_ZS)/features.npy $(FIG_DIR)/train.json
	$(FIG_PY) $(FIG_SCRIPTS)/pls_confusion.py --train $(FIG_DIR)/train.json --pls $< --confusion $(FIG_ZS)/confusion.npy \
	  --csv $(@:.$(FIG_FORMAT)=.csv) -o $@
$(FIG_DIR)/tsne.$(FIG_FORMAT): $(FIG_DIR)/train.json $(FIG_ZS)/features.npy $(FIG_EXP)/features.npy \
  $(FIG_DIR)/predictions.jsonl $(FIG_DIR)/zero-shot-predictions.jsonl
	$(FIG_PY) $(FIG_SCRIPTS)/tsne.py --train $< --panel zero-shot $(FIG_ZS)/features.npy $(FIG_DIR)/zero-shot-predictions.jsonl \
	  --panel $(FIG_METHOD) $(FIG_EXP)/features.npy $(FIG_DIR)/predictions.jsonl \
	  --max-points $(FIG_TSNE_POINTS) --seed $(SEED) --csv $(@:.$(FIG_FORMAT)=.csv) -o $@

.PHONY: figures
figures: $(FIG_ALL)
	@echo "figures: $(FIG_ALL)"
