/* lazy_mhd.c: libmicrohttpd loaded on first use, for vs-serve.
 *
 * libmicrohttpd brings GnuTLS and nine more libraries whose start-up (GnuTLS
 * reads its configuration and initialises its crypto at load time) was most
 * of vs-serve's: 19 libraries and 5.4 million instructions for
 * `vs-serve --version` (bench/results/startup.txt). vs-serve is linked
 * with this file instead of -lmicrohttpd (Makefile): the functions
 * lib/serve/server_http.c calls are defined here and open the library when
 * the server starts (dlopen, kept for the life of the process). When it
 * cannot be opened, MHD_start_daemon returns NULL with errno ELIBACC and
 * MHD_is_feature_supported says MHD_NO, so the server reports that it
 * cannot start. The variadic MHD_get_*_info calls are forwarded without
 * their extra arguments: no info type vs-serve asks for takes any. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <microhttpd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static __typeof__(MHD_start_daemon_va) *p_start_va;
static __typeof__(MHD_stop_daemon) *p_stop;
static __typeof__(MHD_get_daemon_info) *p_daemon_info;
static __typeof__(MHD_get_connection_info) *p_conn_info;
static __typeof__(MHD_lookup_connection_value) *p_lookup;
static __typeof__(MHD_queue_response) *p_queue;
static __typeof__(MHD_create_response_from_buffer) *p_create;
static __typeof__(MHD_destroy_response) *p_destroy;
static __typeof__(MHD_add_response_header) *p_add_header;
static __typeof__(MHD_is_feature_supported) *p_feature;
static __typeof__(MHD_suspend_connection) *p_suspend;
static __typeof__(MHD_resume_connection) *p_resume;

static void load(void)
{
    static const char *const names[] = {"libmicrohttpd.so.12", "libmicrohttpd.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!h)
            continue;
#define SYM(p, name) (*(void **)&(p) = dlsym(h, name))
        if (SYM(p_start_va, "MHD_start_daemon_va") && SYM(p_stop, "MHD_stop_daemon") &&
            SYM(p_daemon_info, "MHD_get_daemon_info") &&
            SYM(p_conn_info, "MHD_get_connection_info") &&
            SYM(p_lookup, "MHD_lookup_connection_value") &&
            SYM(p_queue, "MHD_queue_response") &&
            SYM(p_create, "MHD_create_response_from_buffer") &&
            SYM(p_destroy, "MHD_destroy_response") &&
            SYM(p_add_header, "MHD_add_response_header") &&
            SYM(p_feature, "MHD_is_feature_supported") &&
            SYM(p_suspend, "MHD_suspend_connection") &&
            SYM(p_resume, "MHD_resume_connection")) {
            loaded = 1;
            return;
        }
#undef SYM
        dlclose(h);
    }
}

static int ready(void)
{
    pthread_once(&once, load);
    return loaded;
}

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port,
                                    MHD_AcceptPolicyCallback apc, void *apc_cls,
                                    MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
    if (!ready()) {
        errno = ELIBACC;
        return NULL;
    }
    va_list ap;
    va_start(ap, dh_cls);
    struct MHD_Daemon *d = p_start_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
    va_end(ap);
    return d;
}

/* the calls below get objects only a started daemon makes: loaded */
void MHD_stop_daemon(struct MHD_Daemon *daemon)
{
    if (ready())
        p_stop(daemon);
}

const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *daemon,
                                                enum MHD_DaemonInfoType info_type, ...)
{
    return ready() ? p_daemon_info(daemon, info_type) : NULL;
}

const union MHD_ConnectionInfo *MHD_get_connection_info(struct MHD_Connection *connection,
                                                        enum MHD_ConnectionInfoType info_type,
                                                        ...)
{
    return ready() ? p_conn_info(connection, info_type) : NULL;
}

const char *MHD_lookup_connection_value(struct MHD_Connection *connection,
                                        enum MHD_ValueKind kind, const char *key)
{
    return ready() ? p_lookup(connection, kind, key) : NULL;
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection, unsigned int status_code,
                                   struct MHD_Response *response)
{
    return ready() ? p_queue(connection, status_code, response) : MHD_NO;
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer,
                                                     enum MHD_ResponseMemoryMode mode)
{
    return ready() ? p_create(size, buffer, mode) : NULL;
}

void MHD_destroy_response(struct MHD_Response *response)
{
    if (ready())
        p_destroy(response);
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *response, const char *header,
                                        const char *content)
{
    return ready() ? p_add_header(response, header, content) : MHD_NO;
}

enum MHD_Result MHD_is_feature_supported(enum MHD_FEATURE feature)
{
    return ready() ? p_feature(feature) : MHD_NO;
}

void MHD_suspend_connection(struct MHD_Connection *connection)
{
    if (ready())
        p_suspend(connection);
}

void MHD_resume_connection(struct MHD_Connection *connection)
{
    if (ready())
        p_resume(connection);
}
