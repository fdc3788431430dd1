/* attest_opts.c - see attest_opts.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest/hex.h"
#include "plugin/attest_opts.h"

static const char *const mode_names[] = {
    [NET_ATTEST_NONE] = "none", [NET_ATTEST_TEST] = "test", [NET_ATTEST_NITRO] = "nitro",
};

bool net_attest_is_option(const char *name)
{
    return !strcmp(name, "wgvsock.attest") || !strcmp(name, "wgvsock.attest-root") ||
           !strcmp(name, "wgvsock.provision-port") ||
           (!strncmp(name, "wgvsock.attest-pcr", 18) && name[18] >= '0' && name[18] <= '8' &&
            !name[19]);
}

static int get(const json_t *generic, const char *name, const char **out, char err[NET_ERR_MAX])
{
    const json_t *v = generic ? json_object_get(generic, name) : NULL;
    *out = NULL;
    if (v && !json_is_string(v))
        return net_fail(err, "option %s must be a string", name);
    *out = v ? json_string_value(v) : NULL;
    return 0;
}

static int parse_pcrs(struct net_attest *a, const json_t *generic, char err[NET_ERR_MAX])
{
    for (int i = 0; i < NET_ATTEST_PCRS; i++) {
        char name[32];
        const char *v;
        snprintf(name, sizeof(name), "wgvsock.attest-pcr%d", i);
        if (get(generic, name, &v, err))
            return -1;
        if (!v)
            continue;
        if (a->mode == NET_ATTEST_OFF || a->mode == NET_ATTEST_NONE)
            return net_fail(err, "%s needs wgvsock.attest=nitro or test", name);
        int n = hex_decode(v, a->pcr[i], NET_ATTEST_PCR_MAX);
        if (n != 32 && n != 48 && n != 64)
            return net_fail(err, "%s: expected 96 hex digits (SHA-384; 64 or 128 for other "
                            "digests), as `nitro-cli describe-eif` prints", name);
        a->pcr_len[i] = (uint8_t)n;
    }
    return 0;
}

int net_attest_parse(struct net_attest *a, const json_t *generic, char err[NET_ERR_MAX])
{
    const char *mode, *root, *port;

    memset(a, 0, sizeof(*a));
    if (get(generic, "wgvsock.attest", &mode, err) || get(generic, "wgvsock.attest-root", &root, err) ||
        get(generic, "wgvsock.provision-port", &port, err))
        return -1;
    if (mode) {
        for (int m = NET_ATTEST_NONE; m <= NET_ATTEST_NITRO; m++)
            if (!strcmp(mode, mode_names[m]))
                a->mode = (enum net_attest_mode)m;
        if (a->mode == NET_ATTEST_OFF)
            return net_fail(err, "wgvsock.attest: '%.32s' is not nitro, test or none", mode);
    }
    if (root) {
        if (a->mode != NET_ATTEST_NITRO && a->mode != NET_ATTEST_TEST)
            return net_fail(err, "wgvsock.attest-root needs wgvsock.attest=nitro or test");
        if (root[0] != '/' || strlen(root) >= sizeof(a->root) || access(root, R_OK))
            return net_fail(err, "wgvsock.attest-root: expected an absolute path of a PEM "
                            "certificate readable by the plugin");
        strcpy(a->root, root);
    }
    if (a->mode == NET_ATTEST_TEST && !root)
        return net_fail(err, "wgvsock.attest=test needs wgvsock.attest-root (the test CA's "
                        "root.pem): a test document never chains to the AWS root");
    if (port) {
        char *end;
        unsigned long v = strtoul(port, &end, 10);
        if (a->mode == NET_ATTEST_OFF)
            return net_fail(err, "wgvsock.provision-port needs wgvsock.attest");
        if (!*port || *end || v < 1 || v > 65535)
            return net_fail(err, "wgvsock.provision-port: '%.32s' is not a port (1..65535)", port);
        a->provision_port = (uint16_t)v;
    }
    return parse_pcrs(a, generic, err);
}
