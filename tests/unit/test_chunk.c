/* test_chunk.c: splitters (size limits, UTF-8 boundaries, coverage), loaders
 * (Markdown headings, HTML extraction, records, binary files) and the walk.
 * Run from the repository root (tests/run.sh does). */
#include "test.h"
#include "vs_internal.h"
#include "loader_internal.h"

#include <stdint.h>
#include <sys/stat.h>

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static size_t count_units(const char *t, size_t s, size_t e,
                          enum vs_chunk_unit u)
{
    size_t n = 0;
    for (size_t i = s; i < e; i++) {
        unsigned char c = (unsigned char)t[i];
        if (u == VS_CHUNK_CHARS)
            n += (c & 0xC0) != 0x80;
        else
            n += !is_ws(c) && (i == s || is_ws((unsigned char)t[i - 1]));
    }
    return n;
}

static uint32_t rng = 12345;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* A random text of words (ASCII and multi-byte), spaces, punctuation,
 * newlines and blank lines, sometimes with very long words. */
static size_t random_text(char *buf, size_t cap)
{
    static const char *const parts[] = {
        "alpha", "beta", "γάμμα", "東京", "naïve", "x", "longwordwithoutanyspaces",
        ".", "!", "?", " ", " ", " ", "\n", "\n\n", "\t", "é", "😀", "word",
        "a.b", "end.", "\"quoted.\"", "。", "\n \n"};
    size_t n = 0, want = 1 + next_rand() % (cap / 8);
    while (n < want) {
        const char *p = parts[next_rand() % (sizeof parts / sizeof *parts)];
        size_t l = strlen(p);
        if (n + l + 1 >= cap)
            break;
        memcpy(buf + n, p, l);
        n += l;
        if (next_rand() % 3)
            buf[n++] = ' ';
    }
    buf[n] = '\0';
    return n;
}

/* Toy tokenizers for the tokens unit: "pieces" counts a token per 3
 * code points of each word (additive over words, as WordPiece is);
 * "joined" counts a token per 3 code points of the whole text, white space
 * included (more than its words' sum: the chunker must cut again what the
 * sum let through). */
static int toy_count(void *arg, const char *t, size_t len, size_t *n)
{
    int joined = arg != NULL;
    size_t cps = 0, total = 0;
    for (size_t i = 0; i <= len; i++) {
        int end = i == len || (!joined && is_ws((unsigned char)t[i]));
        if (end) {
            total += (cps + 2) / 3;
            cps = 0;
            continue;
        }
        if (joined || !is_ws((unsigned char)t[i]))
            cps += ((unsigned char)t[i] & 0xC0) != 0x80;
    }
    *n = total;
    return VS_OK;
}

static void test_names(void)
{
    enum vs_splitter s;
    enum vs_chunk_unit u;
    CHECK_EQ_INT(vs_splitter_parse("markdown", &s), VS_OK);
    CHECK_EQ_INT(s, VS_SPLITTER_MARKDOWN);
    CHECK_EQ_INT(vs_splitter_parse("nope", &s), VS_E_USAGE);
    CHECK_EQ_INT(vs_chunk_unit_parse("words", &u), VS_OK);
    CHECK_EQ_INT(u, VS_CHUNK_WORDS);
    CHECK_EQ_INT(vs_chunk_unit_parse("bytes", &u), VS_E_USAGE);
    struct vs_chunker *c;
    struct vs_chunk_options o = {VS_SPLITTER_FIXED, VS_CHUNK_CHARS, 10, 10, 0, 0, NULL, NULL, NULL};
    CHECK_EQ_INT(vs_chunker_new(&o, &c, NULL), VS_E_USAGE);
    o.size = 0;
    o.overlap = 0;
    CHECK_EQ_INT(vs_chunker_new(&o, &c, NULL), VS_E_USAGE);
}

static void test_fixed_exact(void)
{
    struct vs_chunk_options o = {VS_SPLITTER_FIXED, VS_CHUNK_CHARS, 4, 1, 0, 0, NULL, NULL, NULL};
    struct vs_chunker *c;
    CHECK_EQ_INT(vs_chunker_new(&o, &c, NULL), VS_OK);
    const struct vs_chunk_span *sp;
    size_t n;
    CHECK_EQ_INT(vs_chunker_split(c, "abcdefghij", 10, NULL, 0, &sp, &n, NULL), VS_OK);
    CHECK_EQ_INT(n, 3);
    if (n == 3) {
        CHECK_EQ_INT(sp[0].start, 0); CHECK_EQ_INT(sp[0].end, 4);
        CHECK_EQ_INT(sp[1].start, 3); CHECK_EQ_INT(sp[1].end, 7);
        CHECK_EQ_INT(sp[2].start, 6); CHECK_EQ_INT(sp[2].end, 10);
    }
    /* code points, not bytes: "ééé" is 3 chars in 6 bytes */
    const char *t = "ééééé";
    CHECK_EQ_INT(vs_chunker_split(c, t, strlen(t), NULL, 0, &sp, &n, NULL), VS_OK);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK_EQ_INT(sp[0].end, 8);
        CHECK_EQ_INT(sp[1].start, 6);
        CHECK_EQ_INT(sp[1].end, 10);
    }
    vs_chunker_free(c);

    o.unit = VS_CHUNK_WORDS;
    o.size = 3;
    o.overlap = 1;
    CHECK_EQ_INT(vs_chunker_new(&o, &c, NULL), VS_OK);
    t = "one two  three four five six";
    CHECK_EQ_INT(vs_chunker_split(c, t, strlen(t), NULL, 0, &sp, &n, NULL), VS_OK);
    CHECK_EQ_INT(n, 3); /* one..three, three..five, five..six */
    if (n == 3) {
        CHECK_EQ_INT(sp[0].start, 0); CHECK_EQ_INT(sp[0].end, 14);
        CHECK_EQ_INT(sp[1].start, 9); CHECK_EQ_INT(sp[1].end, 24);
        CHECK_EQ_INT(sp[2].start, 20); CHECK_EQ_INT(sp[2].end, 28);
    }
    vs_chunker_free(c);
}

