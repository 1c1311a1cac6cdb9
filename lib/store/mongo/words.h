/* Search words for the MongoDB backend (words.c): text cut into words
 * exactly as SQLite's FTS5 tokenizer `unicode61 remove_diacritics 2` cuts
 * it, queries read as the SQLite backend builds its FTS5 query, matching
 * and FTS5's snippet(), so that both backends find and show the same. */
#ifndef HS_STORE_MONGO_WORDS_H
#define HS_STORE_MONGO_WORDS_H

#include <stddef.h>

#include "hs/arena.h"

/* One word of a text: its bytes [start, end) and its folded form
 * (lowercase, diacritics removed), NUL-terminated in the arena. */
typedef struct {
    size_t start, end;
    const char *w;
    size_t len;
} hs__word_t;

/* Cuts s[0..n) into words; returns how many, the words in *out. */
size_t hs__words_cut(hs_arena_t *a, const char *s, size_t n, hs__word_t **out);

/* A query: each word of what was typed (runs of hs_word_byte) is a phrase
 * of one or more words (FTS5 cuts "naïve—word" in two), all required, the
 * last word of the last phrase a prefix when `prefix`. Phrases FTS5 finds
 * no word in are left out. */
typedef struct {
    hs__word_t *w;
    size_t n;
} hs__phrase_t;
typedef struct {
    hs__phrase_t *p;
    size_t n;
    int prefix;
} hs__query_t;

/* Reads q; returns 0 when q has no word at all (the SQLite backend then
 * answers an empty page without looking at the cursor), else 1; out->n may
 * still be 0 (words FTS5 finds nothing in: nothing matches). */
int hs__query_parse(hs_arena_t *a, const char *q, hs__query_t *out);

/* 1 when text holds every phrase of q (q->n > 0). With snippet, also FTS5's
 * snippet(col, "\x02", "\x03", "…", 12) of text: the 12-word window with
 * the most distinct phrases, hits marked. */
int hs__query_match(hs_arena_t *a, const hs__query_t *q, const char *text, const char **snippet);

#endif
