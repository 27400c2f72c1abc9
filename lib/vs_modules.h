/* vs_modules.h: headers of the modules beyond the core. Each module's header
 * is included when it exists, so modules can be added without editing this. */
#ifndef VS_MODULES_H
#define VS_MODULES_H
#define VS_MODULE_(h) __has_include(h)
#if VS_MODULE_("vs_store.h")
#include "vs_store.h"
#endif
#if VS_MODULE_("vs_filter.h")
#include "vs_filter.h"
#endif
#if VS_MODULE_("vs_distance.h")
#include "vs_distance.h"
#endif
#if VS_MODULE_("vs_flat.h")
#include "vs_flat.h"
#endif
#if VS_MODULE_("vs_chunk.h")
#include "vs_chunk.h"
#endif
#if VS_MODULE_("vs_embed.h")
#include "vs_embed.h"
#endif
#if VS_MODULE_("vs_analyzer.h")
#include "vs_analyzer.h"
#endif
#if VS_MODULE_("vs_bm25.h")
#include "vs_bm25.h"
#endif
#if VS_MODULE_("vs_eval.h")
#include "vs_eval.h"
#endif
#if VS_MODULE_("vs_http.h")
#include "vs_http.h"
#endif
#if VS_MODULE_("vs_query.h")
#include "vs_query.h"
#endif
#undef VS_MODULE_
#endif
