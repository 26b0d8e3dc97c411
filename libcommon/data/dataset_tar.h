/* dataset_tar.h — the members of a tar that lies inside another (ImageNet's ILSVRC2012_img_train.tar holds
 * one n01440764.tar per class), found from its bytes as they stream past during the outer tar's one pass
 * (dataset_tar.c). A leaf of the data/ graph (dataset_internal.h): it knows no dataset structure.
 *
 * Why a parser of our own beside libarchive: libarchive reads an archive by pulling bytes, and the inner
 * tar's bytes arrive pushed, piece by piece, while libarchive is reading the outer one; reading them
 * again afterwards would double the I/O of a 140 GB file. A tar is a sequence of 512-byte blocks, so the
 * inner one can be followed block by block as it passes: its headers parsed, its members' data skipped,
 * each member's place recorded. Formats read: ustar and POSIX pax (path and size from 'x' records; 'g'
 * global records ignored), GNU (long names 'L'; base-256 sizes), old V7 headers. Sparse members ('S',
 * pax sparse maps) are refused: their bytes are not stored in one piece. Every header's checksum is
 * verified. */
#ifndef LFM_DATASET_TAR_H
#define LFM_DATASET_TAR_H

#include <stddef.h>
#include <stdint.h>

/* A regular member found: its name (normalised: "./" and leading "/" removed), the offset of its data
 * from the start of the inner tar, and its size. Returns 0, or an exit code with a message in err. */
typedef int (*tar_member_fn)(void *ctx, const char *name, uint64_t off, uint64_t size, char *err,
			     size_t errsz);

typedef struct tar_push {
	uint64_t pos;        /* bytes of the inner tar consumed */
	uint8_t block[512];  /* a header being assembled */
	size_t have;         /* bytes of block filled */
	uint64_t skip;       /* data (and padding) bytes of the current member still to pass */
	uint64_t data_size;  /* the current member's data bytes (without the padding) */
	int state;           /* internal: what the next bytes are */
	int ended;           /* the end-of-archive marker (a zero block) was met */
	char *ext;           /* a GNU long name or a pax header's bytes being collected */
	size_t ext_len, ext_want;
	char *long_name;     /* the name the next header takes (from 'L' or pax "path") */
	uint64_t pax_size;   /* the size the next header takes (pax "size"), when pax_size_set */
	int pax_size_set;
	char last[256];      /* the last member's name, for messages */
} tar_push;

/* A member's name as extracting it would make it, freshly allocated: "./" and leading "/" removed,
 * repeated "/" collapsed ("./a//b" -> "a/b"). Every archive's names are normalised so (the outer tar's
 * by dataset_archive.c too), so "//" never occurs in one and can separate the levels of a tar inside a
 * tar (OUTER.tar//INNER, dataset_archive.h). */
char *tar_member_name(const char *name);

void tar_push_init(tar_push *t);
/* Feed the next n bytes of the inner tar. 0, or LFM_EXIT_DATA with a message ("header at byte N: ...")
 * in err. */
int tar_push_feed(tar_push *t, const uint8_t *p, size_t n, tar_member_fn fn, void *ctx, char *err,
		  size_t errsz);
/* The inner tar's bytes have all been fed: 0 when they ended where a member ends (with or without the
 * end-of-archive marker), else LFM_EXIT_DATA naming the member cut short. */
int tar_push_finish(tar_push *t, char *err, size_t errsz);
void tar_push_free(tar_push *t);

#endif
