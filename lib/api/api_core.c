/* api_core.c: what every file of the public API uses: versions, status
 * names, the conversion of struct vs_diag into struct vs_error, options
 * structs, and the registry of open vs_db handles (so that a closed handle
 * is refused without touching its memory). */
#include "api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* vecstore.h has its own copy of the status list (it must not include
 * vs_status.h); tests/cli/api.bats compares the two texts. Appending a
 * status here stops the build until vecstore.h has it too. */
#define VS_API_COUNT_(name, value, sname, msg, code) +1
_Static_assert(0 VS_STATUS_MAP(VS_API_COUNT_) == 27,
               "a status was appended: add it to lib/vecstore.h and this count");
#undef VS_API_COUNT_

/* ---- versions, statuses, errors ---- */

const char *vs_version(void) { return VECSTORE_VERSION_STRING; }
int vs_version_number(void) { return VECSTORE_VERSION_NUMBER; }
const char *vs_errname(int status) { return vs_status_name(status); }
const char *vs_errstr(int status) { return vs_status_message(status); }

int vs_api_fail(struct vs_error *err, int status, const struct vs_diag *d)
{
    if (!err)
        return status;
    memset(err, 0, sizeof *err);
    err->status = status;
    if (d) {
        snprintf(err->file, sizeof err->file, "%s", d->file);
        snprintf(err->field, sizeof err->field, "%s", d->field);
        snprintf(err->detail, sizeof err->detail, "%s", d->detail);
        err->line = d->line;
        err->col = d->col;
    }
    if (!err->detail[0])
        snprintf(err->detail, sizeof err->detail, "%s", vs_status_message(status));
    return status;
}

int vs_api_usage(struct vs_error *err, const char *field, const char *detail)
{
    struct vs_diag d;
    vs_diag_clear(&d);
    if (field)
        vs_diag_field(&d, "%s", field);
    vs_diag_set(&d, VS_E_USAGE, "%s", detail);
    return vs_api_fail(err, VS_E_USAGE, &d);
}

int vs_api_take_opts(void *dst, size_t dsize, const void *src,
                     struct vs_error *err, const char *what)
{
    if (!src)
        return VS_OK;
    size_t ssize;
    memcpy(&ssize, src, sizeof ssize);
    if (ssize < sizeof(size_t) || ssize > (1u << 16)) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s: not initialised (call %s_init)", what, what);
        return vs_api_usage(err, "size", msg);
    }
    memcpy(dst, src, ssize < dsize ? ssize : dsize);
    memcpy(dst, &dsize, sizeof dsize);
    return VS_OK;
}

/* ---- the registry of open stores: a closed handle is refused ---- */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static vs_db **reg;
static size_t nreg, capreg;

int vs_api_db_register(vs_db *db)
{
    pthread_mutex_lock(&reg_mu);
    if (nreg == capreg) {
        size_t cap = capreg ? capreg * 2 : 16;
        vs_db **n = realloc(reg, cap * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&reg_mu);
            return VS_E_NOMEM;
        }
        reg = n;
        capreg = cap;
    }
    reg[nreg++] = db;
    pthread_mutex_unlock(&reg_mu);
    return VS_OK;
}

int vs_api_db_unregister(vs_db *db)
{
    int found = 0;
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < nreg; i++)
        if (reg[i] == db) {
            reg[i] = reg[--nreg];
            found = 1;
            break;
        }
    if (nreg == 0) {
        free(reg);
        reg = NULL;
        capreg = 0;
    }
    pthread_mutex_unlock(&reg_mu);
    return found;
}

int vs_api_db_check(const vs_db *db, struct vs_error *err)
{
    if (!db)
        return vs_api_usage(err, NULL, "the store handle is NULL");
    int found = 0;
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < nreg && !found; i++)
        found = reg[i] == db;
    pthread_mutex_unlock(&reg_mu);
    if (!found)
        return vs_api_usage(err, NULL, "the store handle is closed or was never opened");
    return VS_OK;
}

