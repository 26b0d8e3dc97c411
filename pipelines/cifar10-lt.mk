# pipelines/cifar10-lt.mk — CIFAR-10-LT at imbalance 100, 50, 10: CE, LFM+CE, LFM+MMS, Mixup,
# Remix as published (remix) and as the official code has it (remix-official), and zero-shot, with
# the paper's Table 6 hyperparameters (ViT-B/32; stage 1: 10 epochs, lr 1e-9 → 1e-12;
# stage 2: 10 epochs, lr 0.5 → 5e-4; batch 32; alpha 1; tau 0.05).
#
#   make -f pipelines/cifar10-lt.mk CIFAR10=cifar-10-binary.tar.gz WEIGHTS=ViT-B-32.safetensors
#   make -f pipelines/cifar10-lt.mk ... g100-lfm-mms      (one experiment)
#   make -n -f pipelines/cifar10-lt.mk                    (the commands, without running them)
# This file's folder, taken before any include: lfm.mk, collect.sh and the tools are found from it, so
# the pipeline runs from any folder (paths given on the command line are the current folder's).
LFM_HERE := $(dir $(lastword $(MAKEFILE_LIST)))
CIFAR10   ?= cifar-10-binary.tar.gz
WEIGHTS    ?= ViT-B-32.safetensors
OUT        ?= results/cifar10-lt
TRAIN_SOURCE = $(CIFAR10)
TRAIN_DATA   = $(CIFAR10)
TEST_SOURCE  = $(CIFAR10)
TEST_DATA    = $(CIFAR10) --split test
TEST_SPLIT   = test
IMBALANCES ?= 100 50 10
METHODS    ?= ce lfm-ce lfm-mms mixup remix remix-official
BATCH      ?= 32
S1_EPOCHS  ?= 10
S1_LR      ?= 1e-9
S1_MIN_LR  ?= 1e-12
S2_EPOCHS  ?= 10
S2_LR      ?= 0.5
S2_MIN_LR  ?= 5e-4
ALPHA      ?= 1
TAU        ?= 0.05
include $(LFM_HERE)lfm.mk