/* No splitter makes a chunk of white space, controls or format characters
 * only (issue 16): NBSP, zero-width space, U+0001, ideographic space. A
 * chunk of symbols is content and is kept. */
static void test_no_empty_chunks(void)
{
    const char *t = "ab\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xe2\x80\x8b\x01\xe3\x80\x80  "
                    "\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0**";
    for (int sp_kind = VS_SPLITTER_FIXED; sp_kind <= VS_SPLITTER_MARKDOWN; sp_kind++) {
        struct vs_chunk_options o = {(enum vs_splitter)sp_kind, VS_CHUNK_CHARS, 3, 0, 0, 0, NULL, NULL, NULL};
        struct vs_chunker *c;
        CHECK_EQ_INT(vs_chunker_new(&o, &c, NULL), VS_OK);
        const struct vs_chunk_span *sp;
        size_t n;
        CHECK_EQ_INT(vs_chunker_split(c, t, strlen(t), NULL, 0, &sp, &n, NULL), VS_OK);
        int ab = 0, stars = 0;
        for (size_t i = 0; i < n; i++) {
            const char *s = t + sp[i].start;
            size_t len = sp[i].end - sp[i].start;
            ab += memmem(s, len, "ab", 2) != NULL;
            stars += memmem(s, len, "**", 2) != NULL;
            CHECK(memchr(s, 'a', len) || memchr(s, 'b', len) || memchr(s, '*', len));
        }
        CHECK_EQ_INT(ab, 1);
        CHECK_EQ_INT(stars, 1);
        vs_chunker_free(c);
    }
}

static void test_recursive_prefers_paragraphs(void)
{
    struct vs_chunk_options o = {VS_SPLITTER_RECURSIVE, VS_CHUNK_CHARS, 30, 0, 0, 0, NULL, NULL, NULL};
    struct vs_chunker *c;
    CHECK_EQ_INT(vs_chunker_new(&o, &c, NULL), VS_OK);
    const char *t = "First para here.\n\nSecond one. Has two.\n\nThird.";
    const struct vs_chunk_span *sp;
    size_t n;
    CHECK_EQ_INT(vs_chunker_split(c, t, strlen(t), NULL, 0, &sp, &n, NULL), VS_OK);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK_EQ_INT(sp[0].start, 0);
        CHECK_EQ_INT(sp[0].end, 16); /* "First para here." */
        CHECK_EQ_INT(sp[1].start, 18);
        CHECK_EQ_INT(sp[1].end, strlen(t)); /* "Second ... Third." fits in 30 */
    }
    vs_chunker_free(c);
}

/* For random texts and every splitter, unit, size and overlap: no chunk
 * exceeds the size, spans start and end on code point boundaries, and every
 * non-whitespace byte is inside some chunk. */
