/* vs_loader.h: documents from files and records, and a sorted directory walk.
 *
 * A document (struct vs_doc) is an id, a UTF-8 text, metadata and, where the
 * format has them, sections (headings) and page starts:
 *   text      the file itself (offsets are into the file)
 *   markdown  the file itself; headings come from md4c's parser, so a "#" in
 *             a code block is not a heading; metadata.title is the first
 *             level-1 heading; a blank line inside a code block (or an HTML
 *             <pre>) is no paragraph break for the recursive splitter
 *   html      text extracted with libxml2's HTML parser: scripts, styles and
 *             <head> dropped, whitespace collapsed outside <pre>, blocks
 *             separated by blank lines; offsets are into this extracted text;
 *             metadata.title from <title>; h1-h6 give sections; by default
 *             only the main content (<main>, a lone <article>, or the body
 *             without navigation, headers, footers, sidebars and link lists:
 *             loader_html.c says exactly which), VS_LOAD_HTML_ALL for all
 *   pdf       the text of each page from poppler-glib, pages joined by a
 *             blank line; offsets are into this extracted text; page starts
 *             give metadata.page; metadata.title from the PDF's info
 *   record    an NDJSON record: id from "id" or "_id", the text field,
 *             "title" into metadata.title, "metadata" (an object) copied,
 *             every other field passed through
 * File documents carry metadata.format, metadata.size (bytes) and
 * metadata.mtime (UTC, ISO 8601).
 *
 * json_t rules: accessors return borrowed references, valid for the life of
 * the document.
 */
#ifndef VS_LOADER_H
#define VS_LOADER_H

#include <jansson.h>
#include <stddef.h>

#include "vs_status.h"

enum vs_doc_format {
    VS_FORMAT_TEXT = 0,
    VS_FORMAT_MARKDOWN,
    VS_FORMAT_HTML,
    VS_FORMAT_PDF,
    VS_FORMAT_NDJSON, /* a file of records, each its own document */
    VS_FORMAT_RECORD  /* a document made from one record */
};

/* "text", "markdown", "html", "pdf", "ndjson", "record". */
const char *vs_doc_format_name(enum vs_doc_format f);
/* The format of a path from its extension (case-insensitive): .md .markdown
 * .mdown .mkd -> markdown, .html .htm .xhtml -> html, .pdf -> pdf, .jsonl .ndjson ->
 * ndjson, anything else -> text. */
enum vs_doc_format vs_doc_format_of(const char *path);
/* Non-zero when a directory walk reads the file at path by default: a name
 * with no extension (README), a format above other than plain text, or a
 * text extension: .txt .text .rst .adoc .asciidoc .org .tex. Images, style
 * sheets, scripts, archives and every other extension are left out. */
int vs_doc_is_document(const char *path);

struct vs_doc;

/* Load the file at path as one document with the given id (copied).
 * Errors: VS_E_IO (cannot open or read; detail from errno), VS_E_DATA
 * (binary: a NUL byte, or text that is not UTF-8; a PDF that poppler cannot
 * read; a PDF when poppler-glib cannot be loaded: VS_E_IO, see
 * vs_doc_pdf_ready), VS_E_UNSUPPORTED (a PDF when built without poppler-glib, or an
 * NDJSON file: read those with vs_doc_from_record), VS_E_NOMEM.
 * d->file is set to path. The caller owns *out (vs_doc_free). */
int vs_doc_load_file(const char *path, const char *id, struct vs_doc **out,
                     struct vs_diag *d);
/* Flags of vs_doc_load_file_flags (vs_doc_load_file is flags 0). */
#define VS_LOAD_HTML_ALL 1u /* HTML: the whole body, page furniture too */
int vs_doc_load_file_flags(const char *path, const char *id, unsigned flags,
                           struct vs_doc **out, struct vs_diag *d);
/* Whether PDFs can be read: poppler-glib is loaded on the first PDF
 * (dlopen). VS_OK; VS_E_IO when the library cannot be loaded or lacks a
 * function (d says which and the package to install: a PDF then fails
 * with the same error); VS_E_UNSUPPORTED when built without it. */
