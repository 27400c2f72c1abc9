/* status.c: names, messages and exit codes of the status list; diagnostics. */
#define VS_STATUS_IMPL /* the definition below, not vs_status.h's analyzer macro */
#include "vs_status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct status_row {
    int value;
    const char *name;
    const char *message;
    int exit_code;
};

static const struct status_row rows[] = {
#define VS_STATUS_ROW_(name, value, sname, msg, code) {value, sname, msg, code},
    VS_STATUS_MAP(VS_STATUS_ROW_)
#undef VS_STATUS_ROW_
};

static const struct status_row *find_row(int status)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].value == status)
            return &rows[i];
    return NULL;
}

const char *vs_status_name(int status)
{
    const struct status_row *r = find_row(status);
    return r ? r->name : "unknown";
}

const char *vs_status_message(int status)
{
    const struct status_row *r = find_row(status);
    return r ? r->message : "unknown error";
}

int vs_status_exit(int status)
{
    const struct status_row *r = find_row(status);
    return r ? r->exit_code : VS_EXIT_SYSTEM;
}

/* Every field reads empty (strings "", line and column 0) without writing
 * the struct's 1.7 kB: the query path of vs-serve clears several per
 * request. */
void vs_diag_clear(struct vs_diag *d)
{
    if (!d)
        return;
    d->file[0] = d->field[0] = d->detail[0] = '\0';
    d->line = d->col = 0;
}

int vs_diag_set(struct vs_diag *d, int status, const char *fmt, ...)
{
    if (d) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->detail, sizeof d->detail, fmt, ap);
        va_end(ap);
    }
    return status;
}

void vs_diag_field(struct vs_diag *d, const char *fmt, ...)
{
    if (!d)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->field, sizeof d->field, fmt, ap);
    va_end(ap);
}

void vs_diag_where(struct vs_diag *d, const char *file, long line)
{
    if (!d)
        return;
    if (file)
        snprintf(d->file, sizeof d->file, "%s", file);
    d->line = line;
}

int vs_status_from_errno(int err)
{
    switch (err) {
    case ENOSPC:
    case EDQUOT:
        return VS_E_NOSPC;
    case ENOMEM:
        return VS_E_NOMEM;
    default:
        return VS_E_IO;
    }
}
