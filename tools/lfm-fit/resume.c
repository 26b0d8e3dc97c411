/* resume.c — lfm-fit's exact continuation: the checks a --resume makes of the checkpoint and its resume
 * file before anything else is read, what it restores once the step is set up, and the state saved after
 * every epoch and at a stop (formats/checkpoint.md; lfm-fit(1), FILES). */
#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/json.h"
#include "model/checkpoint.h"
#include "signals.h"

/* The JSON array of strings `array` (NULL or not such an array: none) with s appended, as text. */
static char *json_array_append(const char *array, const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		die(LFM_EXIT_IO, "cannot allocate memory:");
	fputc('[', f);
	char err[128];
	json_value *j = array ? json_parse(array, strlen(array), err, sizeof err) : NULL;
	size_t n = 0;
	for (size_t k = 0; j && j->type == JSON_ARRAY && k < j->count; k++)
		if (j->items[k]->type == JSON_STRING) {
			if (n++)
				fputc(',', f);
			json_write_string(f, j->items[k]->string, strlen(j->items[k]->string));
		}
	if (n)
		fputc(',', f);
	json_write_string(f, s, strlen(s));
	fputc(']', f);
	json_free(j);
	if (fclose(f) != 0)
		die(LFM_EXIT_IO, "cannot allocate memory:");
	return buf;
}

void run_resume_check(run *r)
{
	fit_options *o = &r->o;
	const char *fmt = st_meta(&r->source, "lfm.format");
	if (!fmt || strcmp(fmt, CHECKPOINT_FORMAT) != 0)
		die(LFM_EXIT_DATA, "%s: not an lfm-fit checkpoint (no metadata lfm.format = %s)", o->resume,
		    CHECKPOINT_FORMAT);
	char *rpath = checkpoint_resume_path(o->resume);
	if (access(rpath, F_OK) != 0)
		die(LFM_EXIT_IO, "%s: no resume file beside the checkpoint (%s): the run completed (its resume "
				 "file is removed at the end) or was not written by lfm-fit",
		    o->resume, rpath);
	st_open_or_die(rpath, &r->resume);
	r->have_resume = 1;
	const char *opts = st_meta(&r->resume, "options"), *st = st_meta(&r->resume, "step"),
		   *rec = st_meta(&r->resume, "records");
	const char *cst = st_meta(&r->source, "step");
	if (!opts || !st || !rec)
		die(LFM_EXIT_DATA, "%s: not a resume file of lfm-fit (metadata options, step, records missing)", rpath);
	r->resume_step = strtol(st, NULL, 10);
	r->resume_records = strtoull(rec, NULL, 10);
	if (!cst || strtol(cst, NULL, 10) != r->resume_step)
		die(LFM_EXIT_DATA, "%s is at step %s but its resume file %s at step %ld: the run stopped while "
				   "writing them; resume from an earlier copy",
		    o->resume, cst ? cst : "?", rpath, r->resume_step);
	int stored_threads = fit_options_apply_stored(o, opts, rpath, &r->stored_split);
	if (!(o->given & GIVEN_THREADS))
		o->threads = stored_threads; /* the same slices over the threads: bit for bit the uninterrupted run */
	else if (stored_threads != o->threads)
		warn("the run used %d threads, this one %d: the batches are sliced differently over the threads, so the losses "
		     "will match the uninterrupted run's closely but not bit for bit",
		     stored_threads, o->threads);
	/* the run's history: its first command stays, this one is added to the resumes */
	const char *first = st_meta(&r->source, "command"), *resumes = st_meta(&r->source, "resumed_with");
	r->first_command = xstrdup(first ? first : r->command);
	r->resume_commands = json_array_append(resumes, r->command);
	const char *origin = st_meta(&r->source, "model");
	r->origin_model = xstrdup(origin ? origin : o->resume);
	free(rpath);
}

void run_resume_apply(run *r)
{
	const fit_options *o = &r->o;
	char err[1024];
	if (resume_load(&r->resume, &r->model.cfg, r->model.naming, o->stage, fit_moment(&r->fs, 1),
			fit_moment(&r->fs, 2), err, sizeof err))
		die(LFM_EXIT_DATA, "%s", err);
	fit_host_changed(&r->fs);
	const char *th = st_meta(&r->resume, "text_fnv1a64");
	char hex[32];
	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)r->text_hash);
	if (!th || strcmp(th, hex) != 0)
		die(LFM_EXIT_DATA, "%s: not the text features the resumed run used", o->text);
	const char *es = st_meta(&r->resume, "epoch_steps"), *el = st_meta(&r->resume, "epoch_loss_sum");
	r->epoch_steps = es ? strtol(es, NULL, 10) : 0;
	r->epoch_loss_sum = el ? strtod(el, NULL) : 0;
	if (r->resume_records > (uint64_t)r->epochs * r->per_epoch ||
	    r->resume_records % r->per_epoch % (uint64_t)o->batch)
		die(LFM_EXIT_DATA, "%s: position %llu is not a batch boundary of this run", o->resume,
		    (unsigned long long)r->resume_records);
	r->fs.step = r->resume_step;
	record_source_skip(&r->src, r->resume_records);
	r->records = r->resume_records;
	st_close(&r->resume);
	if (r->records % r->per_epoch == 0) { /* the epoch in progress had not begun */
		r->epoch_steps = 0;
		r->epoch_loss_sum = 0;
	}
}

void run_save(run *r)
{
	char step[32], epoch[32], records[32], esteps[32], esum[64], seed[32], threads[32], stage[8], text[32];
	fit_sync_host(&r->fs);
	if (!fit_params_finite(&r->fs))
		die(LFM_EXIT_DATA, "step %ld: the trained parameters are no longer finite; %s was not rewritten%s", r->fs.step,
		    r->o.output, r->saved_any ? " (it holds the last good state)" : "");
	snprintf(step, sizeof step, "%ld", r->fs.step);
	snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)(r->records / r->per_epoch));
	snprintf(records, sizeof records, "%llu", (unsigned long long)r->records);
	snprintf(esteps, sizeof esteps, "%ld", r->epoch_steps);
	snprintf(esum, sizeof esum, "%a", r->epoch_loss_sum);
	snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->o.seed);
	snprintf(threads, sizeof threads, "%d", r->o.threads);
	snprintf(stage, sizeof stage, "%d", r->o.stage);
	snprintf(text, sizeof text, "%016llx", (unsigned long long)r->text_hash);
	const char *plan = r->o.samples ? r->o.samples : r->o.plan;
	const char *rmeta[] = {"stage", stage, "step", step, "epoch", epoch, "records", records, "epoch_steps", esteps,
			       "epoch_loss_sum", esum, "options", r->opts_json, "input", r->src.header_json,
			       "text_fnv1a64", text, "threads", threads, "command", r->command, NULL};
	resume_save(r->resume_path, &r->model.cfg, r->model.naming, r->o.stage, fit_moment(&r->fs, 1),
		    fit_moment(&r->fs, 2), rmeta);
	const char *cmeta[] = {"lfm.format", CHECKPOINT_FORMAT, "stage", stage, "epoch", epoch, "step", step, "seed", seed,
			       "options", r->opts_json, "command", r->first_command ? r->first_command : r->command,
			       "model", r->origin_model, r->o.samples ? "samples" : "plan", plan,
			       r->resume_commands ? "resumed_with" : NULL, r->resume_commands, NULL};
	checkpoint_save(r->o.output, &r->source, &r->model, r->o.stage == 2 ? r->fs.head.fc : NULL, cmeta);
	r->last_saved_step = r->fs.step;
	r->saved_any = 1;
	signals_retake();
}
