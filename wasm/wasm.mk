# wasm/wasm.mk: the WebAssembly build (make wasm; see wasm/README.md).
#
#   make -f wasm/wasm.mk            the module, the npm package, its tarball
#
# build-wasm/deps     zstd, jansson, xxhash, utf8proc, libstemmer compiled by
#                     scripts/wasm-deps.sh from their Debian source packages
#                     (zstd and utf8proc's tables built small, the stemmers
#                     as English-only and all-languages archives)
# build-wasm/lib/     the library's objects, compiled with emcc
# build-wasm/pkg/     the npm package folder (wasm/js/ plus the module)
# dist/               vecstore-$(VERSION).tgz, from `npm pack`
#
# What is built in: core (minus the HTTP client), index, text, store,
# ingest settings, query, the hash embedder, the public API. Left out:
# docs/ (HTML/PDF/Markdown loading), models/ and the BERT/USE-lite
# embedders (not built for wasm yet; their weights are 28-88 MB), cloud
# embedders (curl), rerank/, eval/,
# serve/, OpenMP. VS_WASM_NO_MODELS tells lib/embed/embed.c so.

WB       ?= build-wasm
VERSION  := 1.0.0
EMCC     ?= emcc
EMAR     ?= emar
export NODE_PATH := /usr/share/nodejs$(if $(NODE_PATH),:$(NODE_PATH))

# folders of lib/ that go in, and the files of them that do not
WASM_DIRS := core index text store ingest query embed api
WASM_SKIP := lib/core/http.c lib/core/trace.c lib/core/promfile.c \
             lib/embed/bertembed.c lib/embed/useembed.c lib/embed/embed_api.c \
             lib/embed/embed_records.c
WASM_SRC  := $(filter-out $(WASM_SKIP),$(sort $(foreach d,$(WASM_DIRS),$(wildcard lib/$(d)/*.c))))

# Two modules from the same sources: vecstore.wasm with SIMD128 (the
# distance kernels of lib/index/distance.c's simd128 row; every current
# browser, Node >= 16.4, workerd) and vecstore-scalar.wasm without, which
# the loader picks where WebAssembly.validate refuses a SIMD instruction.
SIMD_OBJ   := $(WASM_SRC:%.c=$(WB)/simd/%.o) $(WB)/simd/wasm/src/vsw.o
SCALAR_OBJ := $(WASM_SRC:%.c=$(WB)/scalar/%.o) $(WB)/scalar/wasm/src/vsw.o

LIB_DIRS  := $(sort $(patsubst %/,%,$(dir $(wildcard lib/*/*.h))))
WASM_CFLAGS := -std=c11 -D_GNU_SOURCE -DVS_VERSION='"$(VERSION)"' -DVS_WASM_NO_MODELS=1 \
               -Ilib $(addprefix -I,$(LIB_DIRS)) -I$(WB)/deps/include \
               -Wall -Wextra -Wno-unused-parameter -Werror
