/* dataset_internal.h — the dataset code's internal pieces in one include, for the unit and fuzz tests
 * (tests/unit/test_dataset.c, tests/fuzz/fuzz_*.c), which exercise the parsers and helpers directly. Not
 * part of the public API (tools use dataset.h), and no library file includes it: each dataset_*.c
 * includes the headers of the pieces it uses, so the dependencies below are what the includes say.
 *
 * The data/ dataset code, bottom to top; an arrow is "calls / includes", and every arrow points down:
 *
 *   leaves      dataset_sha256.{h,c}   SHA-256                                  (base/ only)
 *               dataset_index.{h,c}    string arena, map, whole files, name helpers, confinement
 *               dataset_tar.{h,c}      a tar inside a tar, followed as its bytes are pushed      (base/ only)
 *               class_names.{h,c}      the class-name list reader (also clip-embed-text's)  -> index
 *   build       dataset_build.{h,c}    struct dataset, ds_loc, add/note/classes, ds_read_loc
 *                                        -> index, class_names
 *   archive     dataset_archive.{h,c}  the one libarchive pass (ds_scan)        -> build, index, sha256, tar
 *               dataset_tarindex.{h,c} a root archive's index on disk           -> archive, index, sha256, io/stream
 *   readers     dataset_cifar.{h,c}    CIFAR parser, directory, archive hooks   -> archive, build, class_names, index, sha256
 *               dataset_folder.{h,c}   image folders (directory, archive)       -> archive, build, class_names, index, sha256
 *               dataset_wds.{h,c}      WebDataset tars                          -> archive, build, class_names, index
 *               dataset_list.{h,c}     split lists                              -> archive, tarindex, build, class_names, index, sha256
 *   dispatch    dataset_detect.{h,c}   ds_open_source: the directory-reader table, the archive open
 *                                      that tells the layouts apart, the split-list fall-back
 *                                        -> cifar, folder, wds, list, archive, build, class_names, index
 *   core        dataset_core.c         dataset.h's open/close, accessors, dataset_read,
 *                                      dataset_check_sample   -> detect (ds_open_source only), build,
 *                                      class_names, index, image.h (the decoder's size limits only)
 *   public API  dataset.h              what tools and the rest of libcommon see
 *   above it    dataset_rgb.c          sample -> RGB (dataset_sample_rgb, dataset_load_rgb)
 *                                        -> dataset.h, image.h only
 *               batch_loader.c         -> dataset.h, image.h, pixel_mix.h, clip preprocessing
 *               dataset_lt.{h,c}       long-tailed subsets           -> dataset.h only
 *
 * No reader calls dataset_core.c or another reader (only dispatch knows the readers), and nothing below
 * the public API calls dataset.h's entry points.
 */
#ifndef LFM_DATASET_INTERNAL_H
#define LFM_DATASET_INTERNAL_H

#include "data/class_names.h"
#include "data/dataset.h"
#include "data/dataset_archive.h"
#include "data/dataset_build.h"
#include "data/dataset_cifar.h"
#include "data/dataset_detect.h"
#include "data/dataset_folder.h"
#include "data/dataset_index.h"
#include "data/dataset_list.h"
#include "data/dataset_sha256.h"
#include "data/dataset_tar.h"
#include "data/dataset_tarindex.h"
#include "data/dataset_wds.h"

#endif
