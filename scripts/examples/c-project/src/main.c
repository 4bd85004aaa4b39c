#include <stdio.h>

#include "wc.h"

int main(void)
{
    struct wc_counts c = {0, 0, 0};
    int in_word = 0;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
        wc_count(&c, buf, n, &in_word);
    }
    printf("%zu %zu %zu\n", c.lines, c.words, c.bytes);
    return ferror(stdin) ? 1 : 0;
}
