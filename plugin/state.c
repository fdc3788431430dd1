/* state.c - networks and endpoints, persisted as one small JSON file each.
 *
 * Writes go to a mkstemp() file (0600) in the same directory, are fsync'ed
 * and renamed over the target, so a crash at any point leaves either the old
 * or the new file, never a torn one.  The directory is not fsync'ed: what
 * must survive is a plugin crash or restart, for which the page cache is
 * enough, and Docker re-creates nothing after a host reboot anyway.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/log.h"
#include "plugin/state.h"

#define STATE_VERSION 1

bool state_valid_id(const char *id)
{
    size_t n = 0;

    if (!id)
        return false;
    for (; id[n]; n++) {
        char c = id[n];
        if (n >= PL_ID_MAX)
            return false;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '-'))
            return false;
    }
    return n > 0;
}

void state_lock(struct pl_state *st)
{
    pthread_mutex_lock(&st->lock);
}

void state_unlock(struct pl_state *st)
{
    pthread_mutex_unlock(&st->lock);
}

struct pl_network *state_find_net(struct pl_state *st, const char *id)
{
    for (struct pl_network *n = st->nets; n; n = n->next)
        if (!strcmp(n->id, id))
            return n;
    return NULL;
}

struct pl_endpoint *state_find_ep(struct pl_state *st, const char *id)
{
    for (struct pl_endpoint *e = st->eps; e; e = e->next)
        if (!strcmp(e->id, id))
            return e;
    return NULL;
}

struct pl_endpoint *state_find_ifname(struct pl_state *st, const char *ifname)
{
    for (struct pl_endpoint *e = st->eps; e; e = e->next)
        if (!strcmp(e->ifname, ifname))
            return e;
    return NULL;
}

/* ---- files ---- */

