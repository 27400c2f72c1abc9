/* vs_config.h: .vecstore.toml, a strict parser for the TOML subset we use.
 *
 * Supported: comments, [table] and [table.sub] headers, bare and quoted keys,
 * dotted keys, basic "strings" (with \" \\ \n \t \uXXXX escapes) and literal
 * 'strings', integers (with _ separators), floats, booleans, and arrays of
 * those on one or several lines. Not supported (a parse error, never
 * ignored): inline tables, arrays of tables, multi-line strings, dates.
 * Errors are VS_E_CONFIG with file, line and column in the diag.
 */
#ifndef VS_CONFIG_H
#define VS_CONFIG_H

#include "vs_status.h"

struct vs_config;

/* Parse the file at path. On VS_OK *out is a new config (vs_config_free it).
 * Errors: VS_E_CONFIG (syntax, duplicate key), VS_E_IO, VS_E_NOMEM. */
int vs_config_load(const char *path, struct vs_config **out, struct vs_diag *d);
/* Parse text held in memory; name is used in messages. */
int vs_config_parse(const char *text, size_t len, const char *name,
                    struct vs_config **out, struct vs_diag *d);

/* The value of a dotted key ("ingest.metric") as text: strings without
 * quotes, numbers as written (without _), booleans as "true"/"false", arrays
 * as their elements joined by ",". NULL when the key is absent. The string is
 * owned by the config. */
const char *vs_config_get(const struct vs_config *c, const char *key);
/* 1 when the key holds an array, 0 otherwise; *n gets its length. */
int vs_config_array(const struct vs_config *c, const char *key, size_t *n);
/* Element i of an array key, as text (owned by the config), or NULL. */
const char *vs_config_array_get(const struct vs_config *c, const char *key,
                                size_t i);
/* Number of keys, and the i-th key in file order (for listing, tests). */
size_t vs_config_count(const struct vs_config *c);
const char *vs_config_key(const struct vs_config *c, size_t i);
/* The line where the i-th key is defined (0 when i is out of range). */
long vs_config_key_line(const struct vs_config *c, size_t i);

void vs_config_free(struct vs_config *c);

#endif
