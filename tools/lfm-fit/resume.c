/* resume.c — lfm-fit's exact continuation: the checks a --resume makes of the checkpoint and its resume
 * file before anything else is read, what it restores once the step is set up, the state saved after
 * every epoch and at a stop, in an order no kill can spoil, and the claim on -o (the same-file rule, the
 * lock, a killed run's temporaries) (formats/checkpoint.md; lfm-checkpoint(5); lfm-fit(1), FILES). */
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/json.h"
#include "model/checkpoint.h"
#include "signals.h"

/* The JSON array of strings `array` (NULL or not such an array: none) with s appended, as text. */
static char *json_array_append(const char *array, const char *s)
{
	membuf m;
	FILE *f = membuf_open(&m);
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
	return membuf_close(&m);
}

void run_resume_check(run *r)
{
	fit_options *o = &r->o;
	const char *fmt = st_meta(&r->source, "lfm.format");
	if (!fmt || strcmp(fmt, CHECKPOINT_FORMAT) != 0)
		die(LFM_EXIT_DATA, "%s: not an lfm-fit checkpoint (no metadata lfm.format = %s)", o->resume,
		    CHECKPOINT_FORMAT);
	/* The resume file that goes with this checkpoint: the resume file, or the next one when a save was cut
	 * between the checkpoint's rename and the next one's (lfm-checkpoint(5), Saving). */
	const char *cst = st_meta(&r->source, "step");
	char hash[32];
	snprintf(hash, sizeof hash, "%016llx", (unsigned long long)checkpoint_hash(&r->source));
	const char *cand[2] = {r->in_resume, r->in_resume_next}, *rpath = NULL;
	char seen[512] = "";
	for (int k = 0; k < 2 && !rpath; k++) {
		if (access(cand[k], F_OK) != 0)
			continue;
		st_open_or_die(cand[k], &r->resume);
		const char *st = st_meta(&r->resume, "step"), *ch = st_meta(&r->resume, "checkpoint_hash");
		if (cst && st && strcmp(st, cst) == 0 && (!ch || strcmp(ch, hash) == 0)) {
			rpath = cand[k]; /* no checkpoint_hash: written by an lfm-fit before it, the step binds them */
			break;
		}
		size_t n = strlen(seen);
		snprintf(seen + n, sizeof seen - n, "%s%s at step %s%s", n ? "; " : "", cand[k], st ? st : "?",
			 st && cst && strcmp(st, cst) == 0 ? " but of another checkpoint (checkpoint_hash differs)" : "");
		st_close(&r->resume);
	}
	if (!rpath && !*seen)
		die(LFM_EXIT_IO, "%s: no resume file beside the checkpoint (%s): the run completed (its resume "
				 "file is removed at the end) or was not written by lfm-fit",
		    o->resume, r->in_resume);
	if (!rpath)
		die(LFM_EXIT_DATA, "%s is at step %s but no resume file beside it goes with it (%s): not the pair of one "
				   "run; resume from an earlier copy",
		    o->resume, cst ? cst : "?", seen);
	r->have_resume = 1;
	const char *opts = st_meta(&r->resume, "options"), *st = st_meta(&r->resume, "step"),
		   *rec = st_meta(&r->resume, "records");
	if (!opts || !st || !rec)
		die(LFM_EXIT_DATA, "%s: not a resume file of lfm-fit (metadata options, step, records missing)", rpath);
	r->resume_step = strtol(st, NULL, 10);
	r->resume_records = strtoull(rec, NULL, 10);
	const char *ws = st_meta(&r->resume, "world_size");
	r->stored_world = ws ? (int)strtol(ws, NULL, 10) : 1; /* written before ranks: one process */
	if (r->stored_world != r->dist->world)
		warn("the run had %d rank%s, this one %d: the batch of %d is sliced differently and its gradients "
		     "summed in another order, so the losses will match the uninterrupted run's closely but not bit "
		     "for bit",
		     r->stored_world, r->stored_world == 1 ? "" : "s", r->dist->world, o->batch);
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
	if (!run_writes(r)) { /* rank 0 writes; the others keep the same account of what is saved */
		r->last_saved_step = r->fs.step;
		r->saved_any = 1;
		return;
	}
	char world[16];
	snprintf(world, sizeof world, "%d", r->dist->world);
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
	const char *cmeta[] = {"lfm.format", CHECKPOINT_FORMAT, "stage", stage, "epoch", epoch, "step", step, "seed", seed,
			       "options", r->opts_json, "command", r->first_command ? r->first_command : r->command,
			       "model", r->origin_model, r->o.samples ? "samples" : "plan", plan,
			       r->resume_commands ? "resumed_with" : NULL, r->resume_commands, NULL};
	uint64_t h;
	checkpoint_writer *cw = checkpoint_prepare(&r->source, &r->model, r->o.stage == 2 ? r->fs.head.fc : NULL, cmeta, &h);
	char hash[32];
	snprintf(hash, sizeof hash, "%016llx", (unsigned long long)h);
	const char *rmeta[] = {"stage", stage, "step", step, "epoch", epoch, "records", records, "epoch_steps", esteps,
			       "epoch_loss_sum", esum, "options", r->opts_json, "input", r->src.header.info.header_json,
			       "text_fnv1a64", text, "threads", threads, "command", r->command, "checkpoint_hash", hash,
			       "world_size", world, NULL};
	/* The order keeps a resumable pair on disk at every instant (lfm-checkpoint(5), Saving): 1-2 the next
	 * resume file (beside the old pair, which stays whole), 3-4 the checkpoint (now the next resume file's
	 * pair), 5 the next resume file over the old one. lfm_test_step counts the steps for the tests. */
	resume_save(r->resume_next_path, &r->model.cfg, r->model.naming, r->o.stage, fit_moment(&r->fs, 1),
		    fit_moment(&r->fs, 2), rmeta);
	checkpoint_write(cw, r->o.output);
	xrename(r->resume_next_path, r->resume_path);
	lfm_test_step();
	r->last_saved_step = r->fs.step;
	r->saved_any = 1;
	signals_retake();
}

