/* vs_filter.h: the metadata filter language, one grammar for the CLI, query
 * records and HTTP (docs/filter.md is the full reference).
 *
 *   lang = "en" AND (year >= 2020 OR tags CONTAINS "rust")
 *       AND NOT source STARTSWITH "tmp/"
 *
 * Operators: = != < <= > >=, IN [...], NOT IN [...], CONTAINS, STARTSWITH,
 * EXISTS (each of the last four may be negated as `path NOT OP`), AND, OR,
 * NOT, parentheses. Literals: "strings" or 'strings' (JSON escapes), numbers,
 * true, false, null. Keywords are case-insensitive.
 *
 * Paths are dotted names ("a.b.c"; a segment of digits indexes an array).
 * The first segment is looked up in the doc's "metadata" object first, then
 * among the doc's top-level fields (id, text, source, doc_id, ...).
 *
 * Rules: a missing field never satisfies a comparison, IN, CONTAINS or
 * STARTSWITH (so `NOT x EXISTS` / `x NOT EXISTS` finds records without it);
 * values of different types are never equal and never ordered (a string
 * compared with a number is false); `a != v` is `a EXISTS AND NOT a = v`;
 * `a NOT IN [...]`, `a NOT CONTAINS v` and `a NOT STARTSWITH v` are the
 * negations of the positive forms (true when a is missing).
 *
 * A compiled filter is immutable: vs_filter_match may be called from several
 * threads at once on the same filter.
 */
#ifndef VS_FILTER_H
#define VS_FILTER_H

#include <jansson.h>

#include "vs_status.h"

struct vs_filter;

/* Compile expr. On VS_OK *out is a new filter owned by the caller (free it
 * with vs_filter_free). Errors: VS_E_FILTER with d->col the 1-based byte
 * column of the offending token and d->detail what was expected;
 * VS_E_NOMEM. */
int vs_filter_compile(const char *expr, struct vs_filter **out,
                      struct vs_diag *d);

/* 1 when doc (borrowed; a stored doc or any JSON object) satisfies f, else 0.
 * A NULL filter matches everything. */
int vs_filter_match(const struct vs_filter *f, const json_t *doc);

/* The expression text the filter was compiled from (owned by f). */
const char *vs_filter_text(const struct vs_filter *f);

/* Free f; NULL is accepted. */
void vs_filter_free(struct vs_filter *f);

#endif
