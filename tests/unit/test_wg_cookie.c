/* test_wg_cookie.c - mac1 / mac2 and cookie replies: validation states,
 * cookie bound to the source address and port (IPv4, IPv6, vsock), reply
 * bound to the mac1 it answers, secret rotation after two minutes, the
 * maker's use-by time, tampering. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <sodium.h>

#include "wgcore/cookie.h"
#include "wgcore/messages.h"

#define SEC 1000000000ull

static struct wg_cookie_checker checker;
static struct wg_cookie_maker maker;
static uint8_t pub[32];
static uint8_t msg[WG_MSG_INITIATION_LEN];
static struct wg_sockaddr src4, src4_port, src4_other, src6, srcvm;
static uint64_t now = 1000 * SEC;

static void ep4(struct wg_sockaddr *ep, const char *ip, uint16_t port)
{
    memset(ep, 0, sizeof(*ep));
    ep->addr.in.sin_family = AF_INET;
    ep->addr.in.sin_port = htons(port);
    inet_pton(AF_INET, ip, &ep->addr.in.sin_addr);
}

static int setup(void **state)
{
    uint8_t priv[32];

    (void)state;
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(priv, 32);
    crypto_scalarmult_base(pub, priv);
    wg_cookie_checker_init(&checker);
    wg_cookie_checker_set_key(&checker, pub);
    wg_cookie_maker_init(&maker, pub);
    randombytes_buf(msg, sizeof(msg));
    msg[0] = 1; msg[1] = msg[2] = msg[3] = 0;
    ep4(&src4, "192.0.2.1", 51820);
    ep4(&src4_port, "192.0.2.1", 51821);
    ep4(&src4_other, "192.0.2.9", 51820);
    memset(&src6, 0, sizeof(src6));
    src6.addr.in6.sin6_family = AF_INET6;
    src6.addr.in6.sin6_port = htons(51820);
    inet_pton(AF_INET6, "2001:db8::1", &src6.addr.in6.sin6_addr);
    memset(&srcvm, 0, sizeof(srcvm));
    srcvm.addr.vm.svm_family = AF_VSOCK;
    srcvm.addr.vm.svm_cid = 16;
    srcvm.addr.vm.svm_port = 8172;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    wg_cookie_checker_destroy(&checker);
    return 0;
}

static enum wg_cookie_mac_state validate(const struct wg_sockaddr *src, bool load)
{
    return wg_cookie_validate(&checker, msg, sizeof(msg), src, load, now);
}

/* maker gets a cookie reply from the checker for a message sent from src */
static int get_cookie(const struct wg_sockaddr *src)
{
    struct wg_msg_cookie reply;

    wg_cookie_add_macs(&maker, msg, sizeof(msg), now);
    wg_cookie_reply_create(&reply, &checker, msg, sizeof(msg), 0xabcdef01, src, now);
    assert_int_equal(sizeof(reply), 64);
    assert_int_equal(wg_le32(&reply.header.type), WG_MSG_COOKIE);
    assert_int_equal(wg_le32(&reply.receiver_index), 0xabcdef01);
    return wg_cookie_consume_reply(&maker, &reply, now);
}

static void test_mac1(void **state)
{
    (void)state;
    wg_cookie_add_macs(&maker, msg, sizeof(msg), now);
    assert_true(sodium_is_zero(msg + WG_MSG_MAC2_OFF(sizeof(msg)), 16));   /* no cookie yet */
    assert_int_equal(validate(&src4, false), WG_COOKIE_VALID_MAC_NO_COOKIE);
    for (size_t off = 0; off < WG_MSG_MAC2_OFF(sizeof(msg)); off += 7) {
        msg[off] ^= 0x10;
        assert_int_equal(validate(&src4, false), WG_COOKIE_INVALID_MAC);
        assert_int_equal(validate(&src4, true), WG_COOKIE_INVALID_MAC);
        msg[off] ^= 0x10;
    }
    /* another responder's key: invalid */
    struct wg_cookie_checker other;
    uint8_t k[32];
    randombytes_buf(k, 32);
    wg_cookie_checker_init(&other);
    wg_cookie_checker_set_key(&other, k);
    assert_int_equal(wg_cookie_validate(&other, msg, sizeof(msg), &src4, false, now),
                     WG_COOKIE_INVALID_MAC);
    /* no identity: invalid */
    wg_cookie_checker_set_key(&other, NULL);
    assert_int_equal(wg_cookie_validate(&other, msg, sizeof(msg), &src4, false, now),
                     WG_COOKIE_INVALID_MAC);
    wg_cookie_checker_destroy(&other);
}

