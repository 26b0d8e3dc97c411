/* records.c — see records.h. The plan's own checks (the header, each record's fields, epoch, weights and
 * labels) are its codec's, io/plan.h; what is lfm-fit's is the check of each record against the dataset
 * and the shuffled samples stream of the baselines. */
#include "records.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/rng.h"
#include "io/plan.h"
#include "io/stream_header.h"

/* The losses' counts from the header's. */
static void take_counts(record_source *s)
{
	const stream_header_info *info = &s->header.info;
	s->counts = xmalloc_array((size_t)info->classes, sizeof *s->counts);
	for (int k = 0; k < info->classes; k++)
		s->counts[k] = (float)info->counts[k];
}

int record_source_read_plan_header(record_source *s, char *err, size_t errsz)
{
	if (plan_header_read(sr_header(s->r), s->name, &s->header, err, errsz))
		return -1;
	take_counts(s);
	return 0;
}

void record_source_open_plan(record_source *s, const char *path)
{
	memset(s, 0, sizeof *s);
	s->from_plan = 1;
	s->name = strcmp(path, "-") == 0 ? "stdin" : path;
	s->in = xfopen(path, "rb");
	s->r = sr_open_or_die(s->in, s->name, "lfm.plan", 1);
	char err[1024];
	if (record_source_read_plan_header(s, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
}

void record_source_open_samples(record_source *s, const char *path, uint64_t seed)
{
	memset(s, 0, sizeof *s);
	s->name = strcmp(path, "-") == 0 ? "stdin" : path;
	samples_read(path, 0, &s->smp);
	if (s->smp.n == 0)
		die(LFM_EXIT_DATA, "%s: no samples", s->name);
	if (s->smp.n > UINT32_MAX)
		die(LFM_EXIT_DATA, "%s: %zu samples; at most 2^32 can be shuffled", s->name, s->smp.n);
	char err[1024];
	if (stream_header_info_read(&s->smp.header, s->name, "the class counts the losses need", &s->header.info, err,
				    sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	take_counts(s);
	s->header.per_epoch = s->smp.n;
	s->seed = seed;
	s->perm = xmalloc_array(s->smp.n, sizeof *s->perm);
	s->perm_epoch = -1;
}

void record_source_bind(record_source *s, const dataset *ds, const char *data_path)
{
	s->ds = ds;
	if (dataset_num_classes(ds) != s->header.info.classes)
		die(LFM_EXIT_DATA, "%s has %d classes but %s has %d: the wrong dataset (or class list) for this %s",
		    data_path, dataset_num_classes(ds), s->name, s->header.info.classes, s->from_plan ? "plan" : "samples stream");
	const dataset_identity *id = dataset_source(ds);
	if (s->header.info.source_hash && id && id->hash && strcmp(s->header.info.source_hash, id->hash) != 0)
		warn("%s was made from a source with %s; %s has %s (labels are checked record by record)", s->name,
		     s->header.info.source_hash, data_path, id->hash);
}

/* rn: the 1-based record number, for messages. */
static int check_sample(const record_source *s, uint64_t rn, const char *field, uint64_t idx, int label, char *err,
			size_t errsz)
{
	size_t n = dataset_count(s->ds);
	if (idx >= n)
		return err_set(err, errsz, "%s: record %llu: sample %s = %llu is beyond the dataset's %zu samples: the wrong "
					"dataset or split",
			    s->name, (unsigned long long)rn, field, (unsigned long long)idx, n);
	int have = dataset_label(s->ds, (size_t)idx);
	if (have != label)
		return err_set(err, errsz, "%s: record %llu: sample %llu (%s) has label %d in the dataset but %d in the %s: "
					"the wrong dataset or split",
			    s->name, (unsigned long long)rn, (unsigned long long)idx, dataset_key(s->ds, (size_t)idx),
			    have, label, s->from_plan ? "plan" : "samples stream");
	return 0;
}

static int next_from_plan(record_source *s, fit_record *out, char *err, size_t errsz)
{
	plan_record rec;
	if (plan_next(s->r, &s->header, s->name, s->next, &rec, err, errsz))
		return -1;
	uint64_t rn = s->next + 1;
	if (check_sample(s, rn, "i", rec.i, rec.yi, err, errsz) || check_sample(s, rn, "j", rec.j, rec.yj, err, errsz))
		return -1;
	*out = (fit_record){rec.i, rec.j, rec.yi, rec.yj, rec.lx, rec.ly};
	return 0;
}

static int next_from_samples(record_source *s, fit_record *out, char *err, size_t errsz)
{
	uint64_t e = s->next / s->header.per_epoch, t = s->next % s->header.per_epoch;
	if ((int64_t)e != s->perm_epoch) {
		rng r;
		rng_init(&r, s->seed, rng_stream_id("fit.perm", e, 0));
		rng_permutation(&r, s->perm, s->smp.n);
		s->perm_epoch = (int64_t)e;
	}
	size_t k = s->perm[t];
	uint64_t idx = s->smp.index[k];
	int y = s->smp.label[k];
	if (check_sample(s, s->next + 1, "index", idx, y, err, errsz))
		return -1;
	*out = (fit_record){idx, idx, y, y, 1.0f, 1.0f};
	return 0;
}

int record_source_try_next(record_source *s, fit_record *out, char *err, size_t errsz)
{
	int rc = s->from_plan ? next_from_plan(s, out, err, errsz) : next_from_samples(s, out, err, errsz);
	if (rc == 0)
		s->next++;
	return rc;
}

void record_source_next(record_source *s, fit_record *out)
{
	char err[1024];
	if (record_source_try_next(s, out, err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
}

void record_source_skip(record_source *s, uint64_t n)
{
	fit_record r;
	if (!s->from_plan) { /* a pure function of the position */
		s->next += n;
		return;
	}
	for (uint64_t k = 0; k < n; k++)
		record_source_next(s, &r);
}

void record_source_close(record_source *s)
{
	if (s->r)
		sr_close(s->r);
	if (s->in && s->in != stdin)
		fclose(s->in);
	if (!s->from_plan && s->perm)
		samples_free(&s->smp);
	plan_header_free(&s->header);
	free(s->counts);
	free(s->perm);
	memset(s, 0, sizeof *s);
}
