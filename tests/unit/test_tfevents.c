/* test_tfevents.c — CRC-32C against its standard check values, the TFRecord mask and framing, the Event
 * encoder byte for byte against protobuf's own serialisation (the expected bytes below were made with
 * tensorboard's event_pb2: Event(...).SerializeToString()), and the writer: its file name, records that
 * parse back with valid checksums, a missing folder created, and the refusals naming the path. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/crc32c.h"
#include "io/tfevents.h"
#include "../test.h"

/* hex text -> bytes; returns the count */
static size_t unhex(const char *h, unsigned char *out)
{
	size_t n = 0;
	for (; h[0] && h[1]; h += 2) {
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (unsigned char)v;
	}
	return n;
}

static void test_crc32c_check_values(void)
{
	T_ASSERTF(crc32c(0, "123456789", 9) == 0xE3069283u, "got %08x", crc32c(0, "123456789", 9));
	T_ASSERT(crc32c(0, "", 0) == 0);
	/* RFC 3720 (iSCSI) B.4: 32 zero bytes, 32 0xFF bytes, 0..31 ascending */
	unsigned char b[32];
	memset(b, 0, sizeof b);
	T_ASSERTF(crc32c(0, b, 32) == 0x8A9136AAu, "got %08x", crc32c(0, b, 32));
	memset(b, 0xFF, sizeof b);
	T_ASSERTF(crc32c(0, b, 32) == 0x62A8AB43u, "got %08x", crc32c(0, b, 32));
	for (int i = 0; i < 32; i++)
		b[i] = (unsigned char)i;
	T_ASSERTF(crc32c(0, b, 32) == 0x46DD794Eu, "got %08x", crc32c(0, b, 32));
	/* continued in pieces: the CRC of the whole */
	T_ASSERT(crc32c(crc32c(0, "1234", 4), "56789", 5) == 0xE3069283u);
}

static void test_mask_and_frame(void)
{
	/* tensorboard's masked_crc32c(b"123456789") and of the 8-byte length 23 */
	T_ASSERTF(tfrecord_masked_crc("123456789", 9) == 0xc78ab0e5u, "got %08x", tfrecord_masked_crc("123456789", 9));
	T_ASSERT(tfrecord_mask(0xE3069283u) == 0xc78ab0e5u);
	unsigned char data[23], head[12], tail[4];
	memset(data, 'x', sizeof data);
	tfrecord_frame(data, sizeof data, head, tail);
	T_ASSERT(head[0] == 23 && head[1] == 0 && head[7] == 0);
	uint32_t hc = (uint32_t)head[8] | (uint32_t)head[9] << 8 | (uint32_t)head[10] << 16 | (uint32_t)head[11] << 24;
	T_ASSERTF(hc == 0x1ef8cee7u, "got %08x", hc);
	uint32_t dc = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 | (uint32_t)tail[3] << 24;
	T_ASSERT(dc == tfrecord_masked_crc(data, sizeof data));
}

/* enc's bytes equal the expected hex, and a size query gives the same length without writing */
#define T_BYTES(call_out_cap, hex)                                                                          \
	do {                                                                                               \
		unsigned char want[512], got[512];                                                          \
		size_t wn = unhex(hex, want);                                                               \
		unsigned char *out = NULL;                                                                  \
		size_t cap = 0;                                                                             \
		size_t qn = call_out_cap;                                                                   \
		out = got;                                                                                  \
		cap = sizeof got;                                                                           \
		size_t gn = call_out_cap;                                                                   \
		T_ASSERTF(qn == wn && gn == wn, "size %zu/%zu, expected %zu", qn, gn, wn);                  \
		T_ASSERT(memcmp(got, want, wn) == 0);                                                       \
	} while (0)

static void test_encoder_matches_protobuf(void)
{
	T_BYTES(tfevents_encode_version(out, cap, 1700000000.25), "0900001040fc54d9411a0d627261696e2e4576656e743a32");
	T_BYTES(tfevents_encode_start(out, cap, 1700000000.25, 7), "0900001040fc54d94110073a020801");
	T_BYTES(tfevents_encode_scalar(out, cap, 1700000000.25, 300, "train/loss", 2.302585f),
		"0900001040fc54d94110ac022a130a110a0a747261696e2f6c6f7373158d5d1340");
	/* step 0 and an empty tag are left out, a 0 value kept (simple_value is in a oneof) */
	T_BYTES(tfevents_encode_scalar(out, cap, 1.5, 0, "", 0.0f), "09000000000000f83f2a070a051500000000");
}

static void test_encoder_long_tag_negative_step(void)
{
	/* a 200-byte tag: two-byte lengths; step -1: a ten-byte varint (event_pb2: 234 bytes) */
	char tag[201];
	memset(tag, 't', 200);
	tag[200] = 0;
	unsigned char out[300], want[64];
	size_t n = tfevents_encode_scalar(out, sizeof out, 2.0, -1, tag, -1.5f);
	T_ASSERTF(n == 234, "%zu bytes", n);
	size_t wn = unhex("09000000000000004010ffffffffffffffffff012ad3010ad0010ac80174", want);
	T_ASSERT(memcmp(out, want, wn) == 0);
	wn = unhex("747474150000c0bf", want);
	T_ASSERT(memcmp(out + n - wn, want, wn) == 0);
	/* too small a buffer: nothing past cap is touched, the size is still said */
	memset(out, 0xAA, sizeof out);
	T_ASSERT(tfevents_encode_scalar(out, 10, 2.0, -1, tag, -1.5f) == 234);
	T_ASSERT(out[10] == 0xAA && out[0] == 0x09);
}