static int path_of(const struct pl_state *st, const char *sub, const char *id,
                   char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s/%s.json", st->dir, sub, id);

    return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Atomically replaces DIR/sub/id.json with the JSON of obj. */
static int save_json(const struct pl_state *st, const char *sub, const char *id, const json_t *obj)
{
    char path[4096], tmp[4096];
    char *text;
    int fd, ret;

    if (!st->dir)
        return 0;
    if ((ret = path_of(st, sub, id, path, sizeof(path))) ||
        snprintf(tmp, sizeof(tmp), "%s/%s/.tmp-XXXXXX", st->dir, sub) >= (int)sizeof(tmp))
        return ret ? ret : -ENAMETOOLONG;
    text = json_dumps(obj, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    fd = mkstemp(tmp);      /* 0600 */
    if (fd < 0) {
        ret = -errno;
        goto out;
    }
    ret = write_all(fd, text, strlen(text));
    if (!ret)
        ret = write_all(fd, "\n", 1);
    if (!ret && fsync(fd))
        ret = -errno;
    if (close(fd) && !ret)
        ret = -errno;
    if (!ret && rename(tmp, path))
        ret = -errno;
    if (ret)
        unlink(tmp);
out:
    /* The text may hold a seed given as an option. */
    memset(text, 0, strlen(text));
    free(text);
    return ret;
}

static void unlink_json(const struct pl_state *st, const char *sub, const char *id)
{
    char path[4096];

    if (st->dir && !path_of(st, sub, id, path, sizeof(path)) && unlink(path) && errno != ENOENT)
        pl_err("cannot remove %s: %s", path, strerror(errno));
}

/* ---- networks ---- */

static void free_net(struct pl_network *n)
{
    if (!n)
        return;
    net_config_wipe(n->cfg);
    free(n->cfg);
    json_decref(n->saved);
    free(n);
}

int state_add_net(struct pl_state *st, const char *id, struct net_config *cfg, json_t *saved)
{
    struct pl_network *n, *old;
    int ret;

    if (!state_valid_id(id))
        return -EINVAL;
    old = state_find_net(st, id);
    n = old ? NULL : calloc(1, sizeof(*n));
    if (!old && !n)
        return -ENOMEM;
    /* The file is replaced atomically, so an existing network is never
     * lost, even if we crash right here. */
    if ((ret = save_json(st, "networks", id, saved))) {
        free(n);
        return ret;
    }
    if (old) {
        net_config_wipe(old->cfg);
        free(old->cfg);
        json_decref(old->saved);
        old->cfg = cfg;
        old->saved = saved;
        return 0;
    }
    strcpy(n->id, id);
    n->cfg = cfg;
    n->saved = saved;
    n->next = st->nets;
    st->nets = n;
    return 0;
}

int state_del_net(struct pl_state *st, const char *id)
{
    for (struct pl_network **pp = &st->nets; *pp; pp = &(*pp)->next) {
        struct pl_network *n = *pp;
        if (strcmp(n->id, id))
            continue;
        unlink_json(st, "networks", id);
        *pp = n->next;
        free_net(n);
        return 0;
    }
    return -ENOENT;
}

/* ---- endpoints ---- */

static json_t *ep_to_json(const struct pl_endpoint *ep)
{
    json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "version", STATE_VERSION,
                          "EndpointID", ep->id, "NetworkID", ep->net_id, "Address", ep->addr4,
                          "AddressIPv6", ep->addr6, "InterfaceName", ep->ifname,
                          "PublicKey", ep->pubkey);

    /* Optional members: absent in files of endpoints without them. */
    if (o && *ep->sandbox_key && json_object_set_new(o, "SandboxKey", json_string(ep->sandbox_key)))
        goto fail;
    if (o && ep->ports && json_object_set(o, "Ports", ep->ports))
        goto fail;
    if (o && ep->joined && json_object_set_new(o, "Joined", json_true()))
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

int state_save_ep(struct pl_state *st, const struct pl_endpoint *e)
{
    json_t *obj = ep_to_json(e);
    int ret;

    if (!obj)
        return -ENOMEM;
    ret = save_json(st, "endpoints", e->id, obj);
    json_decref(obj);
    return ret;
}

void state_free_ep(struct pl_endpoint *e)
{
    if (e) {
        json_decref(e->ports);
        free(e);
    }
}

static int copy_field(char *dst, size_t size, const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    if (!s || strlen(s) >= size)
        return -1;
    strcpy(dst, s);
    return 0;
}

int state_add_ep(struct pl_state *st, const struct pl_endpoint *ep)
{
    struct pl_endpoint *e;
    json_t *obj;
    int ret;

    if (!state_valid_id(ep->id) || !state_valid_id(ep->net_id))
        return -EINVAL;
    if (state_find_ep(st, ep->id))
        return -EEXIST;
    e = malloc(sizeof(*e));
    obj = ep_to_json(ep);
    if (!e || !obj) {
        free(e);
        json_decref(obj);
        return -ENOMEM;
    }
    ret = save_json(st, "endpoints", ep->id, obj);
    json_decref(obj);
    if (ret) {
        free(e);
        return ret;
    }
    *e = *ep;
    e->dev = NULL;
    e->busy = false;
    e->ports = json_incref(ep->ports);
    e->next = st->eps;
    st->eps = e;
    return 0;
}

struct pl_endpoint *state_remove_ep(struct pl_state *st, const char *id)
{
    for (struct pl_endpoint **pp = &st->eps; *pp; pp = &(*pp)->next) {
        struct pl_endpoint *e = *pp;
        if (strcmp(e->id, id))
            continue;
        *pp = e->next;
        e->next = NULL;
        return e;
    }
    return NULL;
}

size_t state_take_devices(struct pl_state *st, const char *net_id, bool forget, void **devs,
                          size_t max)
{
    struct pl_endpoint **pp = &st->eps;
    size_t n = 0;

    state_lock(st);
    while (*pp) {
        struct pl_endpoint *e = *pp;

        if (net_id && strcmp(e->net_id, net_id)) {
            pp = &e->next;
            continue;
        }
        if (e->dev) {
            if (n == max)
                break;
            devs[n++] = e->dev;
            e->dev = NULL;
        }
        if (!forget) {
            pp = &e->next;
            continue;
        }
        unlink_json(st, "endpoints", e->id);
        *pp = e->next;
        state_free_ep(e);
    }
    state_unlock(st);
    return n;
}

void state_unlink_ep(struct pl_state *st, const char *id)
{
    unlink_json(st, "endpoints", id);
}

struct pl_endpoint *state_take_ep(struct pl_state *st, const char *id)
{
    struct pl_endpoint *e = state_remove_ep(st, id);

    if (e)
        unlink_json(st, "endpoints", id);
    return e;
}

/* ---- loading ---- */

static void set_aside(const char *path, const char *why)
{
    char bad[4200];

    snprintf(bad, sizeof(bad), "%s.bad", path);
    pl_err("state file %s: %s; moved to %s", path, why, bad);
    if (rename(path, bad))
        pl_err("cannot rename %s: %s", path, strerror(errno));
}

/* Calls fn for every DIR/sub/<id>.json with the parsed object. */
static void load_dir(struct pl_state *st, const char *sub, const char *plugin_seed_file,
                     void (*fn)(struct pl_state *, const char *, json_t *, const char *,
                                const char *))
{
    char dpath[4096], path[4400];
    struct dirent *de;
    DIR *d;

    snprintf(dpath, sizeof(dpath), "%s/%s", st->dir, sub);
    d = opendir(dpath);
    if (!d) {
        pl_err("cannot read %s: %s", dpath, strerror(errno));
        return;
    }
    while ((de = readdir(d))) {
        char id[PL_ID_MAX + 1];
        size_t len = strlen(de->d_name);
        json_error_t jerr;
        json_t *obj;

        snprintf(path, sizeof(path), "%s/%s", dpath, de->d_name);
        if (!strncmp(de->d_name, ".tmp-", 5)) {     /* a write cut short by a crash */
            unlink(path);
            continue;
        }
        if (len <= 5 || strcmp(de->d_name + len - 5, ".json") || len - 5 > PL_ID_MAX)
            continue;
        memcpy(id, de->d_name, len - 5);
        id[len - 5] = '\0';
        if (!state_valid_id(id))
            continue;
        obj = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(obj)) {
            set_aside(path, "not valid JSON");
            json_decref(obj);
            continue;
        }
        fn(st, id, obj, path, plugin_seed_file);
        json_decref(obj);
    }
    closedir(d);
}

static void load_net(struct pl_state *st, const char *id, json_t *obj, const char *path,
                     const char *plugin_seed_file)
{
    struct net_config *cfg = malloc(sizeof(*cfg));
    char err[NET_ERR_MAX];
    struct pl_network *n = calloc(1, sizeof(*n));

    if (!cfg || !n) {
        free(cfg);
        free(n);
        return;
    }
    if (net_config_parse(cfg, obj, plugin_seed_file, false, err)) {
        set_aside(path, err);
        free(cfg);
        free(n);
        return;
    }
    {
        /* Saved by CreateNetwork; files from before engines were wgcore. */
        const char *engine = json_string_value(json_object_get(obj, "Engine"));
        cfg->engine = engine && !strcmp(engine, "kernel") && cfg->transport == WG_TRANSPORT_UDP ?
                      TUNNEL_KERNEL : TUNNEL_WGCORE;
    }
    strcpy(n->id, id);
    n->cfg = cfg;
    n->saved = json_incref(obj);
    n->next = st->nets;
    st->nets = n;
}

static void load_ep(struct pl_state *st, const char *id, json_t *obj, const char *path,
                    const char *plugin_seed_file)
{
    struct pl_endpoint *e = calloc(1, sizeof(*e));

    if (!e)
        return;
    if (copy_field(e->net_id, sizeof(e->net_id), obj, "NetworkID") ||
        copy_field(e->addr4, sizeof(e->addr4), obj, "Address") ||
        copy_field(e->addr6, sizeof(e->addr6), obj, "AddressIPv6") ||
        copy_field(e->ifname, sizeof(e->ifname), obj, "InterfaceName") ||
        copy_field(e->pubkey, sizeof(e->pubkey), obj, "PublicKey") ||
        !state_valid_id(e->net_id) ||
        (json_object_get(obj, "SandboxKey") &&
         copy_field(e->sandbox_key, sizeof(e->sandbox_key), obj, "SandboxKey")) ||
        (json_object_get(obj, "Ports") && !json_is_array(json_object_get(obj, "Ports")))) {
        set_aside(path, "missing or invalid fields");
        free(e);
        return;
    }
    e->ports = json_incref(json_object_get(obj, "Ports"));
    if (!state_find_net(st, e->net_id)) {
        /* Its network was deleted while we were down: nothing left to do. */
        pl_info("dropping endpoint %.12s of unknown network %.12s", id, e->net_id);
        unlink(path);
        state_free_ep(e);
        return;
    }
    e->joined = json_is_true(json_object_get(obj, "Joined"));
    strcpy(e->id, id);
    e->next = st->eps;
    st->eps = e;
}

static int mkdir_0700(const char *path)
{
    if (mkdir(path, 0700) && errno != EEXIST)
        return -errno;
    return 0;
}

/* mkdir -p for the state directory's parents (e.g. /var/lib/wgvsock). */
static int mkdir_parents(const char *dir)
{
    char buf[4096];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, dir, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return mkdir_0700(buf);
}

int state_open(const char *dir, const char *plugin_seed_file, struct pl_state **out)
{
    struct pl_state *st = calloc(1, sizeof(*st));
    char sub[4200];
    int ret;

    if (!st)
        return -ENOMEM;
    pthread_mutex_init(&st->lock, NULL);
    if (dir) {
        st->dir = strdup(dir);
        if (!st->dir) {
            state_close(st);
            return -ENOMEM;
        }
        if ((ret = mkdir_parents(dir))) {
            state_close(st);
            return ret;
        }
        chmod(dir, 0700);
        snprintf(sub, sizeof(sub), "%s/networks", dir);
        ret = mkdir_0700(sub);
        snprintf(sub, sizeof(sub), "%s/endpoints", dir);
        if (!ret)
            ret = mkdir_0700(sub);
        if (ret) {
            state_close(st);
            return ret;
        }
        load_dir(st, "networks", plugin_seed_file, load_net);
        load_dir(st, "endpoints", plugin_seed_file, load_ep);
    }
    *out = st;
    return 0;
}

void state_close(struct pl_state *st)
{
    if (!st)
        return;
    while (st->nets) {
        struct pl_network *n = st->nets;
        st->nets = n->next;
        free_net(n);
    }
    while (st->eps) {
        struct pl_endpoint *e = st->eps;
        st->eps = e->next;
        state_free_ep(e);
    }
    pthread_mutex_destroy(&st->lock);
    free(st->dir);
    free(st);
}
