# pipelines/cifar100-lt.mk — CIFAR-100-LT at imbalance 100, 50, 10: CE, LFM+CE, LFM+MMS, Mixup,
# Remix as published (remix) and as the official code has it (remix-official), and zero-shot, with
# the paper's Table 6 hyperparameters (ViT-B/32; stage 1: 50 epochs, lr 1e-6 → 1e-9;
# stage 2: 10 epochs, lr 1e-2 → 1e-5; batch 32; alpha 1; tau 0.05).
#
#   make -f pipelines/cifar100-lt.mk CIFAR100=cifar-100-binary.tar.gz WEIGHTS=ViT-B-32.safetensors
#   make -f pipelines/cifar100-lt.mk ... g100-lfm-mms      (one experiment)
#   make -n -f pipelines/cifar100-lt.mk                    (the commands, without running them)
# This file's folder, taken before any include: lfm.mk, collect.sh and the tools are found from it, so
# the pipeline runs from any folder (paths given on the command line are the current folder's).
LFM_HERE := $(dir $(lastword $(MAKEFILE_LIST)))
CIFAR100   ?= cifar-100-binary.tar.gz
WEIGHTS    ?= ViT-B-32.safetensors
OUT        ?= results/cifar100-lt
TRAIN_SOURCE = $(CIFAR100)
TRAIN_DATA   = $(CIFAR100)
TEST_SOURCE  = $(CIFAR100)
TEST_DATA    = $(CIFAR100) --split test
TEST_SPLIT   = test
IMBALANCES ?= 100 50 10
METHODS    ?= ce lfm-ce lfm-mms mixup remix remix-official
BATCH      ?= 32
S1_EPOCHS  ?= 50
S1_LR      ?= 1e-6
S1_MIN_LR  ?= 1e-9
S2_EPOCHS  ?= 10
S2_LR      ?= 1e-2
S2_MIN_LR  ?= 1e-5
ALPHA      ?= 1
TAU        ?= 0.05
include $(LFM_HERE)lfm.mk
