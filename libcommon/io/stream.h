/* stream.h — the project's msgpack streams: one header map, then one record object after another.
 *
 * Header: a map whose "format" is "KIND/VERSION" (e.g. "lfm.samples/1") plus whatever the kind needs
 * (class names, counts, seeds, "command"). Records: any msgpack object, by convention a map.
 * Readers name the kind they accept and the highest version they understand; anything else is refused
 * with a clear message. Input is pulled from a FILE* in pieces (pipes deliver partial objects); a stream
 * that ends inside an object is "truncated", garbage is "malformed", both with the record number.
 *
 * Ownership (jq-like, stated once): the header stays valid until sr_close; the object returned by
 * sr_next (or the bytes by sr_next_raw) stay valid until the next sr_next, sr_next_raw or sr_close.
 * Copy what you keep.
 */
#ifndef LFM_STREAM_H
#define LFM_STREAM_H

#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>

/* ---- writing ---- */
typedef struct stream_writer stream_writer;
/* Writes to f through a 1 MiB buffer (and asks for a 1 MiB pipe when f is one); name is used in messages
 * ("stdout", a path). A write error at any point (full disk, closed pipe) dies with LFM_EXIT_IO. */
stream_writer *sw_open(FILE *f, const char *name);
msgpack_packer *sw_packer(stream_writer *w); /* pack the header map, then records, with msgpack-c */
void sw_close(stream_writer *w);             /* flush; write errors die with LFM_EXIT_IO. Does not fclose f */
/* For tools that encode records themselves: room for n bytes (at most 1 MiB) at the end of the buffer,
 * flushed first if needed, then sw_commit(w, used) with used <= n appends what was written there. Nothing
 * else may write to w in between. Saves a copy per record batch. */
unsigned char *sw_reserve(stream_writer *w, size_t n);
void sw_commit(stream_writer *w, size_t used);

/* Packing helpers for map entries: key then value. */
void mp_pack_cstr(msgpack_packer *pk, const char *s);
void mp_pack_kv_str(msgpack_packer *pk, const char *key, const char *value);
void mp_pack_kv_int(msgpack_packer *pk, const char *key, int64_t value);
void mp_pack_kv_uint(msgpack_packer *pk, const char *key, uint64_t value);
void mp_pack_kv_f64(msgpack_packer *pk, const char *key, double value);
void mp_pack_kv_bool(msgpack_packer *pk, const char *key, int value);
/* The "command" header entry: argv joined with spaces (shell-quoted where needed). */
void mp_pack_kv_command(msgpack_packer *pk, const char *key, int argc, char **argv);

/* ---- reading ---- */
typedef struct stream_reader stream_reader;
/* Open and read the header. kind: e.g. "lfm.samples" (NULL accepts any kind); max_version: the highest
 * version understood (INT_MAX accepts any). Returns NULL with a message in err on failure (the fuzz entry
 * point). Messages start with name. One object (header or record) may need at most 256 MiB of memory
 * (encoded bytes plus msgpack-c's objects) and nest at most 32 containers deep; larger or deeper ones are
 * refused as bad data, so a corrupt length never makes the reader allocate without bound. When f is a
 * plain file descriptor with nothing buffered in stdio yet, the reader read(2)s it directly and uses
 * each piece as it arrives; from then on the stream belongs to the reader (do not read f yourself). */
stream_reader *sr_open(FILE *f, const char *name, const char *kind, int max_version, char *err,
		       size_t errsz);
/* sr_open that dies with LFM_EXIT_DATA (or LFM_EXIT_IO on read errors) and the message. */
stream_reader *sr_open_or_die(FILE *f, const char *name, const char *kind, int max_version);
const msgpack_object *sr_header(const stream_reader *r);
const char *sr_kind(const stream_reader *r); /* "lfm.samples" */
int sr_version(const stream_reader *r);
/* Next record: 1 and *out set; 0 at a clean end of stream; -1 on error with a message in sr_error(). */
int sr_next(stream_reader *r, msgpack_object *out);
/* sr_next that dies on error (message names the stream and record number). */
int sr_next_or_die(stream_reader *r, msgpack_object *out);
/* Next record as its encoded bytes, for a reader that parses a fixed layout itself (lfm-mix): 1 with
 * *data, *len set to one complete, well-formed msgpack object, exactly the record sr_next would return
 * (the same checks: size, depth, malformed bytes); 0 at a clean end; -1 on error, with the same message
 * at the same record as sr_next. The bytes stay valid until the next sr_next, sr_next_raw or sr_close.
 * Calls to sr_next and sr_next_raw may be mixed; both count records. */
int sr_next_raw(stream_reader *r, const unsigned char **data, size_t *len);
int sr_next_raw_or_die(stream_reader *r, const unsigned char **data, size_t *len);
/* The record sr_next_raw just returned, decoded as sr_next would have returned it (the fallback of a
 * fast path), valid as long as its bytes. 0, or -1 if there is no such record or memory ran out. */
int sr_decode_raw(stream_reader *r, msgpack_object *out);
const char *sr_error(const stream_reader *r);
uint64_t sr_records_read(const stream_reader *r);
void sr_close(stream_reader *r);

/* ---- looking inside maps ---- */
const msgpack_object *mp_map_get(const msgpack_object *map, const char *key); /* NULL if absent */
/* Typed getters: return 0 and set *out, or -1 if the key is absent or of the wrong type/range. */
int mp_get_int(const msgpack_object *map, const char *key, int64_t *out);
int mp_get_f64(const msgpack_object *map, const char *key, double *out); /* ints accepted too */
/* The string value as a freshly allocated NUL-terminated copy, or NULL. */
char *mp_get_str(const msgpack_object *map, const char *key);
/* Whether o is a str equal to s. */
int mp_str_eq(const msgpack_object *o, const char *s);

/* Write any msgpack object as JSON (one line, no newline) — lfm-show and tests use it. Binary data is
 * written as a base64 string (standard alphabet, padded); ext as {"ext":TYPE,"data":"BASE64"}; float32/64
 * as the shortest decimal that reads back to the same value, always with a '.' or exponent ("1.0"); NaN
 * and infinities, which JSON lacks, as the strings "NaN", "Infinity", "-Infinity". Strings go through
 * json_write_string (invalid UTF-8 becomes U+FFFD). Map keys that are not strings are written as the
 * string of their JSON text (1 -> "1"), cut after 64 KiB with "..." (keys nested in keys would grow
 * exponentially), binary keys as their base64. */
void mp_write_json(FILE *f, const msgpack_object *o);

#endif