int vs_doc_pdf_ready(struct vs_diag *d);

/* Make a document from a record (borrowed). `field` names the text field
 * ("text"); source (may be NULL) is recorded as the document's source.
 * Errors: VS_E_FIELD (no string id/_id, text missing or not a string,
 * metadata not an object; d->field set), VS_E_NOMEM. */
int vs_doc_from_record(json_t *rec, const char *field,
                       const char *source, struct vs_doc **out,
                       struct vs_diag *d);

/* Make a document from a text (copied); format is VS_FORMAT_TEXT or
 * VS_FORMAT_MARKDOWN (headings are parsed), other formats are refused with
 * VS_E_USAGE. Mainly for tests and library users. */
int vs_doc_from_text(const char *id, const char *text, size_t len,
                     enum vs_doc_format format, struct vs_doc **out,
                     struct vs_diag *d);

void vs_doc_free(struct vs_doc *doc);

const char *vs_doc_id(const struct vs_doc *doc);
const char *vs_doc_source(const struct vs_doc *doc); /* NULL if none */
const char *vs_doc_text(const struct vs_doc *doc, size_t *len);
enum vs_doc_format vs_doc_format(const struct vs_doc *doc);
json_t *vs_doc_metadata(const struct vs_doc *doc);   /* an object */
json_t *vs_doc_extra(const struct vs_doc *doc);      /* passthrough fields, or NULL */
size_t vs_doc_nsections(const struct vs_doc *doc);
/* Section i: byte offset where it starts and its heading path (an array of
 * strings from the top level down). */
size_t vs_doc_section_start(const struct vs_doc *doc, size_t i);
json_t *vs_doc_section_path(const struct vs_doc *doc, size_t i);
/* The 1-based page holding byte offset off, or 0 when the document has no
 * pages. */
long vs_doc_page_at(const struct vs_doc *doc, size_t off);

/* ---- walking paths ---- */

struct vs_walk_filter {
    const char *const *include; /* fnmatch globs; none = every document
                                   (vs_doc_is_document) */
    size_t ninclude;
    const char *const *exclude; /* fnmatch globs; matching files and
                                   directories are skipped */
    size_t nexclude;
    int no_ignore;              /* do not read ignore files */
    /* Told of each file a directory walk leaves out, with why ("not a
     * document format", or the ignore file whose rule matched); may be NULL.
     * Excluded files and hidden entries are not told. */
    void (*left_out)(void *ctx, const char *path, const char *why);
};

/* Called for each file found: path (to open), rel (relative to the root;
 * the root itself when it is a file). status is VS_OK, or an error for an
 * entry that cannot be read (a directory that cannot be opened), with d
 * describing it. Return VS_OK to go on; anything else stops the walk and is
 * returned by vs_walk. */
typedef int (*vs_walk_fn)(void *ctx, const char *path, const char *rel,
                          int status, const struct vs_diag *d);

/* Visit root: a file is visited itself (whatever its name, unless an
 * exclude glob matches it); a directory recursively, entries sorted by byte
 * order, hidden entries (names starting with ".") skipped, symbolic links
 * to directories not followed. A glob matches when it matches the path
 * relative to the root or the base name (fnmatch, flags 0). In a directory,
 * a file is read when an include glob matches it, or, with no include
 * globs, when vs_doc_is_document says so.
 * Ignore files: unless no_ignore, each directory's .gitignore, .ignore and
 * .vecstoreignore (in that order, later rules winning) apply to it and
 * everything below it, in git's syntax: one glob a line, "#" comments, "!"
 * re-includes, a trailing "/" matches directories only, a pattern with a
 * "/" before its end is anchored to the ignore file's directory (matched
 * with FNM_PATHNAME; a "**" in it crosses directories), one without is
 * matched against the base name at any depth; the last matching rule wins.
 * A directory that is ignored is not entered. Errors: VS_E_IO when root cannot be examined (d set), VS_E_NOMEM, or
 * what fn returned. */
int vs_walk(const char *root, const struct vs_walk_filter *f, vs_walk_fn fn,
            void *ctx, struct vs_diag *d);

#endif
