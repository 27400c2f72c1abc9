/* fuzz_markdown.c: libFuzzer target for the Markdown loader
 * (lib/docs/loader_md.c, over md4c: headings, code blocks, titles) and the
 * splitters on its documents; the checks are in fuzz_doc.h. */
#include "fuzz_doc.h"

#define FUZZ_MAX_LEN 8192

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    fuzz_doc("guide.md", data, size);
    return 0;
}
