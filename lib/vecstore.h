/* vecstore.h: the one public header of libvecstore for programs and users.
 *
 * Modules each keep their own header (vs_<module>.h); this header includes
 * them all. Private headers are named *_internal.h and never included here.
 * Conventions for every module: functions are vs_<module>_<verb>; a function
 * that can fail returns an int status from vs_status.h and fills an optional
 * struct vs_diag; _open/_close for files, _new/_free for heap objects,
 * _init/_release for embedded structs; every free/close accepts NULL.
 */
#ifndef VECSTORE_H
#define VECSTORE_H

#include "vs_status.h"
#include "vs_ndjson.h"
#include "vs_config.h"
#include "vs_modules.h"

#endif
