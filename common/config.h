/* config.h -- the config file reader: lines of `directive arg...` into entries.
 *
 * The format is redis.conf's: one directive per line, words split by blanks, `#` at the
 * start of a line (after blanks) makes it a comment, blank lines are skipped. A word may be
 * "double quoted" (escapes \" \\ \n \t \r, and \xHH) or 'single quoted' (literal, \' for a
 * quote); a closing quote must be followed by a blank or the end of the line. The directive
 * `include PATH` reads another file in place; a relative PATH is taken from the including
 * file's folder. Includes nest at most CONFIG_MAX_DEPTH deep and a file that includes itself,
 * directly or not, is an error.
 *
 * The reader knows no directive but `include`: it returns every other line as an entry
 * (file, line, argc, argv), in file order with includes expanded, and the daemons decide
 * what each means (common/options.h). Use:
 *
 *     char err[512];
 *     struct config *cf = config_load("twopc.conf", err, sizeof err);
 *     if (!cf) { fprintf(stderr, "twopc-server: %s\n", err); exit(2); }
 *     for (size_t i = 0; i < cf->n; i++) ... cf->entries[i] ...
 *     config_free(cf);
 *
 * Errors read "FILE:LINE: reason" (or "FILE: reason" when the file cannot be read). The
 * entries, their words and file names belong to the struct config and live until
 * config_free().
 */
#ifndef TWOPC_CONFIG_H
#define TWOPC_CONFIG_H

#include <stddef.h>

#define CONFIG_MAX_DEPTH 10 /* include nesting: deep enough for any layout, stops a runaway */

struct config_entry {
    const char *file; /* the path as given or as an include built it */
    int line;         /* 1-based */
    int argc;         /* >= 1: argv[0] is the directive, lower-cased */
    char **argv;      /* NUL-terminated words (a word may hold a NUL through \x00: lens) */
    size_t *lens;
};

struct config {
    struct config_entry *entries;
    size_t n, cap;
    char **files; /* every file name the entries point at */
    size_t nfiles;
};

/* Reads path and its includes. Returns the entries, or NULL with err set ("FILE:LINE:
 * reason"). The caller frees the result with config_free. */
struct config *config_load(const char *path, char *err, size_t errlen);

/* Splits one line into words as the file reader does. Returns the word count (0 for a
 * blank or comment line) with *argv and *lens malloc'ed (free with config_words_free), or
 * -1 with err set (the reason only, no FILE:LINE). */
int config_split(const char *line, char ***argv, size_t **lens, char *err, size_t errlen);
void config_words_free(int argc, char **argv, size_t *lens);

void config_free(struct config *cf);

#endif
