/* options.h — command-line helpers over getopt_long: range-checked numbers whose errors name the
 * option, and the --help/--version behaviour every tool shares. */
#ifndef LFM_OPTIONS_H
#define LFM_OPTIONS_H

#include <stdint.h>

/* Parse the whole of arg as a number within [min, max]; otherwise die with LFM_EXIT_USAGE and a message
 * such as "option --tau: '0' is out of range (0.0001 .. 1000)". opt is the option as the user typed it,
 * e.g. "--tau". Rejects empty strings, trailing junk, NaN and infinities. */
long long opt_int(const char *opt, const char *arg, long long min, long long max);
uint64_t opt_u64(const char *opt, const char *arg, uint64_t min, uint64_t max);
double opt_double(const char *opt, const char *arg, double min, double max);
/* For an exclusive lower bound (tau > 0): the value must be > min. */
double opt_double_gt(const char *opt, const char *arg, double min, double max);
/* arg must be one of the NULL-terminated choices; returns its index. */
int opt_choice(const char *opt, const char *arg, const char *const *choices);

/* Print "NAME (lfm-tools) VERSION" to stdout and exit 0. */
_Noreturn void opt_version(void);
/* Print help text to stdout and exit 0. */
_Noreturn void opt_help(const char *text);
/* getopt's '?' or ':' (optstring starting with ':'; lfm_init sets opterr = 0, so getopt itself prints
 * nothing): one message, "unknown option '--bogus'" or "option '--batch' needs a value", and exit 2. */
_Noreturn void opt_bad_option(int c, char **argv);
/* Die with LFM_EXIT_USAGE: "<msg>\nTry '<tool> --help'." */
_Noreturn void opt_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
