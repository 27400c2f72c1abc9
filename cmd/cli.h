/* cli.h: what every vs-* program shares: reporting to stderr, the common
 * options, settings with their precedence, --stats, and a checked exit.
 *
 * Only programs print. A program calls vs_cli_init() first, handles the
 * common options with vs_cli_common_option(), reports a failed status once
 * with vs_cli_report(), and returns vs_cli_exit(code) from main, which
 * flushes and checks stdout (a failed write is exit 5) and prints the
 * --stats object.
 */
#ifndef VS_CLI_H
#define VS_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "vs_internal.h"

/* Long-only option codes shared by the programs (keep above 255). */
enum {
    VS_OPT_STATS = 1000,
    VS_OPT_CONFIG,
    VS_OPT_QUIET, /* --quiet: the long form maps here so a program may give -q another meaning */
    VS_OPT_FIRST_PROGRAM /* programs number their own long-only options from here */
};

/* Entries for every program's getopt_long table. */
#define VS_CLI_COMMON_LONGOPTS                                   \
    {"config", required_argument, NULL, VS_OPT_CONFIG},          \
    {"help", no_argument, NULL, 'h'},                            \
    {"quiet", no_argument, NULL, VS_OPT_QUIET},                           \
    {"stats", no_argument, NULL, VS_OPT_STATS},                  \
    {"verbose", no_argument, NULL, 'v'},                         \
    {"version", no_argument, NULL, 'V'}
#define VS_CLI_COMMON_SHORTOPTS "hqvV"

struct vs_cli_state {
    const char *prog;
    int verbosity;        /* -1 quiet, 0 normal, 1.. verbose */
    int stats;            /* --stats given */
    const char *config;   /* --config FILE, or NULL */
    int stdout_is_pipe;   /* flush after every record */
    int stderr_is_tty;    /* progress line allowed */
    double t0;            /* start time, seconds */
    double last_progress; /* time of the last progress line */
    double progress_every; /* seconds between -v progress lines off a terminal */
    int progress_shown;
    long long input_bytes; /* vs_cli_progress_inputs: their size, 0 unknown */
    long long input_read0; /* the meter when they were given */
    uint64_t part, whole;  /* vs_cli_progress_part */
    const char *part_unit;
    json_t *stat;         /* --stats object, keys in insertion order */
    struct vs_config *cfg;/* loaded lazily by vs_cli_setting() */
    int cfg_loaded;
    char cfg_path[4096];  /* the file loaded, for messages */
    struct {              /* where returned settings came from */
        const char *value;
        char key[64];
        char where[4200]; /* "FILE:LINE" or "VS_KEY" */
    } origin[32];
    int norigins;
    uint64_t t0_ns;       /* start, Unix nanoseconds (the process span) */
    int no_trace;         /* vs_cli_no_trace() was called */
    const char *stage[8]; /* vs_cli_stage() names and start times */
    uint64_t stage_ns[8];
    int nstages;
    int stream_mode;      /* vs_cli_stream(): 0 off, VS_CLI_STREAM_ORIGIN or _FILTER */
    int stream_begun;     /* the begin marker is written */
    long long stream_records; /* records written after it */
};
extern struct vs_cli_state vs_cli;

/* Set the program name and the start time; look at stdout and stderr. */
void vs_cli_init(const char *prog);

/* Handle one of the common options (c as returned by getopt_long).
 * -h prints usage to stdout and exits 0; -V prints the version and exits 0.
 * Returns 1 when c was a common option, 0 otherwise. */
int vs_cli_common_option(int c, const char *arg, void (*usage)(FILE *));

/* An unknown option or a bad argument: print the message (if fmt is not
 * NULL) and a hint to --help; returns VS_EXIT_USAGE. */
int vs_cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Messages on stderr: "prog: error: ...", "prog: warning: ...", and
 * informational lines shown with -v (level 1) or -vv (level 2). */