/* Remove the temporary files (NAME.tmp.XXXXXX, outfile's) of the outputs names[] in folder dir. */
static void remove_stale(const char *dir, const char *const *names, int n)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		for (int k = 0; k < n; k++) {
			size_t len = strlen(names[k]);
			if (strncmp(e->d_name, names[k], len) != 0 || strncmp(e->d_name + len, ".tmp.", 5) != 0 ||
			    strlen(e->d_name + len + 5) != 6)
				continue;
			char *path = xasprintf("%s/%s", dir, e->d_name);
			if (unlink(path) == 0)
				warn("%s: removed, a temporary file a stopped run left", path);
			free(path);
		}
	}
	closedir(d);
}

void run_claim_outputs(run *r)
{
	fit_options *o = &r->o;
	r->resume_path = checkpoint_resume_path(o->output);
	r->resume_next_path = checkpoint_resume_next_path(o->output);
	lfm_input("--model", o->model);
	if (o->resume) {
		r->in_resume = checkpoint_resume_path(o->resume);
		r->in_resume_next = checkpoint_resume_next_path(o->resume);
		lfm_input_replaceable("--resume", o->resume);
		lfm_input_replaceable("the resume file", r->in_resume);
		lfm_input_replaceable("the resume file", r->in_resume_next);
	}
	lfm_input("--text", o->text);
	lfm_input("--data", o->data);
	lfm_input("--val", o->val);
	lfm_input("--val-data", o->val_data);
	lfm_input(o->samples ? "--samples" : "the plan", o->samples ? o->samples : o->plan);
	lfm_output("-o", o->output);
	lfm_output("the resume file", r->resume_path);
	lfm_output("the next resume file", r->resume_next_path);
	lfm_output_in_place("--log", o->log);
	if (!run_writes(r))
		return; /* rank 0 locks -o and cleans what a stopped run left */
	struct stat st;
	if (stat(o->output, &st) == 0 && !S_ISREG(st.st_mode))
		return; /* -o /dev/null: nothing to lock or clean */
	r->lock_path = xasprintf("%s.lock", o->output);
	lfm_lock_output(o->output, r->lock_path);
	char *copy = xstrdup(o->output);
	char *names[3] = {xstrdup(basename(copy)), NULL, NULL};
	free(copy);
	copy = xstrdup(r->resume_path);
	names[1] = xstrdup(basename(copy));
	free(copy);
	copy = xstrdup(r->resume_next_path);
	names[2] = xstrdup(basename(copy));
	free(copy);
	copy = xstrdup(o->output);
	remove_stale(dirname(copy), (const char *const *)names, 3);
	free(copy);
	for (int k = 0; k < 3; k++)
		free(names[k]);
}

void run_remove_resume_files(run *r)
{
	if (unlink(r->resume_path) != 0 && errno != ENOENT)
		warn("%s: cannot remove the resume file:", r->resume_path);
	if (unlink(r->resume_next_path) != 0 && errno != ENOENT)
		warn("%s: cannot remove the next resume file:", r->resume_next_path);
}
