/* show_stream.c — a msgpack stream (formats/streams.md) as JSON lines: the header first, then one line
 * per record, read in pieces so a pipe of millions of records streams through in constant memory. Any
 * kind and version is shown: lfm-show displays, it does not interpret. */
#include "show.h"

#include <limits.h>

#include "base/errors.h"
#include "io/stream.h"

int show_stream(input *in, const show_options *o, FILE *out)
{
	char err[1024];
	FILE *f = input_stream(in, err, sizeof err);
	if (!f) {
		warn("%s", err);
		return LFM_EXIT_IO;
	}
	int rc = 0;
	stream_reader *r = sr_open(f, in->name, NULL, INT_MAX, err, sizeof err);
	if (!r) {
		rc = input_read_failed(in) ? LFM_EXIT_IO : LFM_EXIT_DATA;
		warn("%s", err);
		fclose(f);
		return rc;
	}
	mp_write_json(out, sr_header(r));
	fputc('\n', out);
	msgpack_object rec;
	for (long long n = 0; o->head < 0 || n < o->head; n++) {
		int got = sr_next(r, &rec);
		if (got == 0)
			break;
		if (got < 0) {
			rc = input_read_failed(in) ? LFM_EXIT_IO : LFM_EXIT_DATA;
			warn("%s", sr_error(r));
			break;
		}
		mp_write_json(out, &rec);
		fputc('\n', out);
		/* A reader that went away (lfm-show big.mp | head) ends the run instead of draining the input. */
		if (ferror(out))
			break;
	}
	sr_close(r);
	fclose(f);
	return rc;
}
