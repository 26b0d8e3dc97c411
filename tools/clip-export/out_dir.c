/* out_dir.c — a directory output written aside and put in place in one step (export.h), so a reader
 * (from_pretrained) never sees half an export and a failure keeps the previous one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "export.h"

static char *tmp_dir;   /* while it is not committed: removed at exit or a signal (errors.h) */
static char *final_dir;
static int replace;     /* final_dir exists (an earlier export, or empty) */
static const char *const *export_names;

/* The old export's files, moved under the temporary name by the exchange (check_replaceable: only the
 * names an export writes), then the folder. */
static void remove_old_export(const char *dir, const char *const *names)
{
	for (size_t i = 0; names[i]; i++) {
		char *p = xasprintf("%s/%s", dir, names[i]);
		unlink(p);
		free(p);
	}
	rmdir(dir);
}

/* DIR's entries, when it exists: all among names (or none)? Dies (usage) otherwise. */
static void check_replaceable(const char *dir, const char *const *names)
{
	DIR *d = opendir(dir);
	if (!d)
		die(LFM_EXIT_IO, "-o %s: cannot read the folder:", dir);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		int ours = 0;
		for (size_t i = 0; names[i]; i++)
			ours |= strcmp(e->d_name, names[i]) == 0;
		if (!ours)
			die(LFM_EXIT_USAGE, "-o %s: the folder exists and holds '%s', which an export does not write: "
					    "refusing to replace it (give a new folder, or remove it)", dir, e->d_name);
	}
	closedir(d);
}

const char *out_dir_begin(const char *dir, const char *const *names)
{
	struct stat st;
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	final_dir = xasprintf("%.*s", (int)n, dir);
	if (lstat(final_dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			die(LFM_EXIT_USAGE, "-o %s: exists and is not a folder", dir);
		check_replaceable(final_dir, names);
		replace = 1;
	} else if (errno != ENOENT) {
		die(LFM_EXIT_IO, "-o %s:", dir);
	}
	tmp_dir = xasprintf("%s.tmp.XXXXXX", final_dir);
	if (!mkdtemp(tmp_dir))
		die(LFM_EXIT_IO, "-o %s: cannot create a temporary folder beside it:", dir);
	mode_t mask = umask(0); /* mkdtemp makes 0700; an export is the usual 0777 & ~umask */
	umask(mask);
	if (chmod(tmp_dir, 0777 & ~mask) != 0)
		warn("%s: cannot set the permissions:", tmp_dir);
	/* its files and itself removed at exit and on SIGINT/SIGTERM/SIGHUP until the commit is done */
	export_names = names;
	lfm_temp_dir_track(tmp_dir, names);
	return tmp_dir;
}

static void sync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		die(LFM_EXIT_IO, "%s: cannot sync:", path);
	close(fd);
}

/* The folder that holds path (for syncing a rename in it). */
static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	return slash == path ? xstrdup("/") : xasprintf("%.*s", (int)(slash - path), path);
}

void out_dir_commit(void)
{
	sync_path(tmp_dir); /* the files themselves were synced by their writers */
	if (!replace || rmdir(final_dir) == 0) {
		if (rename(tmp_dir, final_dir) != 0)
			die(LFM_EXIT_IO, "cannot rename %s to %s:", tmp_dir, final_dir);
	} else {
		/* An earlier export: swapped in one step, so DIR is always one whole export; the old one, now
		 * under the temporary name, is removed after. */
		if (renameat2(AT_FDCWD, tmp_dir, AT_FDCWD, final_dir, RENAME_EXCHANGE) != 0)
			die(LFM_EXIT_IO, "cannot exchange %s with %s:", tmp_dir, final_dir);
	}
	char *parent = parent_of(final_dir);
	sync_path(parent);
	free(parent);
	if (replace)
		remove_old_export(tmp_dir, export_names); /* (gone already when DIR was empty) */
	/* Kept from here: the temporary name now holds nothing, and until this line a signal or a failed
	 * sync above removes the old export's files under it, never the new export, which is under DIR. */
	lfm_temp_dir_keep();
	free(tmp_dir);
	tmp_dir = NULL;
}
