/* secret.c -- the cluster secret from a file (secret.h). */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int secret_load_file(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
    char buf[SECRET_MAX + 2];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: can't read the cluster secret file: %s", path,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen, "%s: the cluster secret file is accessible to group or other "
                 "(mode %03o); chmod 600 it", path, (unsigned)(st.st_mode & 0777));
        close(fd);
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "%s: can't read the cluster secret file: %s", path,
                 strerror(errno));
        return -1;
    }
    buf[n] = '\0';
    size_t len = strcspn(buf, "\n");
    if (len > SECRET_MAX || (buf[len] == '\0' && (size_t)n > SECRET_MAX)) {
        snprintf(err, errlen, "%s: the cluster secret is longer than %d bytes", path,
                 SECRET_MAX);
        return -1;
    }
    while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\r'))
        len--;
    if (len == 0 || memchr(buf, '\0', len)) {
        snprintf(err, errlen, "%s: the cluster secret file's first line is empty", path);
        return -1;
    }
    if (len + 1 > cap) {
        snprintf(err, errlen, "%s: the cluster secret does not fit", path);
        return -1;
    }
    memcpy(out, buf, len);
    out[len] = '\0';
    memset(buf, 0, sizeof buf);
    return 0;
}
