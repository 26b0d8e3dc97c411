# pipelines/imagenet-lt.mk — ImageNet-LT (Liu et al. 2019's split lists): CE, LFM+CE, LFM+MMS and
# zero-shot with the paper's Table 6 hyperparameters (ViT-B/16; stage 1: 30 epochs, lr 5e-6 → 5e-9;
# stage 2: 10 epochs, lr 1e-2 → 1e-5; batch 96; alpha 1; tau 0.05).
#
#   make -f pipelines/imagenet-lt.mk IMAGENET=/data/imagenet WEIGHTS=ViT-B-16.safetensors \
#        TRAIN_LIST=ImageNet_LT_train.txt TEST_LIST=ImageNet_LT_test.txt
# IMAGENET is the folder (or archive) the lists' paths are relative to (train/n01440764/...).
# CLASSES is the readable class-name list CLIP's prompts use, one a line in label order.
# This file's folder, taken before any include: lfm.mk, collect.sh and the tools are found from it, so
# the pipeline runs from any folder (paths given on the command line are the current folder's).
LFM_HERE := $(dir $(lastword $(MAKEFILE_LIST)))
IMAGENET   ?= imagenet
WEIGHTS    ?= ViT-B-16.safetensors
TRAIN_LIST ?= ImageNet_LT_train.txt
VAL_LIST   ?= ImageNet_LT_val.txt
TEST_LIST  ?= ImageNet_LT_test.txt
CLASSES    ?= $(LFM_CLASSES)/imagenet.txt
OUT        ?= results/imagenet-lt
TRAIN_SAMPLES_ARGS = --list $(TRAIN_LIST) --root $(IMAGENET) --classes $(CLASSES)
TEST_SAMPLES_ARGS  = --list $(TEST_LIST) --root $(IMAGENET) --classes $(CLASSES)
TRAIN_DATA   = $(TRAIN_LIST) --root $(IMAGENET)
TEST_DATA    = $(TEST_LIST) --root $(IMAGENET)
IMBALANCES = lt
METHODS    ?= ce lfm-ce lfm-mms
BATCH      ?= 96
S1_EPOCHS  ?= 30
S1_LR      ?= 5e-6
S1_MIN_LR  ?= 5e-9
S2_EPOCHS  ?= 10
S2_LR      ?= 1e-2
S2_MIN_LR  ?= 1e-5
ALPHA      ?= 1
TAU        ?= 0.05
include $(LFM_HERE)lfm.mk
