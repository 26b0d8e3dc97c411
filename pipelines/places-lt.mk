# pipelines/places-lt.mk — Places-LT (Liu et al. 2019's split lists): CE, LFM+CE, LFM+MMS and
# zero-shot with the paper's Table 6 hyperparameters (ViT-B/16; stage 1: 30 epochs, lr 1e-7 → 1e-10;
# stage 2: 10 epochs, lr 5e-4 → 5e-7; batch 96; alpha 1.25 in stage 1, 1.5 in stage 2; tau 1.0).
#
#   make -f pipelines/places-lt.mk PLACES=/data/places365 WEIGHTS=ViT-B-16.safetensors \
#        TRAIN_LIST=Places_LT_train.txt TEST_LIST=Places_LT_test.txt
# PLACES is the folder (or archive) the lists' paths are relative to (data_256/a/airfield/...).
# CLASSES is the readable class-name list CLIP's prompts use, one a line in label order.
# This file's folder, taken before any include: lfm.mk, collect.sh and the tools are found from it, so
# the pipeline runs from any folder (paths given on the command line are the current folder's).
LFM_HERE := $(dir $(lastword $(MAKEFILE_LIST)))
PLACES     ?= places365
WEIGHTS    ?= ViT-B-16.safetensors
TRAIN_LIST ?= Places_LT_train.txt
VAL_LIST   ?= Places_LT_val.txt
TEST_LIST  ?= Places_LT_test.txt
CLASSES    ?= $(LFM_CLASSES)/places365.txt
OUT        ?= results/places-lt
TRAIN_SAMPLES_ARGS = --list $(TRAIN_LIST) --root $(PLACES) --classes $(CLASSES)
TEST_SAMPLES_ARGS  = --list $(TEST_LIST) --root $(PLACES) --classes $(CLASSES)
TRAIN_DATA   = $(TRAIN_LIST) --root $(PLACES)
TEST_DATA    = $(TEST_LIST) --root $(PLACES)
IMBALANCES = lt
METHODS    ?= ce lfm-ce lfm-mms
BATCH      ?= 96
S1_EPOCHS  ?= 30
S1_LR      ?= 1e-7
S1_MIN_LR  ?= 1e-10
S2_EPOCHS  ?= 10
S2_LR      ?= 5e-4
S2_MIN_LR  ?= 5e-7
ALPHA      ?= 1.25
S2_ALPHA   ?= 1.5
TAU        ?= 1.0
include $(LFM_HERE)lfm.mk
