/* vs_internal.h: every module header of the library, for the programs in cmd/,
 * the unit tests and the benchmarks. Not installed: nothing outside this tree
 * may include it (programs outside use the public vecstore.h).
 *
 * Conventions for every module: functions are vs_<module>_<verb>; a function
 * that can fail returns an int status from vs_status.h and fills an optional
 * struct vs_diag; _open/_close for files, _new/_free for heap objects,
 * _init/_release for embedded structs; every free/close accepts NULL.
 * Private headers of a module are named *_internal.h and are not included here.
 * Where each module lives and what it may use: ARCHITECTURE.md.
 */
#ifndef VS_INTERNAL_H
#define VS_INTERNAL_H

/* core */
#include "vs_status.h"
#include "vs_jsonfmt.h"
#include "vs_ndjson.h"
#include "vs_config.h"
#include "vs_filter.h"
#include "vs_http.h"
/* index, text */
#include "vs_distance.h"
#include "vs_flat.h"
#include "vs_analyzer.h"
#include "vs_bm25.h"
/* store */
#include "vs_store.h"
/* docs, embed */
#include "vs_chunk.h"
#include "vs_embed.h"
/* stages */
#include "vs_eval.h"
#include "vs_query.h"

#endif
