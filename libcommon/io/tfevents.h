/* tfevents.h — TensorBoard event files (formats/tensorboard.md, lfm-tensorboard(5)): scalar summaries
 * that TensorBoard, TensorFlow's summary iterator and tensorboard's own event reader load.
 *
 * An event file is a TFRecord file: each record is
 *     uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes | data | uint32 masked CRC-32C of data
 * with mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2^32), and each record's data is one
 * serialised `Event` protocol buffer. The first Event carries wall_time and file_version "brain.Event:2";
 * then one Event per scalar: wall_time (double, field 1), step (int64, field 2), summary (field 5) =
 * Summary { Value value = 1 { string tag = 1; float simple_value = 2 } }. A SessionLog START event
 * (session_log, field 7 = { status = 1 }) at the step a run starts from tells TensorBoard that the events
 * of an earlier piece of the run at that step and after are stale (a resumed run retrains them).
 *
 * Why a small encoder of our own and not protobuf-c: the writer needs three messages and seven fields of
 * four wire types (varint, 64-bit, 32-bit, length-delimited), about forty lines here, while protobuf-c
 * would add protoc-c to the build, a .proto to keep (TensorFlow's event.proto cannot be copied), its
 * generated code and a runtime library — for output that never needs to be parsed back by the tools.
 * The bytes are the canonical proto3 serialisation (fields in number order, zero scalars left out,
 * simple_value written even when 0 since it sits in a oneof), which tests/interop/read_tfevents.py checks
 * against protobuf's own. The checksum is base/crc32c.h (why there: see its comment).
 *
 * Writing: every record is one write(2) to a file opened O_APPEND, so a running TensorBoard sees each
 * scalar as soon as it is written (no stdio buffer to flush) and never a torn record from our side. An
 * event file is written in place, never through a temporary file: it is read while it grows, and its
 * name (events.out.tfevents.<unix time>.<host>.<pid>.<n>, created O_EXCL, n counting up past files that
 * exist) is new for each run, so no earlier file is ever replaced. */
#ifndef LFM_IO_TFEVENTS_H
#define LFM_IO_TFEVENTS_H

#include <stddef.h>
#include <stdint.h>

/* ---- encoding (pure functions: the unit tests' entry points) ---- */

/* The TFRecord mask of a CRC-32C (the formula above). */
uint32_t tfrecord_mask(uint32_t crc);
/* The masked CRC-32C of n bytes. */
uint32_t tfrecord_masked_crc(const void *data, size_t n);
/* The framing of a record of n data bytes: head[12] = length and its masked CRC; tail[4] = the data's. */
void tfrecord_frame(const void *data, size_t n, unsigned char head[12], unsigned char tail[4]);

/* Serialised Events, as snprintf: the number of bytes the Event takes, written to out only when it is at
 * most cap (out may be NULL with cap 0 to ask for the size). */
size_t tfevents_encode_version(unsigned char *out, size_t cap, double wall_time);
size_t tfevents_encode_start(unsigned char *out, size_t cap, double wall_time, int64_t step);
size_t tfevents_encode_scalar(unsigned char *out, size_t cap, double wall_time, int64_t step, const char *tag,
			      float value);

/* ---- writing ---- */

typedef struct tfevents_writer {
	int fd;     /* -1: closed */
	char *path; /* the event file, for messages */
} tfevents_writer;

/* Create dir (and its missing parents) when absent, then a new event file in it holding the version
 * Event. 0, or -1 with a message naming the folder or file (not a folder, not writable). */
int tfevents_open(tfevents_writer *w, const char *dir, char *err, size_t errsz);
/* One Event (wall_time now) in one record: a scalar, or SessionLog START at step. 0, or -1 with
 * "<file>: write error: ..." in err. */
int tfevents_scalar(tfevents_writer *w, const char *tag, int64_t step, float value, char *err, size_t errsz);
int tfevents_start(tfevents_writer *w, int64_t step, char *err, size_t errsz);
/* Close (fsync first, so the file is on disk when the run reports success). 0, or -1 with a message. A
 * writer never opened, or zeroed, closes as a no-op. */
int tfevents_close(tfevents_writer *w, char *err, size_t errsz);

#endif
