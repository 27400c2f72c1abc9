/* vs_status.h: the one status list of vecstore, and the diagnostic struct.
 *
 * Every library function that can fail returns an `int` status from this list
 * (VS_OK is 0) and, when the caller passes a `struct vs_diag *` (it may be
 * NULL), fills it with where the problem is (file, line, column, field) and a
 * detail sentence. The library never prints, exits or aborts: programs in cmd/
 * report once and map the status to an exit code with vs_status_exit().
 *
 * Values are pinned: never renumber an entry, only append.
 */
#ifndef VS_STATUS_H
#define VS_STATUS_H

#include <stddef.h>

/* X(name, value, short name, message, exit code) */
#define VS_STATUS_MAP(X)                                                        \
    X(VS_OK,             0, "ok",             "success",                   0)   \
    X(VS_E_USAGE,        1, "usage",          "invalid usage",             2)   \
    X(VS_E_CONFIG,       2, "config",         "invalid configuration",     2)   \
    X(VS_E_FILTER,       3, "filter",         "invalid filter expression", 2)   \
    X(VS_E_UNSUPPORTED,  4, "unsupported",    "not supported",             2)   \
    X(VS_E_DATA,         5, "data",           "bad input data",            3)   \
    X(VS_E_JSON,         6, "json",           "malformed JSON",            3)   \
    X(VS_E_LINE_TOO_LONG,7, "line_too_long",  "line too long",             3)   \
    X(VS_E_FIELD,        8, "field",          "missing or invalid field",  3)   \
    X(VS_E_DIM,          9, "dimension",      "dimension mismatch",        3)   \
    X(VS_E_NONFINITE,   10, "nonfinite",      "number is NaN or infinite", 3)   \
    X(VS_E_MISMATCH,    11, "mismatch",       "record disagrees with store settings", 3) \
    X(VS_E_STORE,       12, "store",          "store error",               4)   \
    X(VS_E_NOSTORE,     13, "no_store",       "no such store",             4)   \
    X(VS_E_LOCKED,      14, "locked",         "store is locked",           4)   \
    X(VS_E_CORRUPT,     15, "corrupt",        "store is corrupt",          4)   \
    X(VS_E_VERSION,     16, "version",        "unsupported format version",4)   \
    X(VS_E_EXISTS,      17, "exists",         "already exists",            4)   \
    X(VS_E_IO,          18, "io",             "input/output error",        5)   \
    X(VS_E_NOSPC,       19, "no_space",       "no space left on device",   5)   \
    X(VS_E_NOMEM,       20, "no_memory",      "out of memory",             5)   \
    X(VS_E_NETWORK,     21, "network",        "network error",             5)   \
    X(VS_E_REMOTE,      22, "remote",         "remote service error",      5)   \
    X(VS_E_INTERNAL,    23, "internal",       "internal error",            5)   \
    X(VS_E_NOTFOUND,    24, "not_found",      "not found",                 1)   \
    X(VS_E_EMPTY,       25, "empty",          "nothing found",             1)   \
    X(VS_E_GATE,        26, "gate",           "evaluation gate failed",    1)   \
    X(VS_E_TRUNCATED,   27, "truncated",      "incomplete record stream",  3)   \
    X(VS_E_MAX_DELETE,  28, "max_delete",     "too many deletes",          3)

enum vs_status {
#define VS_STATUS_ENUM_(name, value, sname, msg, code) name = value,
    VS_STATUS_MAP(VS_STATUS_ENUM_)
#undef VS_STATUS_ENUM_
};

/* Exit codes shared by every program (DESIGN.md section 3). */
enum vs_exit {
    VS_EXIT_OK = 0,      /* success */
    VS_EXIT_NEGATIVE = 1,/* a valid negative answer (gate failed, --fail-empty) */
    VS_EXIT_USAGE = 2,   /* usage or configuration error */
    VS_EXIT_DATA = 3,    /* bad input data */
    VS_EXIT_STORE = 4,   /* store missing, locked, corrupt, wrong version */
    VS_EXIT_SYSTEM = 5   /* I/O, memory, network, remote API */
};

/* Where a problem is and what it is. All fields are optional: an empty string
 * or 0 means "not known". Strings are copied in, so a diag owns no memory. */
struct vs_diag {
    char file[512];   /* file name or "<stdin>" */
    long line;        /* 1-based line, 0 = none */
    long col;         /* 1-based column, 0 = none */
    char field[128];  /* field name or path, e.g. "vector" or "metadata.year" */
    char detail[1024];/* one sentence, lowercase, no full stop */
};

/* Short stable name ("locked"), message ("store is locked") and exit code of a
 * status; unknown values give "unknown", "unknown error" and 5. */
const char *vs_status_name(int status);
const char *vs_status_message(int status);
int vs_status_exit(int status);

/* Clear every field of d: each reads empty (strings "", line and column 0;
 * the bytes after each string are left as they were). d may be NULL. */
void vs_diag_clear(struct vs_diag *d);
/* Set the detail sentence (printf format); keeps file/line/field. d may be NULL.
 * Returns `status` so a caller can write `return vs_diag_set(d, VS_E_DATA, ...)`. */
int vs_diag_set(struct vs_diag *d, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#if defined(__clang_analyzer__) && !defined(VS_STATUS_IMPL)
/* For the static analyzer only (make lint): the function is in another
 * file, so without this it assumes `return vs_diag_set(d, VS_E_..., ...)`
 * may return VS_OK and follows error paths as if they succeeded. */
#define vs_diag_set(d, status, ...) (vs_diag_set((d), (status), __VA_ARGS__), (status))
#endif
/* Set the field name (printf format). d may be NULL. */
void vs_diag_field(struct vs_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Set file and line (file may be NULL to keep the current one). */
void vs_diag_where(struct vs_diag *d, const char *file, long line);
/* Map an errno value to a status (ENOSPC → VS_E_NOSPC, ENOMEM → VS_E_NOMEM,
 * everything else → VS_E_IO). */
int vs_status_from_errno(int err);

#endif