void vs_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vs_cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vs_cli_info(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print a failed status as one line: "prog: error: FILE:LINE:COL: field
 * 'F': detail" (parts that are unknown are left out) and return its exit
 * code. vs_cli_report_warning prints the same as a warning (for
 * --keep-going) and returns nothing. */
int vs_cli_report(int status, const struct vs_diag *d);
void vs_cli_report_warning(int status, const struct vs_diag *d);

/* Parse numbers with range checks; on failure print a usage error naming
 * the option and return VS_EXIT_USAGE, else 0. */
int vs_cli_parse_long(const char *opt, const char *s, long min, long max,
                      long *out);
int vs_cli_parse_double(const char *opt, const char *s, double min, double max,
                        double *out);
/* A value that is none of the choices: "OPT needs CHOICES, not 'S'", OPT
 * named as by the parsers (its FILE:LINE for a setting); returns
 * VS_EXIT_USAGE. */
int vs_cli_bad_value(const char *opt, const char *s, const char *choices);
/* true/1/yes or false/0/no (a setting from the environment or the config). */
int vs_cli_parse_bool(const char *opt, const char *s, int *out);

/* A setting by precedence: the environment variable VS_<KEY> (key upper-cased,
 * dots and dashes as underscores, e.g. "ingest.metric" -> VS_INGEST_METRIC),
 * then --config FILE or the nearest .vecstore.toml (in the current directory,
 * else the closest parent directory that has one, as git finds .git), else
 * NULL. Flags are the caller's first choice. A config file that does not
 * parse is reported and the program exits 2; -v names the file loaded. The
 * returned string is valid until exit; vs_cli_parse_* name its origin
 * (FILE:LINE or the variable) when it is not valid. */
const char *vs_cli_setting(const char *key);
/* The same for a setting that names a file or folder: a relative path
 * from a config file is taken relative to the folder that file is in (a
 * .vecstore.toml found in a parent directory names its own files). */
const char *vs_cli_setting_path(const char *key);

/* Write one record to stdout, flushing when stdout is a pipe. Returns a
 * status (VS_OK, VS_E_IO, VS_E_NOSPC). With vs_cli_stream on, the record
 * is counted (and the begin marker written first when it is due). */
int vs_cli_write(const json_t *rec);
/* At exit (vs_cli_exit): the end marker of a complete stream, or the
 * reason there is none; returns the exit code to use. */
int vs_cli_stream_finish(int code);
/* At exit (vs_cli_exit): the process span, exported synchronously (a batch
 * program has nothing else to overlap it with), bounded by the exporter's
 * timeouts; nothing when tracing is off. */
void vs_cli_trace_export(int code);

/* The stream-integrity protocol on stdout (docs/streams.md, vs_stream.h).
 * VS_CLI_STREAM_ORIGIN: the program makes the records (vs-chunk, vs-index
 * export): the begin marker is written now. VS_CLI_STREAM_FILTER: the
 * records come from the program's inputs (vs-embed, vs-query, vs-rerank):
 * the begin marker is written before the first record, or at exit, only
 * when the inputs read so far were marked (vs_stream_tally(): a begin
 * marker and no unmarked record), so unmarked input gives unmarked output.
 * vs_cli_exit(code) writes the end marker, counting the records, when code
 * is 0 or 1, the begin marker was written, and no input was cut (and, for
 * a filter, none was unmarked); when an input was cut but the program did
 * not fail (--keep-going), it reports that and the exit code becomes 3.
 * Returns VS_OK or a write status. */
enum { VS_CLI_STREAM_ORIGIN = 1, VS_CLI_STREAM_FILTER = 2 };
int vs_cli_stream(int mode);

/* Count one record a program writes to stdout by other means than
 * vs_cli_write (vs-query's hit writer), after writing the begin marker
 * when it is due. Returns VS_OK or a write status. */
int vs_cli_stream_record(void);
/* Write n records already laid out as NDJSON text (buf, len bytes, each
 * ending in a newline) as vs_cli_write would write them one by one:
 * counted for the end marker, the begin marker first when due, one flush
 * when stdout is a pipe. Returns VS_OK or a write status. */
int vs_cli_write_text(const char *buf, size_t len, size_t n);

/* --stats: add a counter or a value to the object printed at exit. */
void vs_cli_stat_int(const char *key, long long v);
void vs_cli_stat_real(const char *key, double v);
void vs_cli_stat_str(const char *key, const char *v);

/* Progress on stderr (cli_progress.c): on a terminal, one line redrawn at
 * most 5 times a second; otherwise, with -v, a line "PROG: N UNIT, R/s, S
 * s" every 10 seconds (VS_PROGRESS_SECONDS sets the interval). Never with
 * -q. Where the total is known, the line goes on with how far the run is
 * and the time left at the rate so far: ", 120 of 228 files, ETA 12 s"
 * (vs_cli_progress_part, the latest call), else ", 42% of the input, ETA
 * 3 min 02 s" (vs_cli_progress_inputs: the bytes the NDJSON readers read,
 * vs_ndjson_meter, of the inputs' size). */
void vs_cli_progress(uint64_t done, const char *unit);
/* The NDJSON inputs of the run (n files; n 0: standard input); when every
 * one is a regular file their size is the total. */
void vs_cli_progress_inputs(int n, char *const *files);
/* part of whole UNIT are done (whole 0: not known). */
void vs_cli_progress_part(uint64_t part, uint64_t whole, const char *unit);
/* Erase a progress line on the terminal (before a message, at exit). */
void vs_cli_progress_clear(void);
/* Monotonic clock, seconds. */
double vs_cli_now(void);

/* Seconds since vs_cli_init. */
double vs_cli_elapsed(void);

/* Tracing (docs/tracing.md): when the OTEL_* variables name an OTLP/HTTP
 * endpoint, vs_cli_exit exports one span for the whole run, named after
 * the program, a child of $TRACEPARENT when that is a valid W3C
 * traceparent (else the root of a new trace), with the --stats values as
 * attributes. Export failures are one warning; they never change the exit
 * code. vs_cli_no_trace turns this off (vs-serve traces requests). */
void vs_cli_no_trace(void);

/* Mark the start of a stage of the run (a string literal: "open",
 * "search", ...); the stage before it ends here and the last one at exit.
 * With tracing on, each stage becomes a child span of the process span.
 * One clock read; stages past the eighth are not kept. */
void vs_cli_stage(const char *name);

/* Finish: clear the progress line, flush and close stdout (a failure is
 * reported and turns code into VS_EXIT_SYSTEM unless it already is an
 * error), print the --stats object with "elapsed_s", export the process
 * span when tracing is on, and return the code. */
int vs_cli_exit(int code);

#endif
