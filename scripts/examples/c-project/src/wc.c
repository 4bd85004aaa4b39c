#include "wc.h"

#include <ctype.h>

void wc_count(struct wc_counts *c, const char *buf, size_t n, int *in_word)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)buf[i];
        c->bytes++;
        if (ch == '\n') {
            c->lines++;
        }
        if (isspace(ch)) {
            *in_word = 0;
        } else if (!*in_word) {
            *in_word = 1;
            c->words++;
        }
    }
}
