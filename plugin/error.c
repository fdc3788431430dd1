/* error.c - net_fail(): the user-facing message of a failed call. */
#include <stdarg.h>
#include <stdio.h>

#include "plugin/error.h"

int net_fail(char err[NET_ERR_MAX], const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, NET_ERR_MAX, fmt, ap);
    va_end(ap);
    return -1;
}