static void test_properties(void)
{
    static char text[4096];
    static unsigned char covered[4096];
    int bad_size = 0, bad_utf8 = 0, bad_cover = 0, bad_order = 0;
    for (int round = 0; round < 300; round++) {
        size_t len = random_text(text, sizeof text);
        for (int sp_i = 0; sp_i < 4; sp_i++)
            for (int unit = 0; unit < 2; unit++) {
                size_t size = 1 + next_rand() % (unit ? 12 : 80);
                size_t overlap = next_rand() % 2 ? next_rand() % size : 0;
                struct vs_chunk_options o = {(enum vs_splitter)sp_i,
                                             (enum vs_chunk_unit)unit, size,
                                             overlap, 0, 0, NULL, NULL, NULL};
                struct vs_chunker *c;
                if (vs_chunker_new(&o, &c, NULL) != VS_OK) {
                    CHECK(0);
                    continue;
                }
                size_t sec[2] = {len / 3, len / 2};
                const struct vs_chunk_span *sp;
                size_t n;
                CHECK_EQ_INT(vs_chunker_split(c, text, len, sec, 2, &sp, &n, NULL), VS_OK);
                memset(covered, 0, len);
                for (size_t i = 0; i < n; i++) {
                    if (sp[i].start >= sp[i].end || sp[i].end > len)
                        bad_order++;
                    if (i && sp[i].start < sp[i - 1].start)
                        bad_order++;
                    if (count_units(text, sp[i].start, sp[i].end, o.unit) > size)
                        bad_size++;
                    if ((text[sp[i].start] & 0xC0) == 0x80 ||
                        (sp[i].end < len && (text[sp[i].end] & 0xC0) == 0x80))
                        bad_utf8++;
                    for (size_t k = sp[i].start; k < sp[i].end && k < len; k++)
                        covered[k] = 1;
                }
                for (size_t k = 0; k < len; k++)
                    if (!covered[k] && !is_ws((unsigned char)text[k])) {
                        bad_cover++;
                        break;
                    }
                vs_chunker_free(c);
            }
    }
    CHECK_EQ_INT(bad_size, 0);
    CHECK_EQ_INT(bad_utf8, 0);
    CHECK_EQ_INT(bad_cover, 0);
    CHECK_EQ_INT(bad_order, 0);
}

/* The tokens unit, for random texts, every splitter, both toy tokenizers,
 * sizes, overlaps and tiny-piece merging: no chunk counts more than the
 * size by the tokenizer's own count of it (but pieces of one code point),
 * spans are on code point boundaries, every non-whitespace byte is in a
 * chunk; the unit needs a tokenizer. */
static void test_tokens(void)
{
    static char text[4096];
    static unsigned char covered[4096];
    int bad_size = 0, bad_utf8 = 0, bad_cover = 0, bad_order = 0, full = 0;
    struct vs_chunk_options none = {VS_SPLITTER_RECURSIVE, VS_CHUNK_TOKENS, 10, 0, 0, 0,
                                    NULL, NULL, NULL};
    struct vs_chunker *c = NULL;
    CHECK_EQ_INT(vs_chunker_new(&none, &c, NULL), VS_E_USAGE);
    enum vs_chunk_unit u;
    CHECK_EQ_INT(vs_chunk_unit_parse("tokens", &u), VS_OK);
    CHECK_EQ_INT(u, VS_CHUNK_TOKENS);
    CHECK_EQ_STR(vs_chunk_unit_name(VS_CHUNK_TOKENS), "tokens");
    for (int round = 0; round < 200; round++) {
        size_t len = random_text(text, sizeof text);
        for (int sp_i = 0; sp_i < 4; sp_i++)
            for (int joined = 0; joined < 2; joined++) {
                size_t size = 1 + next_rand() % 40;
                size_t overlap = next_rand() % 2 ? next_rand() % size : 0;
                size_t min = next_rand() % 2 ? next_rand() % size : 0;
                struct vs_chunk_options o = {(enum vs_splitter)sp_i, VS_CHUNK_TOKENS, size,
                                             overlap, min, 0, toy_count,
                                             joined ? (void *)text : NULL, "toy"};
                if (vs_chunker_new(&o, &c, NULL) != VS_OK) {
                    CHECK(0);
                    continue;
                }
                size_t sec[2] = {len / 3, len / 2};
                const struct vs_chunk_span *sp;
                size_t n;
                CHECK_EQ_INT(vs_chunker_split(c, text, len, sec, 2, &sp, &n, NULL), VS_OK);
                memset(covered, 0, len);
                for (size_t i = 0; i < n; i++) {
                    size_t cnt, cps = count_units(text, sp[i].start, sp[i].end, VS_CHUNK_CHARS);
                    toy_count(o.count_arg, text + sp[i].start, sp[i].end - sp[i].start, &cnt);
                    if (sp[i].start >= sp[i].end || sp[i].end > len)
                        bad_order++;
                    if (cnt > size && cps > 1)
                        bad_size++;
                    full += cnt == size;
                    if ((text[sp[i].start] & 0xC0) == 0x80 ||
                        (sp[i].end < len && (text[sp[i].end] & 0xC0) == 0x80))
                        bad_utf8++;
                    for (size_t k = sp[i].start; k < sp[i].end && k < len; k++)
                        covered[k] = 1;
                }
                for (size_t k = 0; k < len; k++)
                    if (!covered[k] && !is_ws((unsigned char)text[k])) {
                        bad_cover++;
                        break;
                    }
                vs_chunker_free(c);
            }
    }
    CHECK_EQ_INT(bad_size, 0);
    CHECK_EQ_INT(bad_utf8, 0);
    CHECK_EQ_INT(bad_cover, 0);
    CHECK_EQ_INT(bad_order, 0);
    CHECK(full > 100); /* chunks are packed up to the size, not merely under it */
}

/* Tokens: words are packed by their counts; a word too big for the size
 * is cut at code points into the longest pieces that fit. */
