/* show_jsonl.c — a stream written as JSON lines instead of msgpack (lfm-fit can log its metrics so,
 * formats/metrics.md): a header object with "format", then one JSON value per line. Shown as the
 * msgpack form is — the header line, then the records, --head applied — after checking that every
 * line is valid JSON, so a log cut off mid-line is reported rather than shown. */
#include "show.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "base/errors.h"
#include "base/json.h"

int show_jsonl(input *in, const show_options *o, FILE *out)
{
	char err[1024];
	FILE *f = input_stream(in, err, sizeof err);
	if (!f) {
		warn("%s", err);
		return LFM_EXIT_IO;
	}
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	for (long long n = 0; o->head < 0 || n <= o->head; n++) {
		ssize_t len = getline(&line, &cap, f);
		if (len < 0) {
			if (input_read_failed(in) || ferror(f)) {
				warn("%s: read error", in->name);
				rc = LFM_EXIT_IO;
			} else if (n == 0) {
				warn("%s: empty input (no header line)", in->name);
				rc = LFM_EXIT_DATA;
			}
			break;
		}
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = 0;
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = 0;
		char jerr[256];
		json_value *v = json_parse(line, (size_t)len, jerr, sizeof jerr);
		if (!v) {
			warn("%s: line %lld: invalid JSON %s", in->name, n + 1, jerr);
			rc = LFM_EXIT_DATA;
			break;
		}
		if (n == 0) {
			const json_value *fmt = json_get(v, "format");
			if (!fmt || fmt->type != JSON_STRING) {
				warn("%s: not an lfm stream (the first line is not a JSON object with a \"format\" "
				     "string)", in->name);
				json_free(v);
				rc = LFM_EXIT_DATA;
				break;
			}
		}
		json_free(v);
		fwrite(line, 1, (size_t)len, out);
		fputc('\n', out);
		if (ferror(out))
			break;
	}
	free(line);
	fclose(f);
	return rc;
}
