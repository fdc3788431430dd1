/* tunnel_engines.c - the plugin's tunnel_ops: each device is made by the
 * engine its network resolved to (spec->engine), and every later call on it
 * goes back to that engine.  The handle given out is a small box holding the
 * engine's own handle and its ops, so the rest of the plugin (state, the
 * shutdown, DeleteNetwork) keeps handling one opaque pointer per device.
 */
#include <errno.h>
#include <stdlib.h>

#include "plugin/tunnel.h"

struct engine_dev {
    const struct tunnel_ops *ops;
    void *dev;
};

static const struct tunnel_ops *engine_of(enum tunnel_engine engine)
{
    return engine == TUNNEL_KERNEL ? &tunnel_kernel_ops : &tunnel_wgcore_ops;
}

static int engines_create(void *ctx, const struct tunnel_spec *spec, void **out,
                          char err[NET_ERR_MAX])
{
    struct engine_dev *box = malloc(sizeof(*box));

    if (!box)
        return net_fail(err, "out of memory");
    box->ops = engine_of(spec->engine);
    if (box->ops->create(NULL, spec, &box->dev, err)) {
        free(box);
        return -1;
    }
    *out = box;
    return 0;
}

static void engines_destroy(void *ctx, void *dev)
{
    struct engine_dev *box = dev;

    box->ops->destroy(NULL, box->dev);
    free(box);
}

static void engines_release(void *ctx, void *dev)
{
    struct engine_dev *box = dev;

    if (box->ops->release)
        box->ops->release(NULL, box->dev);
    else
        box->ops->destroy(NULL, box->dev);
    free(box);
}

static int engines_probe(void *ctx, enum tunnel_engine engine)
{
    const struct tunnel_ops *ops = engine_of(engine);

    if (ops->probe)
        return ops->probe(NULL, engine);
    return engine == TUNNEL_WGCORE ? 0 : -EOPNOTSUPP;
}

static void engines_destroy_stale(void *ctx, enum tunnel_engine engine, const char *ifname)
{
    const struct tunnel_ops *ops = engine_of(engine);

    if (ops->destroy_stale)
        ops->destroy_stale(NULL, engine, ifname);
}

static int engines_apply(void *ctx, void *dev, const struct wg_device_config *config,
                         char err[NET_ERR_MAX])
{
    struct engine_dev *box = dev;

    if (!box->ops->apply)
        return net_fail(err, "this engine cannot reconfigure a running device");
    return box->ops->apply(NULL, box->dev, config, err);
}

const struct tunnel_ops tunnel_engines_ops = {
    .create = engines_create,
    .destroy = engines_destroy,
    .probe = engines_probe,
    .release = engines_release,
    .destroy_stale = engines_destroy_stale,
    .apply = engines_apply,
};