static void test_tokens_exact(void)
{
    struct vs_chunk_options o = {VS_SPLITTER_RECURSIVE, VS_CHUNK_TOKENS, 4, 0, 0, 0,
                                 toy_count, NULL, "toy"};
    struct vs_chunker *c;
    CHECK_EQ_INT(vs_chunker_new(&o, &c, NULL), VS_OK);
    /* abc=1 abcdef=2 abcd=2 | abcdefghijklmnopq=6 -> 12 cps (4) + 5 cps (2) */
    const char *t = "abc abcdef abcd abcdefghijklmnopq";
    const struct vs_chunk_span *sp;
    size_t n;
    CHECK_EQ_INT(vs_chunker_split(c, t, strlen(t), NULL, 0, &sp, &n, NULL), VS_OK);
    CHECK_EQ_INT(n, 4);
    if (n == 4) {
        CHECK_EQ_INT(sp[0].start, 0);
        CHECK_EQ_INT(sp[0].end, 10); /* "abc abcdef": 3 tokens; + abcd would be 5 */
        CHECK_EQ_INT(sp[1].start, 11);
        CHECK_EQ_INT(sp[1].end, 15); /* "abcd" */
        CHECK_EQ_INT(sp[2].start, 16);
        CHECK_EQ_INT(sp[2].end, 28); /* 12 code points, 4 tokens */
        CHECK_EQ_INT(sp[3].start, 28);
        CHECK_EQ_INT(sp[3].end, 33);
    }
    vs_chunker_free(c);
}

static int append_rec(void *ctx, json_t *rec)
{
    return json_array_append(ctx, rec) == 0 ? VS_OK : VS_E_NOMEM;
}

static void test_markdown_sections(void)
{
    const char *md = "Preface.\n\n# Top\n\nText.\n\n```\n# not a heading\n```\n\n"
                     "## Sub *one*\n\nMore.\n\n# Next\n\nEnd.\n";
    struct vs_doc *doc;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_doc_from_text("m", md, strlen(md), VS_FORMAT_MARKDOWN, &doc, &d), VS_OK);
    if (!doc)
        return;
    CHECK_EQ_INT(vs_doc_nsections(doc), 3);
    CHECK_EQ_STR(json_string_value(json_object_get(vs_doc_metadata(doc), "title")), "Top");
    if (vs_doc_nsections(doc) == 3) {
        CHECK_EQ_INT(vs_doc_section_start(doc, 0), 10);
        json_t *p = vs_doc_section_path(doc, 1);
        CHECK_EQ_INT(json_array_size(p), 2);
        CHECK_EQ_STR(json_string_value(json_array_get(p, 1)), "Sub one");
        CHECK_EQ_INT(json_array_size(vs_doc_section_path(doc, 2)), 1);
    }
    struct vs_chunk_options o = {VS_SPLITTER_MARKDOWN, VS_CHUNK_CHARS, 1000, 0, 0, 0, NULL, NULL, NULL};
    struct vs_chunker *c;
    CHECK_EQ_INT(vs_chunker_new(&o, &c, NULL), VS_OK);
    json_t *all = json_array();
    CHECK_EQ_INT(vs_chunker_doc(c, doc, append_rec, all, NULL, &d), VS_OK);
    CHECK_EQ_INT(json_array_size(all), 4);
    json_t *r1 = json_array_get(all, 1);
    CHECK_EQ_STR(json_string_value(json_object_get(r1, "id")), "m#1");
    CHECK(strncmp(json_string_value(json_object_get(r1, "text")), "# Top", 5) == 0);
    json_t *r2 = json_array_get(all, 2);
    json_t *h = json_object_get(json_object_get(r2, "metadata"), "headings");
    CHECK_EQ_INT(json_array_size(h), 2);
    CHECK(json_object_get(json_object_get(json_array_get(all, 0), "metadata"), "headings") == NULL);
    /* offsets point back into the source */
    size_t i;
    json_t *r;
    json_array_foreach(all, i, r) {
        size_t s = (size_t)json_integer_value(json_object_get(r, "start"));
        size_t e = (size_t)json_integer_value(json_object_get(r, "end"));
        CHECK(e <= strlen(md) && strncmp(md + s, json_string_value(json_object_get(r, "text")), e - s) == 0);
    }
    json_decref(all);
    vs_chunker_free(c);
    vs_doc_free(doc);
}

/* A blank line inside a fenced code block or a <pre> is no paragraph
 * break for the recursive splitter. */