/* The records of a file, checked: count, and the data of record k into (data, *len). */
static int read_records(const char *path, int want_k, unsigned char *data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	int k = 0;
	unsigned char head[12], tail[4], buf[1024];
	while (fread(head, 1, 12, f) == 12) {
		uint64_t n = 0;
		for (int i = 0; i < 8; i++)
			n |= (uint64_t)head[i] << (8 * i);
		uint32_t hc = (uint32_t)head[8] | (uint32_t)head[9] << 8 | (uint32_t)head[10] << 16 | (uint32_t)head[11] << 24;
		if (hc != tfrecord_masked_crc(head, 8) || n > sizeof buf || fread(buf, 1, n, f) != n ||
		    fread(tail, 1, 4, f) != 4) {
			fclose(f);
			return -2;
		}
		uint32_t dc = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 | (uint32_t)tail[3] << 24;
		if (dc != tfrecord_masked_crc(buf, n)) {
			fclose(f);
			return -3;
		}
		if (k == want_k) {
			memcpy(data, buf, n);
			*len = n;
		}
		k++;
	}
	fclose(f);
	return k;
}

static char tmpdir[64];

static void test_writer(void)
{
	char err[512], dir[128];
	snprintf(dir, sizeof dir, "%s/a/b", tmpdir); /* two folders that do not exist yet */
	tfevents_writer w;
	T_ASSERTF(tfevents_open(&w, dir, err, sizeof err) == 0, "%s", err);
	T_ASSERT(tfevents_start(&w, 1, err, sizeof err) == 0);
	T_ASSERT(tfevents_scalar(&w, "train/loss", 1, 2.5f, err, sizeof err) == 0);
	T_ASSERT(tfevents_scalar(&w, "train/lr", 1, 1e-4f, err, sizeof err) == 0);
	/* each record is on disk as it is written (what a running TensorBoard sees): 4 before the close */
	unsigned char data[1024];
	size_t n = 0;
	T_ASSERTF(read_records(w.path, 2, data, &n) == 4, "%d", read_records(w.path, 2, data, &n));
	unsigned char want[1024];
	size_t wn = tfevents_encode_scalar(want, sizeof want, 0, 1, "train/loss", 2.5f);
	/* the same Event but for wall_time (field 1, 9 bytes, first) */
	T_ASSERT(n == wn + 9 && data[0] == 0x09 && memcmp(data + 9, want, wn) == 0);
	T_ASSERT(read_records(w.path, 0, data, &n) == 4 && n == 24 && memcmp(data + 9, "\x1a\x0d" "brain.Event:2", 15) == 0);
	/* the name: events.out.tfevents.<unix time>.<host>.<pid>.<n> */
	const char *base = strrchr(w.path, '/') + 1;
	char pid_tail[32];
	snprintf(pid_tail, sizeof pid_tail, ".%ld.0", (long)getpid());
	T_ASSERTF(strncmp(base, "events.out.tfevents.", 20) == 0 && base[20] >= '1' && base[20] <= '9', "%s", base);
	T_ASSERTF(strlen(base) > strlen(pid_tail) && strcmp(base + strlen(base) - strlen(pid_tail), pid_tail) == 0, "%s",
		  base);
	/* a second writer in the same second: a new file (n counts up), the first one untouched */
	tfevents_writer w2;
	T_ASSERTF(tfevents_open(&w2, dir, err, sizeof err) == 0, "%s", err);
	T_ASSERT(strcmp(w2.path, w.path) != 0);
	T_ASSERT(read_records(w.path, 0, data, &n) == 4 && read_records(w2.path, 0, data, &n) == 1);
	T_ASSERT(tfevents_close(&w, err, sizeof err) == 0 && w.path == NULL);
	T_ASSERT(tfevents_close(&w2, err, sizeof err) == 0);
	T_ASSERT(tfevents_close(&w, err, sizeof err) == 0); /* twice: a no-op */
	T_ASSERT(tfevents_scalar(&w, "x", 1, 1, err, sizeof err) == -1);
}

static void test_writer_refusals(void)
{
	char err[512], path[128];
	snprintf(path, sizeof path, "%s/file", tmpdir);
	FILE *f = fopen(path, "w");
	T_ASSERT(f);
	fclose(f);
	tfevents_writer w;
	/* a file where the folder should be */
	T_ASSERT(tfevents_open(&w, path, err, sizeof err) == -1);
	T_ASSERTF(strstr(err, path) && strstr(err, "not a folder"), "%s", err);
	/* a folder that cannot be made (a file on its path): the message names the component */
	char sub[160];
	snprintf(sub, sizeof sub, "%s/x/y", path);
	T_ASSERT(tfevents_open(&w, sub, err, sizeof err) == -1);
	T_ASSERTF(strstr(err, path) && strstr(err, "cannot"), "%s", err);
	T_ASSERT(tfevents_open(&w, "", err, sizeof err) == -1);
	T_ASSERT(w.path == NULL);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_tfevents.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	T_RUN(test_crc32c_check_values);
	T_RUN(test_mask_and_frame);
	T_RUN(test_encoder_matches_protobuf);
	T_RUN(test_encoder_long_tag_negative_step);
	T_RUN(test_writer);
	T_RUN(test_writer_refusals);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return t_summary();
}
