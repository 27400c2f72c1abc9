/* vs_promfile.h: Prometheus text-format files for node_exporter's textfile
 * collector (--metrics-file), written atomically.
 *
 * The file is written to a temporary file in the same directory
 * ("FILE.tmp.PID", which the collector ignores: it reads only *.prom),
 * flushed, fsynced, made mode 0644 and renamed over FILE, so a scrape sees
 * the old file or the new one, never a half-written one.
 *
 * Format (Prometheus exposition format 0.0.4): for each metric name, one
 * "# HELP" and one "# TYPE" line before its first sample, then samples
 * "name{labels} value". Samples of one name must be given together.
 */
#ifndef VS_PROMFILE_H
#define VS_PROMFILE_H

#include <stddef.h>

#include "vs_status.h"

struct vs_prom_sample {
    const char *name;   /* [a-zA-Z_:][a-zA-Z0-9_:]* */
    const char *help;   /* one line; backslashes and newlines are escaped */
    const char *type;   /* "gauge", "counter", "untyped" */
    const char *labels; /* "" or 'k="v",k2="v2"' (values escaped with
                           vs_prom_label_value) */
    double value;       /* printed with 17 significant digits; NaN/Inf as
                           Prometheus spells them */
};

/* Escape s as a label value (backslash, double quote and newline) into buf
 * (n bytes, NUL-terminated, cut at a character boundary when too long).
 * Returns buf. */
char *vs_prom_label_value(const char *s, char *buf, size_t n);

/* Write the samples to path atomically. Errors: VS_E_USAGE (a bad metric
 * name), VS_E_IO / VS_E_NOSPC (d names the file). */
int vs_promfile_write(const char *path, const struct vs_prom_sample *s, size_t n,
                      struct vs_diag *d);

/* The value of the first sample of metric name with exactly these labels in
 * the file at path (as written by vs_promfile_write). Returns 1 and sets
 * *out when found, 0 when the file or the sample is absent. */
int vs_promfile_value(const char *path, const char *name, const char *labels,
                      double *out);

#endif