static void test_code_blocks_kept(void)
{
    const char *md = "# T\n\nIntro.\n\n```\nline one\n\nline two after blank\n```\n\nAfter.\n";
    struct vs_doc *doc;
    CHECK_EQ_INT(vs_doc_from_text("m", md, strlen(md), VS_FORMAT_MARKDOWN, &doc, NULL), VS_OK);
    if (!doc)
        return;
    CHECK_EQ_INT(doc->nkeep, 1);
    struct vs_chunk_options o = {VS_SPLITTER_RECURSIVE, VS_CHUNK_CHARS, 40, 0, 0, 0, NULL, NULL, NULL};
    struct vs_chunker *c;
    CHECK_EQ_INT(vs_chunker_new(&o, &c, NULL), VS_OK);
    json_t *all = json_array();
    CHECK_EQ_INT(vs_chunker_doc(c, doc, append_rec, all, NULL, NULL), VS_OK);
    CHECK_EQ_INT(json_array_size(all), 3);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(all, 1), "text")),
                 "```\nline one\n\nline two after blank\n```");
    json_decref(all);
    vs_doc_free(doc);

    const char *html = "<p>Intro.</p><pre>a\n\nb after blank</pre><p>After.</p>";
    doc = vs_doc_alloc("h");
    CHECK_EQ_INT(vs_loader_html(doc, html, strlen(html), NULL), VS_OK);
    const struct vs_chunk_span *sp;
    size_t n;
    o.size = 20;
    vs_chunker_free(c);
    CHECK_EQ_INT(vs_chunker_new(&o, &c, NULL), VS_OK);
    all = json_array();
    CHECK_EQ_INT(vs_chunker_doc(c, doc, append_rec, all, &n, NULL), VS_OK);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(all, 1), "text")),
                 "a\n\nb after blank");
    json_decref(all);
    /* the plain text API knows no blocks: the blank line splits */
    CHECK_EQ_INT(vs_chunker_split(c, doc->text, doc->len, NULL, 0, &sp, &n, NULL), VS_OK);
    CHECK(n >= 1 && sp[0].end - sp[0].start == strlen("Intro.\n\na"));
    vs_chunker_free(c);
    vs_doc_free(doc);
}

static void test_record_doc(void)
{
    json_error_t je;
    json_t *rec = json_loads("{\"_id\":\"x1\",\"title\":\"T\",\"text\":\"Hello.\","
                             "\"metadata\":{\"lang\":\"en\"},\"keep\":[1]}", 0, &je);
    struct vs_doc *doc;
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_doc_from_record(rec, "text", NULL, &doc, &d), VS_OK);
    if (doc) {
        CHECK_EQ_STR(vs_doc_id(doc), "x1");
        json_t *m = vs_doc_metadata(doc);
        CHECK_EQ_STR(json_string_value(json_object_get(m, "title")), "T");
        CHECK_EQ_STR(json_string_value(json_object_get(m, "lang")), "en");
        CHECK(json_object_get(vs_doc_extra(doc), "keep") != NULL);
        CHECK(json_object_get(vs_doc_extra(doc), "title") == NULL);
        vs_doc_free(doc);
    }
    json_decref(rec);
    rec = json_loads("{\"id\":\"y\",\"text\":5}", 0, &je);
    CHECK_EQ_INT(vs_doc_from_record(rec, "text", NULL, &doc, &d), VS_E_FIELD);
    CHECK_EQ_STR(d.field, "text");
    json_decref(rec);
    rec = json_loads("{\"text\":\"a\"}", 0, &je);
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_doc_from_record(rec, "text", NULL, &doc, &d), VS_E_FIELD);
    CHECK_EQ_STR(d.field, "id");
    json_decref(rec);
}

static void test_files(void)
{
    struct vs_doc *doc;
    struct vs_diag d;
    vs_diag_clear(&d);
    int st = vs_doc_load_file("tests/fixtures/docs/page.html", "p", &doc, &d);
    if (st == VS_E_IO)
        SKIP("fixtures not found (run from the repository root)");
    CHECK_EQ_INT(st, VS_OK);
    if (doc) {
        size_t len;
        const char *t = vs_doc_text(doc, &len);
        CHECK(strstr(t, "hidden") == NULL);
        CHECK(strstr(t, "color") == NULL);
        CHECK(strstr(t, "This is the first paragraph.") != NULL);
        CHECK(strstr(t, "keep   this\n  spacing") != NULL);
        CHECK_EQ_STR(json_string_value(json_object_get(vs_doc_metadata(doc), "title")), "Sample Page");
        CHECK_EQ_INT(vs_doc_nsections(doc), 2);
        vs_doc_free(doc);
    }
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_doc_load_file("tests/fixtures/docs/sub/blob.bin", "b", &doc, &d), VS_E_DATA);
    CHECK_EQ_STR(d.file, "tests/fixtures/docs/sub/blob.bin");
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_doc_load_file("tests/fixtures/docs/nonexistent.txt", "n", &doc, &d), VS_E_IO);
#if defined(VS_HAVE_POPPLER) && VS_HAVE_POPPLER
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_doc_load_file("tests/fixtures/docs/sample.pdf", "s", &doc, &d), VS_OK);
    if (doc) {
        CHECK(strstr(vs_doc_text(doc, NULL), "Page two talks about chunking.") != NULL);
        size_t len;
        const char *t = vs_doc_text(doc, &len);
        const char *p2 = strstr(t, "Page two");
        CHECK(p2 && vs_doc_page_at(doc, (size_t)(p2 - t)) == 2);
        CHECK_EQ_INT(vs_doc_page_at(doc, 0), 1);
        vs_doc_free(doc);
    }
#endif
}

struct seen {
    char list[2048];
};

