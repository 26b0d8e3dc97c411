/* metrics.c — see metrics.h. */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "io/stream.h"

void metrics_open(metrics_log *m, const char *path, int json)
{
	memset(m, 0, sizeof *m);
	msgpack_sbuffer_init(&m->sb);
	msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
	if (!path)
		return;
	if (json < 0) {
		size_t n = strlen(path);
		json = (n > 6 && strcmp(path + n - 6, ".jsonl") == 0) || (n > 5 && strcmp(path + n - 5, ".json") == 0);
	}
	m->json = json;
	m->name = xstrdup(strcmp(path, "-") == 0 ? "stdout" : path);
	m->f = xfopen(path, "wb");
}

msgpack_packer *metrics_begin(metrics_log *m)
{
	msgpack_sbuffer_clear(&m->sb);
	return &m->pk;
}

void metrics_end(metrics_log *m)
{
	if (!m->f)
		return;
	if (!m->json) {
		xfwrite(m->sb.data, m->sb.size, m->f, m->name);
	} else {
		msgpack_zone zone;
		msgpack_zone_init(&zone, 1024);
		msgpack_object obj;
		size_t off = 0;
		if (msgpack_unpack(m->sb.data, m->sb.size, &off, &zone, &obj) != MSGPACK_UNPACK_SUCCESS)
			die(LFM_EXIT_IO, "internal error: a metrics record does not unpack");
		mp_write_json(m->f, &obj);
		fputc('\n', m->f);
		msgpack_zone_destroy(&zone);
	}
	if (fflush(m->f) != 0 || ferror(m->f))
		die(LFM_EXIT_IO, "%s: write error:", m->name);
}

void metrics_close(metrics_log *m)
{
	if (m->f)
		xfclose(m->f, m->name);
	free(m->name);
	msgpack_sbuffer_destroy(&m->sb);
	memset(m, 0, sizeof *m);
}
