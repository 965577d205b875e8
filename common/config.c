/* config.c -- the config file reader (config.h has the format and the API).
 *
 * config_load keeps a stack of the files being read (their real paths) to refuse an include
 * cycle and to bound the depth; each line goes through config_split, and `include` lines
 * recurse instead of becoming entries. Nothing here knows a daemon's directives.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct word {
    char *s;
    size_t len, cap;
};

static int word_add(struct word *w, char c)
{
    if (w->len + 2 > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        char *s = realloc(w->s, cap);
        if (!s)
            return -1;
        w->s = s;
        w->cap = cap;
    }
    w->s[w->len++] = c;
    w->s[w->len] = '\0';
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One "double quoted" word from *pp (just past the quote) into w; *pp ends past the closing
 * quote. Returns 0, or -1 with err set. */
static int read_double(const char **pp, struct word *w, char *err, size_t errlen)
{
    const char *p = *pp;
    for (;;) {
        char c = *p;
        if (c == '\0') {
            snprintf(err, errlen, "unbalanced quotes");
            return -1;
        }
        if (c == '"')
            break;
        if (c == '\\' && p[1] == 'x' && hexval(p[2]) >= 0 && hexval(p[3]) >= 0) {
            c = (char)(hexval(p[2]) * 16 + hexval(p[3]));
            p += 3;
        } else if (c == '\\' && p[1] != '\0') {
            p++;
            switch (*p) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            default:
                snprintf(err, errlen, "unknown escape \\%c in a quoted value", *p);
                return -1;
            }
        }
        if (word_add(w, c) < 0)
            goto oom;
        p++;
    }
    *pp = p + 1;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int read_single(const char **pp, struct word *w, char *err, size_t errlen)
{
    const char *p = *pp;
    for (;;) {
        char c = *p;
        if (c == '\0') {
            snprintf(err, errlen, "unbalanced quotes");
            return -1;
        }
        if (c == '\'')
            break;
        if (c == '\\' && p[1] == '\'')
            c = *++p;
        if (word_add(w, c) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        p++;
    }
    *pp = p + 1;
    return 0;
}

void config_words_free(int argc, char **argv, size_t *lens)
{
    for (int i = 0; argv && i < argc; i++)
        free(argv[i]);
    free(argv);
    free(lens);
}

static int push_word(char ***argv, size_t **lens, int *argc, struct word *w)
{
    char **a = realloc(*argv, (size_t)(*argc + 1) * sizeof **argv);
    if (a)
        *argv = a;
    size_t *l = realloc(*lens, (size_t)(*argc + 1) * sizeof **lens);
    if (l)
        *lens = l;
    if (!a || !l)
        return -1;
    (*argv)[*argc] = w->s;
    (*lens)[*argc] = w->len;
    (*argc)++;
    w->s = NULL;
    w->len = w->cap = 0;
    return 0;
}

int config_split(const char *line, char ***argvp, size_t **lensp, char *err, size_t errlen)
{
    char **argv = NULL;
    size_t *lens = NULL;
    int argc = 0;
    const char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '#' || *p == '\0') {
        *argvp = NULL;
        *lensp = NULL;
        return 0;
    }
    while (*p) {
        struct word w = { 0 };
        if (word_add(&w, 'x') < 0)
            goto oom;
        w.len = 0; /* an allocated empty word: "" is a real, empty argument */
        w.s[0] = '\0';
        while (*p && !isspace((unsigned char)*p)) {
            int rc = 0;
            if (*p == '"' || *p == '\'') {
                char q = *p++;
                rc = q == '"' ? read_double(&p, &w, err, errlen)
                              : read_single(&p, &w, err, errlen);
                if (rc == 0 && *p && !isspace((unsigned char)*p)) {
                    snprintf(err, errlen, "a closing quote must be followed by a space");
                    rc = -1;
                }
            } else if (word_add(&w, *p++) < 0) {
                free(w.s);
                goto oom;
            }
            if (rc < 0) {
                free(w.s);
                config_words_free(argc, argv, lens);
                return -1;
            }
        }
        if (push_word(&argv, &lens, &argc, &w) < 0) {
            free(w.s);
            goto oom;
        }
        while (isspace((unsigned char)*p))
            p++;
    }
    *argvp = argv;
    *lensp = lens;
    return argc;
oom:
    config_words_free(argc, argv, lens);
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* The reading state: the config being filled and the stack of open files. */
struct reader {
    struct config *cf;
    char *stack[CONFIG_MAX_DEPTH + 1]; /* real paths of the files being read */
    int depth;
};

static const char *keep_name(struct config *cf, const char *name)
{
    char **f = realloc(cf->files, (cf->nfiles + 1) * sizeof *f);
    if (!f)
        return NULL;
    cf->files = f;
    if (!(f[cf->nfiles] = strdup(name)))
        return NULL;
    return f[cf->nfiles++];
}

static int add_entry(struct config *cf, const char *file, int line, int argc, char **argv,
                     size_t *lens)
{
    if (cf->n == cf->cap) {
        size_t cap = cf->cap ? cf->cap * 2 : 32;
        struct config_entry *e = realloc(cf->entries, cap * sizeof *e);
        if (!e)
            return -1;
        cf->entries = e;
        cf->cap = cap;
    }
    for (char *s = argv[0]; *s; s++)
        *s = (char)tolower((unsigned char)*s);
    cf->entries[cf->n++] = (struct config_entry){ file, line, argc, argv, lens };
    return 0;
}

static int read_file(struct reader *rd, const char *path, const char *from, int from_line,
                     char *err, size_t errlen);

/* `include PATH` at file:line: PATH relative to file's folder. */
static int do_include(struct reader *rd, const char *file, int line, const char *path,
                      char *err, size_t errlen)
{
    char full[PATH_MAX];
    const char *slash = strrchr(file, '/');
    if (path[0] == '/' || !slash)
        snprintf(full, sizeof full, "%s", path);
    else
        snprintf(full, sizeof full, "%.*s/%s", (int)(slash - file), file, path);
    return read_file(rd, full, file, line, err, errlen);
}

static int read_lines(struct reader *rd, FILE *f, const char *name, char *err, size_t errlen)
{
    char *buf = NULL, why[256];
    size_t cap = 0;
    int line = 0, rc = 0;
    while (rc == 0 && getline(&buf, &cap, f) >= 0) {
        line++;
        buf[strcspn(buf, "\r\n")] = '\0';
        char **argv;
        size_t *lens;
        int argc = config_split(buf, &argv, &lens, why, sizeof why);
        if (argc < 0) {
            snprintf(err, errlen, "%s:%d: %s", name, line, why);
            rc = -1;
        } else if (argc > 0 && strcasecmp(argv[0], "include") == 0) {
            if (argc != 2) {
                snprintf(err, errlen, "%s:%d: include takes one argument, a path", name, line);
                rc = -1;
            } else {
                rc = do_include(rd, name, line, argv[1], err, errlen);
            }
            config_words_free(argc, argv, lens);
        } else if (argc > 0 && add_entry(rd->cf, name, line, argc, argv, lens) < 0) {
            config_words_free(argc, argv, lens);
            snprintf(err, errlen, "%s:%d: out of memory", name, line);
            rc = -1;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", name, strerror(errno));
        rc = -1;
    }
    free(buf);
    return rc;
}

/* Reads path; from/from_line name the include line that asked for it (NULL at the top). */
static int read_file(struct reader *rd, const char *path, const char *from, int from_line,
                     char *err, size_t errlen)
{
    char where[PATH_MAX + 32];
    if (from)
        snprintf(where, sizeof where, "%s:%d: ", from, from_line);
    else
        snprintf(where, sizeof where, "%s: ", path);
    if (rd->depth == CONFIG_MAX_DEPTH) {
        snprintf(err, errlen, "%sincludes nested more than %d deep", where, CONFIG_MAX_DEPTH);
        return -1;
    }
    char *real = realpath(path, NULL);
    FILE *f = real ? fopen(path, "r") : NULL;
    if (!f) {
        snprintf(err, errlen, "%scan't read %s: %s", where, path, strerror(errno));
        free(real);
        return -1;
    }
    for (int i = 0; i < rd->depth; i++) {
        if (strcmp(rd->stack[i], real) == 0) {
            snprintf(err, errlen, "%sinclude cycle: %s is already being read", where, path);
            fclose(f);
            free(real);
            return -1;
        }
    }
    const char *name = keep_name(rd->cf, path);
    if (!name) {
        snprintf(err, errlen, "%sout of memory", where);
        fclose(f);
        free(real);
        return -1;
    }
    rd->stack[rd->depth++] = real;
    int rc = read_lines(rd, f, name, err, errlen);
    rd->depth--;
    free(real);
    fclose(f);
    return rc;
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
    struct reader rd = { .cf = calloc(1, sizeof *rd.cf) };
    if (!rd.cf) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    if (read_file(&rd, path, NULL, 0, err, errlen) < 0) {
        config_free(rd.cf);
        return NULL;
    }
    return rd.cf;
}

void config_free(struct config *cf)
{
    if (!cf)
        return;
    for (size_t i = 0; i < cf->n; i++)
        config_words_free(cf->entries[i].argc, cf->entries[i].argv, cf->entries[i].lens);
    for (size_t i = 0; i < cf->nfiles; i++)
        free(cf->files[i]);
    free(cf->files);
    free(cf->entries);
    free(cf);
}