static int collect(void *ctx, const char *path, const char *rel, int status,
                   const struct vs_diag *d)
{
    struct seen *s = ctx;
    strncat(s->list, rel, sizeof s->list - strlen(s->list) - 2);
    strcat(s->list, ";");
    return VS_OK;
}

static int collect_none(void *ctx, const char *path, const char *rel, int status,
                        const struct vs_diag *d)
{
    return VS_OK;
}

static void test_walk(void)
{
    struct seen s = {""};
    struct vs_diag d;
    vs_diag_clear(&d);
    if (vs_walk("tests/fixtures/docs", NULL, collect, &s, &d) != VS_OK)
        SKIP("fixtures not found (run from the repository root)");
    /* sub/blob.bin is no document format: left out (told, not visited) */
    CHECK_EQ_STR(s.list, "guide.md;notes.txt;page.html;sample.pdf;sub/records.jsonl;");
    const char *inc[] = {"*.md", "*.jsonl"};
    const char *exc[] = {"sub"};
    struct vs_walk_filter f = {inc, 2, NULL, 0, 0, NULL};
    s.list[0] = '\0';
    CHECK_EQ_INT(vs_walk("tests/fixtures/docs/", &f, collect, &s, &d), VS_OK);
    CHECK_EQ_STR(s.list, "guide.md;sub/records.jsonl;");
    f.exclude = exc;
    f.nexclude = 1;
    s.list[0] = '\0';
    CHECK_EQ_INT(vs_walk("tests/fixtures/docs", &f, collect, &s, &d), VS_OK);
    CHECK_EQ_STR(s.list, "guide.md;");
    CHECK_EQ_INT(vs_walk("tests/fixtures/no-such-dir", NULL, collect, &s, &d), VS_E_IO);
}


struct told {
    char list[2048];
};

static void tell(void *ctx, const char *path, const char *why)
{
    struct told *t = ctx;
    const char *base = strstr(path, "/w/");
    snprintf(t->list + strlen(t->list), sizeof t->list - strlen(t->list), "%s<%s>;",
             base ? base + 3 : path, strstr(why, ".gitignore") ? "gitignore" :
             strstr(why, ".ignore") ? "ignore" : strstr(why, ".vecstoreignore") ? "vsignore" : why);
}

/* Ignore files: git's syntax, rules of deeper directories and later files
 * win, negation, directory-only and anchored patterns; non-documents are
 * left out and told; --include reads any format. */
static void test_walk_ignores(void)
{
    char root[256], w[300], sub[320], deep[340], build[320];
    if (vs_test_tmpdir(root, sizeof root, "walk") != 0)
        return;
    snprintf(w, sizeof w, "%s/w", root);
    snprintf(sub, sizeof sub, "%s/sub", w);
    snprintf(deep, sizeof deep, "%s/deep", sub);
    snprintf(build, sizeof build, "%s/build", w);
    mkdir(w, 0755);
    mkdir(sub, 0755);
    mkdir(deep, 0755);
    mkdir(build, 0755);
    vs_test_write(w, ".gitignore", "# comment\n*.md\nbuild/\n/top.txt\n!keep.md\nsub/deep/x.txt\n");
    vs_test_write(w, ".vecstoreignore", "draft*\n");
    vs_test_write(w, ".ignore", "!x.md\n"); /* .ignore is read after .gitignore */
    vs_test_write(w, "a.txt", "a");
    vs_test_write(w, "top.txt", "t");
    vs_test_write(w, "x.md", "l");
    vs_test_write(w, "keep.md", "k");
    vs_test_write(w, "draft1.md", "d");
    vs_test_write(w, "style.css", "c");
    vs_test_write(w, "README", "r");
    vs_test_write(build, "out.txt", "o");
    vs_test_write(sub, ".ignore", "!draft2.md\n"); /* a deeper rule wins */
    vs_test_write(sub, "draft2.md", "d2");
    vs_test_write(sub, "top.txt", "anchored rule is for the top only");
    vs_test_write(deep, "x.txt", "x");
    vs_test_write(deep, "y.txt", "y");
    struct seen s = {""};
    struct told t = {""};
    struct vs_walk_filter f = {NULL, 0, NULL, 0, 0, tell};
    struct vs_diag d;
    vs_diag_clear(&d);
    /* the walk's ctx goes to both callbacks: first what is read, then
     * what is left out and why */
    f.left_out = NULL;
    CHECK_EQ_INT(vs_walk(w, &f, collect, &s, &d), VS_OK);
    CHECK_EQ_STR(s.list, "README;a.txt;keep.md;sub/deep/y.txt;sub/draft2.md;sub/top.txt;x.md;");
    f.left_out = tell;
    CHECK_EQ_INT(vs_walk(w, &f, collect_none, &t, &d), VS_OK);
    CHECK_EQ_STR(t.list, "build<gitignore>;draft1.md<vsignore>;style.css<not a document format (--include reads it)>;"
                         "sub/deep/x.txt<gitignore>;top.txt<gitignore>;");
    /* --no-ignore: every document; --include: any format, ignores still apply */
    s.list[0] = '\0';
    f.no_ignore = 1;
    f.left_out = NULL;
    CHECK_EQ_INT(vs_walk(w, &f, collect, &s, &d), VS_OK);
    CHECK_EQ_STR(s.list, "README;a.txt;build/out.txt;draft1.md;keep.md;sub/deep/x.txt;sub/deep/y.txt;"
                         "sub/draft2.md;sub/top.txt;top.txt;x.md;");
    f.no_ignore = 0;
    const char *inc[] = {"*.css", "*.md"};
    struct vs_walk_filter h = {inc, 2, NULL, 0, 0, NULL};
    s.list[0] = '\0';
    CHECK_EQ_INT(vs_walk(w, &h, collect, &s, &d), VS_OK);
    CHECK_EQ_STR(s.list, "keep.md;style.css;sub/draft2.md;x.md;");
    /* a file named as the root is read whatever its format */
    char css[400];
    snprintf(css, sizeof css, "%s/style.css", w);
    s.list[0] = '\0';
    CHECK_EQ_INT(vs_walk(css, NULL, collect, &s, &d), VS_OK);
    CHECK(strstr(s.list, "style.css;") != NULL);
    vs_test_rmtree(root);
}