static void test_cookie_roundtrip(void **state)
{
    const struct wg_sockaddr *srcs[] = { &src4, &src6, &srcvm };

    (void)state;
    for (unsigned i = 0; i < 3; i++) {
        wg_cookie_add_macs(&maker, msg, sizeof(msg), now);
        assert_int_equal(validate(srcs[i], true), WG_COOKIE_VALID_MAC_NO_COOKIE);
        assert_int_equal(get_cookie(srcs[i]), 0);
        wg_cookie_add_macs(&maker, msg, sizeof(msg), now);
        assert_false(sodium_is_zero(msg + WG_MSG_MAC2_OFF(sizeof(msg)), 16));
        assert_int_equal(validate(srcs[i], true), WG_COOKIE_VALID_MAC_WITH_COOKIE);
        /* not checked when not under load */
        assert_int_equal(validate(srcs[i], false), WG_COOKIE_VALID_MAC_NO_COOKIE);
    }
    /* the cookie is bound to address and port */
    assert_int_equal(get_cookie(&src4), 0);
    wg_cookie_add_macs(&maker, msg, sizeof(msg), now);
    assert_int_equal(validate(&src4, true), WG_COOKIE_VALID_MAC_WITH_COOKIE);
    assert_int_equal(validate(&src4_port, true), WG_COOKIE_VALID_MAC_NO_COOKIE);
    assert_int_equal(validate(&src4_other, true), WG_COOKIE_VALID_MAC_NO_COOKIE);
    assert_int_equal(validate(&src6, true), WG_COOKIE_VALID_MAC_NO_COOKIE);
}

static void test_reply_bound_to_mac1(void **state)
{
    struct wg_msg_cookie reply;

    (void)state;
    wg_cookie_add_macs(&maker, msg, sizeof(msg), now);
    wg_cookie_reply_create(&reply, &checker, msg, sizeof(msg), 1, &src4, now);
    /* the maker sent a different message since: the reply does not fit */
    msg[10] ^= 1;
    wg_cookie_add_macs(&maker, msg, sizeof(msg), now);
    assert_int_equal(wg_cookie_consume_reply(&maker, &reply, now), -EINVAL);
    assert_false(maker.is_valid);
    /* tampered reply */
    wg_cookie_reply_create(&reply, &checker, msg, sizeof(msg), 1, &src4, now);
    struct wg_msg_cookie bad = reply;
    bad.nonce[0] ^= 1;
    assert_int_equal(wg_cookie_consume_reply(&maker, &bad, now), -EINVAL);
    bad = reply;
    bad.encrypted_cookie[31] ^= 1;
    assert_int_equal(wg_cookie_consume_reply(&maker, &bad, now), -EINVAL);
    /* good one once; a second time is refused (mac1 already answered) */
    assert_int_equal(wg_cookie_consume_reply(&maker, &reply, now), 0);
    assert_int_equal(wg_cookie_consume_reply(&maker, &reply, now), -EINVAL);
    /* a maker that never sent anything accepts nothing */
    struct wg_cookie_maker fresh;
    wg_cookie_maker_init(&fresh, pub);
    assert_int_equal(wg_cookie_consume_reply(&fresh, &reply, now), -EINVAL);
}

static void test_secret_rotation_and_expiry(void **state)
{
    (void)state;
    assert_int_equal(get_cookie(&src4), 0);
    wg_cookie_add_macs(&maker, msg, sizeof(msg), now);
    assert_int_equal(validate(&src4, true), WG_COOKIE_VALID_MAC_WITH_COOKIE);
    /* 119 s: still the same secret */
    now += 119 * SEC;
    assert_int_equal(validate(&src4, true), WG_COOKIE_VALID_MAC_WITH_COOKIE);
    /* 120 s after the secret was made it rotates: the old cookie is dead */
    now += 1 * SEC;
    assert_int_equal(validate(&src4, true), WG_COOKIE_VALID_MAC_NO_COOKIE);

    /* the maker stops using a cookie 5 s before the responder would drop it */
    assert_int_equal(get_cookie(&src4), 0);
    now += 114 * SEC;
    wg_cookie_add_macs(&maker, msg, sizeof(msg), now);
    assert_false(sodium_is_zero(msg + WG_MSG_MAC2_OFF(sizeof(msg)), 16));
    now += 1 * SEC;
    wg_cookie_add_macs(&maker, msg, sizeof(msg), now);
    assert_true(sodium_is_zero(msg + WG_MSG_MAC2_OFF(sizeof(msg)), 16));
}

static void test_response_sized_messages(void **state)
{
    uint8_t resp[WG_MSG_RESPONSE_LEN];

    (void)state;
    randombytes_buf(resp, sizeof(resp));
    wg_cookie_add_macs(&maker, resp, sizeof(resp), now);
    assert_int_equal(wg_cookie_validate(&checker, resp, sizeof(resp), &src4, false, now),
                     WG_COOKIE_VALID_MAC_NO_COOKIE);
    resp[60] ^= 4;
    assert_int_equal(wg_cookie_validate(&checker, resp, sizeof(resp), &src4, false, now),
                     WG_COOKIE_INVALID_MAC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mac1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cookie_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_bound_to_mac1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_rotation_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_sized_messages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