# -O2 for the search path (index: the distance kernels and HNSW; query;
# store: segment reads; -O3 until session 10: -O2 is 1.8 KB smaller gzipped
# and no slower in Node, wasm/README.md), -Os for the rest (settings, text analysis, the
# API's JSON, ingest): 7 KB less gzipped
# The store's write side (segment writes, graph order, ingest, export,
# snapshots) and the shard coordinator are -Os too: commits in a page are
# small, and the bundle must stay under hnswlib-wasm's (bundle.test.mjs).
# lib/query as a whole and wasm/src/vsw.c (a query's set-up, its records
# and the JS bridge; the graph walk and the distance kernels are lib/index,
# segment reads lib/store): 3.6 KB gzipped back after the threaded vs-query,
# the docs dictionary and BM25's block-max search grew the module.
# store.c too (manifest, writer, commit; searches read segments through
# segment.c and do not call it per hit): 1.1 KB gzipped back for the f16
# vector storage's code
# lib/index/hnsw_file.c (the graph's file: save, and each block decoded
# once when first walked): 4.4 KB gzipped back (249,458 -> 245,040) after the decoder's inlined
# fast paths, the docs cache and BM25's block fronts grew the module
# lib/index/hnsw_order.c (graph order: once per segment written)
# lib/index/quant_file.c (the codes' file and each borrowed block's row
# norms, once) and mmr.c (MMR over a handful of hits): 247,307 -> 245,725
# after the sq8 int8 path's norms, the build's own beam and the 8-digit
# number reader grew the module
# store_hnsw.c (HNSW settings) and store_text.c (BM25 over a store's
# segments; lib/text, its scoring, is -Os already)
FAST_DIRS := lib/index lib/store wasm/src
SMALL_FILES := lib/store/store.c lib/store/store_dir.c lib/store/segment_write.c lib/store/segment_index.c lib/store/store_ingest.c \
               lib/store/store_export.c lib/store/store_snapshot.c lib/store/store_sync.c \
               lib/store/segment.c lib/store/segment_docs.c lib/store/segment_verify.c wasm/src/vsw.c lib/index/hnsw_file.c lib/index/hnsw_order.c lib/index/quant_file.c lib/index/mmr.c \
               lib/store/store_hnsw.c lib/store/store_text.c
optflag = $(if $(filter $(SMALL_FILES),$(1)),-Os,$(if $(filter $(FAST_DIRS),$(patsubst %/,%,$(dir $(1)))),-O2,-Os))
# libstemmer.a: English and Porter; libstemmer-all.a: Snowball's 29
# languages, for vecstore-all.wasm (scripts/wasm-deps.sh)
DEPS_BASE := $(addprefix $(WB)/deps/lib/,libjansson.a libzstd.a libxxhash.a libutf8proc.a)
DEPS_LIBS := $(DEPS_BASE) $(WB)/deps/lib/libstemmer.a $(WB)/deps/lib/libstemmer-all.a

# the module: an ES module factory (MODULARIZE) for web, worker and node,
# memory that grows, no filesystem beyond MEMFS, no exit, errors as
# statuses (no exceptions, no abort on bad input)
EXPORTS := _vsw_err_status,_vsw_err_field,_vsw_err_detail,_vsw_err_line,_vsw_err_col,_vsw_errname,_vsw_version,_vsw_count,_vsw_malloc,_vsw_free,_vsw_open,_vsw_close,_vsw_upsert,_vsw_delete,_vsw_delete_where,_vsw_commit,_vsw_info,_vsw_search,_vsw_search_ids,_vsw_encoder_open,_vsw_encoder_dim,_vsw_encoder_identity,_vsw_encoder_free,_vsw_embed,_vsw_simd_level,_vsw_distance
# -Oz at the link (wasm-opt): 5 KB less gzipped than -O3; the objects keep
# their own levels
WASM_LDFLAGS := -Oz -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=vecstoreModule \
    -sENVIRONMENT=web,worker -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=16777216 \
    -sMAXIMUM_MEMORY=4294967296 -sTOTAL_STACK=1048576 \
    -sEXPORTED_FUNCTIONS=$(EXPORTS) \
    -sEXPORTED_RUNTIME_METHODS=FS,UTF8ToString,stringToUTF8,lengthBytesUTF8,HEAPU8,HEAPF32,HEAPU32 \
    -sFILESYSTEM=1 -sEXIT_RUNTIME=0 -sINVOKE_RUN=0 -sDYNAMIC_EXECUTION=0 \
    -sINCOMING_MODULE_JS_API=wasmBinary,instantiateWasm,locateFile,print,printErr \
    -sERROR_ON_UNDEFINED_SYMBOLS=1