static void spans_of(const char *text, size_t size, size_t min, char *out, size_t n)
{
    struct vs_chunk_options o = {VS_SPLITTER_RECURSIVE, VS_CHUNK_CHARS, size, 0, min, 0, NULL, NULL, NULL};
    struct vs_chunker *c;
    out[0] = '\0';
    if (vs_chunker_new(&o, &c, NULL) != VS_OK)
        return;
    const struct vs_chunk_span *sp;
    size_t ns;
    if (vs_chunker_split(c, text, strlen(text), NULL, 0, &sp, &ns, NULL) == VS_OK)
        for (size_t i = 0; i < ns; i++)
            snprintf(out + strlen(out), n - strlen(out), "[%.*s]",
                     (int)(sp[i].end - sp[i].start), text + sp[i].start);
    vs_chunker_free(c);
}

/* Tiny chunks merge into the next one, the last into the one before. */
static void test_min_size(void)
{
    char out[512];
    const char *t = "Bug fixes:\n\nA long first paragraph here.\n\nAnother long paragraph.\n\nEnd.";
    spans_of(t, 28, 0, out, sizeof out);
    CHECK_EQ_STR(out, "[Bug fixes:][A long first paragraph here.][Another long paragraph.][End.]");
    spans_of(t, 28, 12, out, sizeof out);
    CHECK_EQ_STR(out, "[Bug fixes:\n\nA long first paragraph here.][Another long paragraph.\n\nEnd.]");
    spans_of("Tiny.", 30, 12, out, sizeof out); /* alone: kept */
    CHECK_EQ_STR(out, "[Tiny.]");
    struct vs_chunk_options bad = {VS_SPLITTER_RECURSIVE, VS_CHUNK_CHARS, 30, 0, 30, 0, NULL, NULL, NULL};
    struct vs_chunker *c = NULL;
    CHECK_EQ_INT(vs_chunker_new(&bad, &c, NULL), VS_E_USAGE);
    /* markdown: never across a section */
    const char *md = "# A\n\nshort\n\n# B\n\nsecond section text";
    struct vs_doc *doc = NULL;
    CHECK_EQ_INT(vs_doc_from_text("m", md, strlen(md), VS_FORMAT_MARKDOWN, &doc, NULL), VS_OK);
    struct vs_chunk_options o = {VS_SPLITTER_MARKDOWN, VS_CHUNK_CHARS, 100, 0, 15, 0, NULL, NULL, NULL};
    CHECK_EQ_INT(vs_chunker_new(&o, &c, NULL), VS_OK);
    json_t *all = json_array();
    CHECK_EQ_INT(vs_chunker_doc(c, doc, append_rec, all, NULL, NULL), VS_OK);
    CHECK_EQ_INT(json_array_size(all), 2);
    json_decref(all);
    vs_chunker_free(c);
    vs_doc_free(doc);
}

static char *html_text(const char *html, unsigned flags)
{
    struct vs_doc *doc = vs_doc_alloc("h");
    char *out = NULL;
    if (doc && vs_loader_html_flags(doc, html, strlen(html), flags, NULL) == VS_OK) {
        size_t n;
        const char *t = vs_doc_text(doc, &n);
        out = strndup(t ? t : "", n);
    }
    vs_doc_free(doc);
    return out ? out : strdup("(failed)");
}

