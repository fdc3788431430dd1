/* log.c - the engine's logger: one line per message on stderr (or, for the
 * levels below error, the descriptor wg_log_set_info_fd() gave), with a UTC
 * timestamp and the level, as wireguard-go's LOG_LEVEL=debug|verbose|error|
 * silent.  Each line goes out in one write(2) so lines from the device's
 * threads never interleave.  Callers never pass key material. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "wgcore/wgcore.h"

static int log_level = WG_LOG_ERROR;
static int info_fd = STDERR_FILENO;

void wg_log_set_info_fd(int fd)
{
    __atomic_store_n(&info_fd, fd, __ATOMIC_RELAXED);
}

void wg_log_set_level(enum wg_log_level level)
{
    if ((int)level < WG_LOG_SILENT)
        level = WG_LOG_SILENT;
    if (level > WG_LOG_DEBUG)
        level = WG_LOG_DEBUG;
    __atomic_store_n(&log_level, (int)level, __ATOMIC_RELAXED);
}

enum wg_log_level wg_log_level_from_env(void)
{
    const char *v = getenv("LOG_LEVEL");

    if (!v)
        return WG_LOG_ERROR;
    if (!strcasecmp(v, "debug"))
        return WG_LOG_DEBUG;
    if (!strcasecmp(v, "verbose") || !strcasecmp(v, "info"))
        return WG_LOG_VERBOSE;
    if (!strcasecmp(v, "silent"))
        return WG_LOG_SILENT;
    return WG_LOG_ERROR;
}

static const char *level_name(enum wg_log_level level)
{
    switch (level) {
    case WG_LOG_ERROR: return "ERROR";
    case WG_LOG_VERBOSE: return "INFO";
    case WG_LOG_DEBUG: return "DEBUG";
    default: return "";
    }
}

void wg_log(enum wg_log_level level, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int saved = errno, n, m;

    if (level == WG_LOG_SILENT || (int)level > __atomic_load_n(&log_level, __ATOMIC_RELAXED))
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, ts.tv_nsec / 1000000, level_name(level));
    if (n < 0)
        n = 0;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof(line) - 2)
        n = sizeof(line) - 2;       /* truncated: keep the newline */
    line[n++] = '\n';
    /* Best effort: a closed stderr must not take the engine down. */
    if (write(level == WG_LOG_ERROR ? STDERR_FILENO : __atomic_load_n(&info_fd, __ATOMIC_RELAXED),
              line, (size_t)n) < 0)
        errno = saved;
    errno = saved;
}