PKG := $(WB)/pkg
TGZ := dist/vecstore-$(VERSION).tgz
JS_FILES := $(wildcard wasm/js/*.js wasm/js/*.d.ts wasm/js/package.json)

.PHONY: all
.DELETE_ON_ERROR:
all: $(TGZ)

$(WB)/deps/.stamp-v6: scripts/wasm-deps.sh
	scripts/wasm-deps.sh $(WB)
$(DEPS_LIBS): $(WB)/deps/.stamp-v6

HDRS := $(wildcard lib/*.h lib/*/*.h)
# the deps' headers must exist first (order only: a rebuilt archive does
# not recompile the library)
$(WB)/simd/%.o: %.c $(HDRS) wasm/wasm.mk | $(WB)/deps/.stamp-v6
	@mkdir -p $(@D)
	$(EMCC) $(WASM_CFLAGS) $(call optflag,$<) -msimd128 -c -o $@ $<
$(WB)/scalar/%.o: %.c $(HDRS) wasm/wasm.mk | $(WB)/deps/.stamp-v6
	@mkdir -p $(@D)
	$(EMCC) $(WASM_CFLAGS) $(call optflag,$<) -c -o $@ $<

# the library's objects go in as an archive: only what vsw.c reaches is linked
$(WB)/simd/libvecstore.a: $(filter-out %/vsw.o,$(SIMD_OBJ))
	rm -f $@
	$(EMAR) rcs $@ $^
$(WB)/scalar/libvecstore.a: $(filter-out %/vsw.o,$(SCALAR_OBJ))
	rm -f $@
	$(EMAR) rcs $@ $^

# three modules: SIMD128 and scalar with the English stemmer, and SIMD128
# with all of Snowball's languages (vecstore-all.wasm, init({languages:
# "all"}))
$(WB)/vecstore.mjs: $(WB)/simd/libvecstore.a $(WB)/simd/wasm/src/vsw.o $(DEPS_LIBS) wasm/wasm.mk
	$(EMCC) $(WASM_LDFLAGS) -msimd128 -o $@ $(WB)/simd/wasm/src/vsw.o $(WB)/simd/libvecstore.a $(DEPS_BASE) $(WB)/deps/lib/libstemmer.a
$(WB)/vecstore-scalar.mjs: $(WB)/scalar/libvecstore.a $(WB)/scalar/wasm/src/vsw.o $(DEPS_LIBS) wasm/wasm.mk
	$(EMCC) $(WASM_LDFLAGS) -o $@ $(WB)/scalar/wasm/src/vsw.o $(WB)/scalar/libvecstore.a $(DEPS_BASE) $(WB)/deps/lib/libstemmer.a
$(WB)/vecstore-all.mjs: $(WB)/simd/libvecstore.a $(WB)/simd/wasm/src/vsw.o $(DEPS_LIBS) wasm/wasm.mk
	$(EMCC) $(WASM_LDFLAGS) -msimd128 -o $@ $(WB)/simd/wasm/src/vsw.o $(WB)/simd/libvecstore.a $(DEPS_BASE) $(WB)/deps/lib/libstemmer-all.a

# the JS (the loader, persist.js, the Emscripten glue) minified by terser
# (Debian's node-terser; wasm/minify.cjs): 19 + 7 + 3 KB gzipped became
# 15 + 5 + 2
MODS := vecstore vecstore-scalar vecstore-all
$(PKG)/.stamp: $(MODS:%=$(WB)/%.mjs) $(JS_FILES) wasm/README.md wasm/minify.cjs
	rm -rf $(PKG) && mkdir -p $(PKG)/dist
	cp wasm/js/*.d.ts wasm/js/package.json $(PKG)/
	node wasm/minify.cjs $(PKG) wasm/js/*.js
	node wasm/minify.cjs $(PKG)/dist $(MODS:%=$(WB)/%.mjs)
	cp $(MODS:%=$(WB)/%.wasm) $(PKG)/dist/
	cp wasm/README.md $(PKG)/README.md
	cp -r $(WB)/deps/licenses $(PKG)/dist/licenses
	touch $@

$(TGZ): $(PKG)/.stamp
	@mkdir -p dist
	cd $(PKG) && npm pack --silent --pack-destination $(CURDIR)/dist >/dev/null
	@ls -l $@ >&2