/* HTML: the main content by default, everything with VS_LOAD_HTML_ALL. */
static void test_html_main(void)
{
    static const struct {
        const char *html, *main, *all;
    } cases[] = {
        {"<body><nav>Home About</nav><main><h1>T</h1><p>Body.</p></main><footer>(c) x</footer></body>",
         "T\n\nBody.", "Home About\n\nT\n\nBody.\n\n(c) x"},
        {"<body><div role=main><p>Role main.</p></div><p>Outside.</p></body>",
         "Role main.", "Role main.\n\nOutside."},
        {"<body><div class=sidebar>Side</div><article><p>The article.</p></article></body>",
         "The article.", "Side\n\nThe article."},
        {"<body><div class='menu mainmenu'>A B</div><div class=tagline>Small.</div>"
         "<div id=site-footer>Foot</div><p>Real text.</p></body>",
         "Real text.", "A B\n\nSmall.\n\nFoot\n\nReal text."},
        {"<body><ul><li><a href=a>One</a><li><a href=b>Two</a></ul><p>Prose with <a href=c>a link</a> "
         "inside a longer sentence.</p></body>",
         "Prose with a link inside a longer sentence.",
         "One\nTwo\n\nProse with a link inside a longer sentence."},
        {"<body><nav><p>Only navigation.</p></nav></body>", "Only navigation.", "Only navigation."},
        {"<body><div class=canvas><p>Not furniture.</p></div></body>", "Not furniture.", "Not furniture."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *m = html_text(cases[i].html, 0), *a = html_text(cases[i].html, VS_LOAD_HTML_ALL);
        CHECK_EQ_STR(m, cases[i].main);
        CHECK_EQ_STR(a, cases[i].all);
        free(m);
        free(a);
    }
}

/* Random Markdown and HTML tag soup: loaders never fail on valid UTF-8,
 * sections are sorted, inside the text and (Markdown) at line starts. */
static void test_fuzz_loaders(void)
{
    static const char *const md_parts[] = {
        "# ", "## ", "###### ", "```", "~~~", "\n", "\n\n", "- ", "1. ", "*", "_",
        "[", "](", ")", "<div>", "</div>", "&amp;", "é", "東京", "> ", "    ",
        "text", "|a|b|\n|-|-|\n", "===", "---", "\\", "`", "<!--", "-->"};
    static const char *const html_parts[] = {
        "<p>", "</p>", "<h1>", "</h1>", "<h3>", "</h3>", "<script>", "</script>",
        "<pre>", "</pre>", "<title>", "</title>", "<br>", "<li>", "<table><tr><td>",
        "&amp;", "&#233;", "&bogus;", "<", ">", "\"", "words here", " ", "\n",
        "<style>x{}</style>", "<!--c-->", "<![CDATA[x]]>", "é", "<div", "/>"};
    static char buf[4096];
    int bad = 0;
    size_t nsec[2] = {0, 0};
    for (int round = 0; round < 400; round++) {
        int html = round & 1;
        const char *const *parts = html ? html_parts : md_parts;
        size_t np = html ? sizeof html_parts / sizeof *html_parts
                         : sizeof md_parts / sizeof *md_parts;
        size_t n = 0, want = next_rand() % 600;
        while (n < want) {
            const char *p = parts[next_rand() % np];
            size_t l = strlen(p);
            if (n + l + 1 >= sizeof buf)
                break;
            memcpy(buf + n, p, l);
            n += l;
        }
        buf[n] = '\0';
        struct vs_doc *doc = NULL;
        int st;
        if (html) {
            doc = vs_doc_alloc("h");
            st = doc ? vs_loader_html(doc, buf, n, NULL) : VS_E_NOMEM;
        } else
            st = vs_doc_from_text("m", buf, n, VS_FORMAT_MARKDOWN, &doc, NULL);
        if (st != VS_OK) {
            bad++;
            vs_doc_free(doc);
            continue;
        }
        size_t len;
        const char *t = vs_doc_text(doc, &len);
        if (!vs_utf8_valid(t, len))
            bad++;
        nsec[html] += vs_doc_nsections(doc);
        for (size_t i = 0; i < doc->nkeep; i++)
            if (doc->keep[2 * i] >= doc->keep[2 * i + 1] || doc->keep[2 * i + 1] > len ||
                (i && doc->keep[2 * i] < doc->keep[2 * i - 1]))
                bad++;
        for (size_t i = 0; i < vs_doc_nsections(doc); i++) {
            size_t s0 = vs_doc_section_start(doc, i);
            if (s0 > len || (i && s0 <= vs_doc_section_start(doc, i - 1)))
                bad++;
            if (!html && s0 > 0 && t[s0 - 1] != '\n')
                bad++;
        }
        vs_doc_free(doc);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(nsec[0] > 0 && nsec[1] > 0); /* the soup did make headings */
}

int main(void)
{
    RUN(test_names);
    RUN(test_fixed_exact);
    RUN(test_no_empty_chunks);
    RUN(test_recursive_prefers_paragraphs);
    RUN(test_properties);
    RUN(test_tokens);
    RUN(test_tokens_exact);
    RUN(test_markdown_sections);
    RUN(test_code_blocks_kept);
    RUN(test_record_doc);
    RUN(test_files);
    RUN(test_walk);
    RUN(test_walk_ignores);
    RUN(test_min_size);
    RUN(test_html_main);
    RUN(test_fuzz_loaders);
    return vs_test_done();
}
