/* options.c — see options.h. */
#include "base/errors.h"
#include "base/options.h"

#include <errno.h>
#include <math.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LFM_VERSION
#define LFM_VERSION "unknown"
#endif

void opt_usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", lfm_progname());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", lfm_progname());
	exit(LFM_EXIT_USAGE);
}

long long opt_int(const char *opt, const char *arg, long long min, long long max)
{
	char *end;
	errno = 0;
	long long v = strtoll(arg, &end, 10);
	if (!*arg || *end || end == arg)
		opt_usage_error("option %s: '%s' is not an integer", opt, arg);
	if (errno == ERANGE || v < min || v > max)
		opt_usage_error("option %s: '%s' is out of range (%lld .. %lld)", opt, arg, min, max);
	return v;
}

uint64_t opt_u64(const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	char *end;
	errno = 0;
	if (!*arg || *arg == '-' || *arg == ' ')
		opt_usage_error("option %s: '%s' is not a non-negative integer", opt, arg);
	unsigned long long v = strtoull(arg, &end, 10);
	if (*end || end == arg)
		opt_usage_error("option %s: '%s' is not a non-negative integer", opt, arg);
	if (errno == ERANGE || v < min || v > max)
		opt_usage_error("option %s: '%s' is out of range (%llu .. %llu)", opt, arg,
				(unsigned long long)min, (unsigned long long)max);
	return v;
}

static double parse_double(const char *opt, const char *arg)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (!*arg || *end || end == arg || !isfinite(v))
		opt_usage_error("option %s: '%s' is not a finite number", opt, arg);
	return v;
}

double opt_double(const char *opt, const char *arg, double min, double max)
{
	double v = parse_double(opt, arg);
	if (v < min || v > max)
		opt_usage_error("option %s: '%s' is out of range (%g .. %g)", opt, arg, min, max);
	return v;
}

double opt_double_gt(const char *opt, const char *arg, double min, double max)
{
	double v = parse_double(opt, arg);
	if (v <= min || v > max)
		opt_usage_error("option %s: '%s' must be > %g and <= %g", opt, arg, min, max);
	return v;
}

int opt_choice(const char *opt, const char *arg, const char *const *choices)
{
	for (int i = 0; choices[i]; i++)
		if (strcmp(arg, choices[i]) == 0)
			return i;
	char buf[512] = "";
	for (int i = 0; choices[i]; i++) {
		if (i)
			strncat(buf, ", ", sizeof buf - strlen(buf) - 1);
		strncat(buf, choices[i], sizeof buf - strlen(buf) - 1);
	}
	opt_usage_error("option %s: '%s' is not one of: %s", opt, arg, buf);
}

void opt_version(void)
{
	printf("%s (lfm-tools) %s\n", lfm_progname(), LFM_VERSION);
	xfclose(stdout, "stdout");
	exit(LFM_EXIT_OK);
}

void opt_help(const char *text)
{
	fputs(text, stdout);
	xfclose(stdout, "stdout");
	exit(LFM_EXIT_OK);
}

void opt_bad_option(int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";
	if (c == ':')
		opt_usage_error("option '%s' needs a value", arg);
	if (optopt)
		opt_usage_error("unknown option '-%c'", optopt);
	opt_usage_error("unknown option '%s'", arg);
}
