#!/bin/bash
# keyderive CLI: every invocation form, every error path (exit 2, empty
# stdout, one message, no secret echoed), and a round trip through Debian's
# `wg pubkey` (an independent X25519 implementation).
. "$(dirname "$0")/lib.sh"
command -v wg >/dev/null || { echo "wg (wireguard-tools) not installed"; exit 77; }

VEC_PRIV=IJftaHjgELSRD3PXllSPn3EpiVmrEjQupVynwcfu8FE=
# Values from Python hashlib.sha3_256 + wg pubkey (see tests/unit/test_kd_derive.c).
DEF_PRIV=WNKz1h/rFKezrLIfdccfrFDFGsZ2mRcxcU0a8VUStVs=     # default additional "bestov.io"
EMPTY_PRIV=2BAfm9pwx7Y6IIcXrl8IOaH+fLxCEdEy8PwxZPbYBV0=   # empty additional
V6_PUB=bJivhzCE/mqB+ARKmBE0tzWjjr1b7es3Hwdis7Pq7wM=       # fd00:42::2

printf '%s\n' "$SEED" >"$TMP/seed"
printf '%s' "$ADD" >"$TMP/add"          # no trailing newline: both must work

## --- compatible form: private key -----------------------------------------
ok "vector priv" "$KD" --add "$ADD" "$SEED" $VEC_ADDR && expect_eq "vector priv" "$(cat "$TMP/out")" "$VEC_PRIV"
ok "options after positionals" "$KD" "$SEED" $VEC_ADDR --add "$ADD" && expect_eq "opts after" "$(cat "$TMP/out")" "$VEC_PRIV"
ok "--add=B64" "$KD" --add="$ADD" "$SEED" $VEC_ADDR && expect_eq "--add=" "$(cat "$TMP/out")" "$VEC_PRIV"
ok "prefix ignored" "$KD" --add "$ADD" "$SEED" $VEC_ADDR/24 && expect_eq "prefix" "$(cat "$TMP/out")" "$VEC_PRIV"
ok "default additional" "$KD" "$SEED" $VEC_ADDR && expect_eq "default add" "$(cat "$TMP/out")" "$DEF_PRIV"
ok "explicit bestov.io" "$KD" --add YmVzdG92Lmlv "$SEED" $VEC_ADDR && expect_eq "bestov.io" "$(cat "$TMP/out")" "$DEF_PRIV"
ok "empty additional" "$KD" --add '' "$SEED" $VEC_ADDR && expect_eq "empty add" "$(cat "$TMP/out")" "$EMPTY_PRIV"
ok "last --add wins" "$KD" --add YmVzdG92Lmlv --add "$ADD" "$SEED" $VEC_ADDR && expect_eq "last --add" "$(cat "$TMP/out")" "$VEC_PRIV"
ok "-- ends options" "$KD" --add "$ADD" -- "$SEED" $VEC_ADDR && expect_eq "--" "$(cat "$TMP/out")" "$VEC_PRIV"
ok "output is one line" "$KD" "$SEED" $VEC_ADDR && expect_eq "newline" "$(wc -c <"$TMP/out")" 45

## --- secrets from files and stdin ------------------------------------------
ok "--seed-file" "$KD" --add "$ADD" --seed-file "$TMP/seed" $VEC_ADDR && expect_eq "--seed-file" "$(cat "$TMP/out")" "$VEC_PRIV"
ok "--seed-file -" "$KD" --add "$ADD" --seed-file - $VEC_ADDR <"$TMP/seed" && expect_eq "--seed-file -" "$(cat "$TMP/out")" "$VEC_PRIV"
ok "seed - (stdin)" "$KD" --add "$ADD" - $VEC_ADDR <"$TMP/seed" && expect_eq "seed -" "$(cat "$TMP/out")" "$VEC_PRIV"
ok "--add-file" "$KD" --add-file "$TMP/add" "$SEED" $VEC_ADDR && expect_eq "--add-file" "$(cat "$TMP/out")" "$VEC_PRIV"
ok "--add-file -" "$KD" --add-file - --seed-file "$TMP/seed" $VEC_ADDR <"$TMP/add" && expect_eq "--add-file -" "$(cat "$TMP/out")" "$VEC_PRIV"
printf '  \n%s\r\n\n' "$SEED" >"$TMP/seed-ws"
ok "seed file whitespace" "$KD" --add "$ADD" --seed-file "$TMP/seed-ws" $VEC_ADDR && expect_eq "ws" "$(cat "$TMP/out")" "$VEC_PRIV"
: >"$TMP/empty"
ok "empty --add-file" "$KD" --add-file "$TMP/empty" "$SEED" $VEC_ADDR && expect_eq "empty add file" "$(cat "$TMP/out")" "$EMPTY_PRIV"

## --- pubkey ----------------------------------------------------------------
ok "pubkey vector" "$KD" pubkey --add "$ADD" "$SEED" $VEC_ADDR && expect_eq "pubkey" "$(cat "$TMP/out")" "$VEC_PUB"
ok "pubkey options first" "$KD" --add "$ADD" pubkey "$SEED" $VEC_ADDR && expect_eq "pubkey opts first" "$(cat "$TMP/out")" "$VEC_PUB"
ok "pubkey --seed-file" "$KD" pubkey --add-file "$TMP/add" --seed-file "$TMP/seed" $VEC_ADDR/32 && expect_eq "pubkey file" "$(cat "$TMP/out")" "$VEC_PUB"
ok "pubkey stdin" "$KD" pubkey --add "$ADD" - $VEC_ADDR <"$TMP/seed" && expect_eq "pubkey -" "$(cat "$TMP/out")" "$VEC_PUB"
ok "pubkey IPv6" "$KD" pubkey --add "$ADD" "$SEED" fd00:42::2/64 && expect_eq "pubkey v6" "$(cat "$TMP/out")" "$V6_PUB"

## --- round trip through wg pubkey -------------------------------------------
rt_fail=0
for i in $(seq 1 40); do
    a=10.$((RANDOM % 256)).$((RANDOM % 256)).$((RANDOM % 256))
    [ $((i % 4)) = 0 ] && a=fd$(printf '%02x' $((RANDOM % 256)))::$(printf '%x:%x' $RANDOM $RANDOM)
    s=$(head -c $((1 + RANDOM % 48)) /dev/urandom | base64 -w0)
    p1=$("$KD" --add "$ADD" "$s" "$a" | wg pubkey)
    p2=$("$KD" pubkey --add "$ADD" "$s" "$a")
    [ -n "$p1" ] && [ "$p1" = "$p2" ] || { rt_fail=1; flunk "round trip $a: wg pubkey '$p1' != keyderive pubkey '$p2'"; }
done
checks=$((checks + 1))

## --- peers -------------------------------------------------------------------
ok "peers wg" "$KD" peers --add "$ADD" --subnet 192.168.5.0/29 "$SEED"
cat >"$TMP/want" <<EOT
[Peer]
PublicKey = $("$KD" pubkey --add "$ADD" "$SEED" 192.168.5.1)
AllowedIPs = 192.168.5.1/32

[Peer]
PublicKey = $VEC_PUB
AllowedIPs = 192.168.5.2/32
EOT
for h in 3 4 5 6; do
    printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = 192.168.5.%s/32\n' "$("$KD" pubkey --add "$ADD" "$SEED" 192.168.5.$h)" $h >>"$TMP/want"
done
checks=$((checks + 1)); cmp -s "$TMP/out" "$TMP/want" || flunk "peers wg output differs: $(diff "$TMP/want" "$TMP/out" | head)"

ok "peers --skip-gateway" "$KD" peers --add "$ADD" --subnet 192.168.5.0/29 --skip-gateway "$SEED"
expect_eq "skip-gateway first" "$(sed -n 3p "$TMP/out")" "AllowedIPs = 192.168.5.2/32"
expect_eq "skip-gateway count" "$(grep -c '^\[Peer\]$' "$TMP/out")" 5

ok "peers --range offsets" "$KD" peers --subnet 10.0.42.0/24 --skip-gateway --range 21-30 --seed-file "$TMP/seed"
expect_eq "range count" "$(grep -c '^\[Peer\]$' "$TMP/out")" 10
expect_eq "range first" "$(grep -m1 AllowedIPs "$TMP/out")" "AllowedIPs = 10.0.42.21/32"
expect_eq "range last" "$(grep AllowedIPs "$TMP/out" | tail -1)" "AllowedIPs = 10.0.42.30/32"
expect_eq "range key" "$(grep -m1 PublicKey "$TMP/out")" "PublicKey = $("$KD" pubkey --seed-file "$TMP/seed" 10.0.42.21)"
ok "peers --range addresses" "$KD" peers --subnet 10.0.42.0/24 --range 10.0.42.21-10.0.42.30 --seed-file - <"$TMP/seed"
expect_eq "range by address" "$(grep -c '^\[Peer\]$' "$TMP/out")" 10
ok "options before peers" "$KD" --seed-file "$TMP/seed" --add-file "$TMP/add" peers --subnet 192.168.5.0/30 --format json
expect_eq "options before peers" "$(grep -c "$VEC_PUB" "$TMP/out")" 1
ok "peers /31" "$KD" peers --subnet 10.0.42.0/31 "$SEED" && expect_eq "/31" "$(grep -c AllowedIPs "$TMP/out")" 2
ok "peers /32" "$KD" peers --subnet 10.0.42.9/32 "$SEED" && expect_eq "/32" "$(grep AllowedIPs "$TMP/out")" "AllowedIPs = 10.0.42.9/32"

ok "peers IPv6" "$KD" peers --add "$ADD" --subnet fd00:42::/124 --skip-gateway "$SEED"
expect_eq "v6 count" "$(grep -c '^\[Peer\]$' "$TMP/out")" 14
expect_eq "v6 first" "$(grep -m1 AllowedIPs "$TMP/out")" "AllowedIPs = fd00:42::2/128"
expect_eq "v6 key" "$(grep -m1 PublicKey "$TMP/out")" "PublicKey = $V6_PUB"
expect_eq "v6 last" "$(grep AllowedIPs "$TMP/out" | tail -1)" "AllowedIPs = fd00:42::f/128"

ok "peers json" "$KD" peers --add "$ADD" --subnet 192.168.5.0/30 --format json "$SEED"
checks=$((checks + 1))
python3 - "$TMP/out" "$("$KD" pubkey --add "$ADD" "$SEED" 192.168.5.1)" "$VEC_PUB" <<'PY' || flunk "peers json: wrong document: $(cat "$TMP/out")"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc == [{"address": "192.168.5.1", "public_key": sys.argv[2]},
               {"address": "192.168.5.2", "public_key": sys.argv[3]}], doc
PY
ok "peers json one" "$KD" peers --subnet 10.0.42.9/32 --format json "$SEED"
checks=$((checks + 1)); python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 1' "$TMP/out" || flunk "json one"

ok "peers uapi" "$KD" peers --add "$ADD" --subnet 192.168.5.0/30 --format uapi "$SEED"
hex1=$(printf '%s' "$("$KD" pubkey --add "$ADD" "$SEED" 192.168.5.1)" | base64 -d | od -An -tx1 -v | tr -d ' \n')
hex2=$(printf '%s' "$VEC_PUB" | base64 -d | od -An -tx1 -v | tr -d ' \n')
printf 'set=1\npublic_key=%s\nreplace_allowed_ips=true\nallowed_ip=192.168.5.1/32\npublic_key=%s\nreplace_allowed_ips=true\nallowed_ip=192.168.5.2/32\n\n' "$hex1" "$hex2" >"$TMP/want"
checks=$((checks + 1)); cmp -s "$TMP/out" "$TMP/want" || flunk "peers uapi differs: $(diff "$TMP/want" "$TMP/out" | head)"

ok "peers exactly 65536 without --force" "$KD" peers --subnet 10.0.0.0/15 --range 1-65536 --format uapi "$SEED"
expect_eq "65536 peers" "$(grep -c '^public_key=' "$TMP/out")" 65536
ok "peers --force" "$KD" peers --subnet 10.0.0.0/15 --range 1-65537 --force --format uapi "$SEED"
expect_eq "65537 peers" "$(grep -c '^public_key=' "$TMP/out")" 65537

## --- help ----------------------------------------------------------------------
for h in --help -h help "pubkey --help" "peers --help"; do
    ok "help $h" "$KD" $h && { grep -q '^SYNOPSIS' "$TMP/out" && grep -q 'EXIT STATUS' "$TMP/out" || flunk "help $h: no usage text"; }
done

## --- error paths -----------------------------------------------------------------
S=$SEED; A=$ADD
SECRETS="$SEED $ADD testseed testadditional"
bad "no arguments" "$SECRETS" "$KD"
bad "only seed" "$SECRETS" "$KD" "$S"
bad "too many arguments" "$SECRETS" "$KD" "$S" $VEC_ADDR extra
bad "seed not base64" "$SECRETS" "$KD" 'dGVzd!Nl' $VEC_ADDR
bad "seed missing padding" "dGVzdHNlZWQ" "$KD" dGVzdHNlZWQ $VEC_ADDR
bad "seed url-safe" "ab-_" "$KD" 'ab-_' $VEC_ADDR
bad "seed non-zero pad bits" "dGVzdHNlZWR=" "$KD" dGVzdHNlZWR= $VEC_ADDR
bad "seed with non-ASCII byte" "$SECRETS" "$KD" $'\xffYQ=' $VEC_ADDR
bad "empty seed" "$SECRETS" "$KD" '' $VEC_ADDR
bad "empty seed file" "$SECRETS" "$KD" --seed-file "$TMP/empty" $VEC_ADDR
bad "empty seed stdin" "$SECRETS" "$KD" - $VEC_ADDR </dev/null
bad "seed file missing" "$SECRETS" "$KD" --seed-file "$TMP/nonexistent" $VEC_ADDR
bad "seed file is a directory" "$SECRETS" "$KD" --seed-file "$TMP" $VEC_ADDR
printf 'not base64 at all %s\n' "$SEED" >"$TMP/badseed"
bad "seed file not base64" "$SECRETS" "$KD" --seed-file "$TMP/badseed" $VEC_ADDR
printf '%s\0%s\n' "$SEED" "$SEED" >"$TMP/nulseed"
bad "seed file with NUL" "$SECRETS" "$KD" --seed-file "$TMP/nulseed" $VEC_ADDR
head -c 9000 /dev/zero | tr '\0' A >"$TMP/bigseed"
bad "seed file too large" "AAAAAAAAAAAA" "$KD" --seed-file "$TMP/bigseed" $VEC_ADDR
head -c 6000 /dev/zero | tr '\0' A >"$TMP/longseed"     # decodes to 4500 bytes > 4096
bad "seed too long" "AAAAAAAAAAAA" "$KD" --seed-file "$TMP/longseed" $VEC_ADDR
bad "seed file and seed argument" "$SECRETS" "$KD" --seed-file "$TMP/seed" "$S" $VEC_ADDR
bad "seed file and - argument" "$SECRETS" "$KD" --seed-file "$TMP/seed" - $VEC_ADDR
bad "--add not base64" "$SECRETS" "$KD" --add 'dGVzdGFkZGl0aW9uYWw' "$S" $VEC_ADDR
bad "--add missing value" "$SECRETS" "$KD" "$S" $VEC_ADDR --add
bad "--add and --add-file" "$SECRETS" "$KD" --add "$A" --add-file "$TMP/add" "$S" $VEC_ADDR
bad "--add-file missing" "$SECRETS" "$KD" --add-file "$TMP/nonexistent" "$S" $VEC_ADDR
bad "--add-file not base64" "$SECRETS" "$KD" --add-file "$TMP/badseed" "$S" $VEC_ADDR
bad "both from stdin" "$SECRETS" "$KD" --seed-file - --add-file - $VEC_ADDR <"$TMP/seed"
bad "seed - and add-file -" "$SECRETS" "$KD" --add-file - - $VEC_ADDR <"$TMP/seed"
bad "unknown option" "$SECRETS" "$KD" --frobnicate "$S" $VEC_ADDR
bad "unknown option with value" "$SECRETS testadd" "$KD" --adx="$A" "$S" $VEC_ADDR
bad "ambiguous abbreviation" "$SECRETS" "$KD" --ad="$A" "$S" $VEC_ADDR
bad "unknown short option" "$SECRETS" "$KD" -x "$S" $VEC_ADDR
bad "peers option without peers" "$SECRETS" "$KD" --subnet 10.0.0.0/24 "$S" $VEC_ADDR
bad "--format without peers" "$SECRETS" "$KD" pubkey --format json "$S" $VEC_ADDR
for a in 192.168.5 192.168.5.256 192.168.5.2/33 192.168.5.2/ /24 01.2.3.4 "1.2.3.4 " fe80::1%eth0 fd00::/129 \
         localhost '' 10.1 1.2.3.4/24/1; do
    bad "bad address '$a'" "$SECRETS" "$KD" "$S" "$a"
    bad "pubkey bad address '$a'" "$SECRETS" "$KD" pubkey "$S" "$a"
done
# Swapped arguments: the message must not quote what might be the seed.
bad "swapped arguments" "$SECRETS" "$KD" $VEC_ADDR "$S"
bad "pubkey without address" "$SECRETS" "$KD" pubkey "$S"
bad "pubkey bad seed" "$SECRETS" "$KD" pubkey 'dGVz dHNl' $VEC_ADDR
bad "peers without --subnet" "$SECRETS" "$KD" peers "$S"
bad "peers without seed" "$SECRETS" "$KD" peers --subnet 10.0.0.0/24
bad "peers extra argument" "$SECRETS" "$KD" peers --subnet 10.0.0.0/24 "$S" 10.0.0.1
bad "peers seed-file and argument" "$SECRETS" "$KD" peers --subnet 10.0.0.0/24 --seed-file "$TMP/seed" "$S"
bad "peers subnet without prefix" "$SECRETS" "$KD" peers --subnet 10.0.0.0 "$S"
bad "peers subnet host bits" "$SECRETS" "$KD" peers --subnet 10.0.42.5/24 "$S"
bad "peers subnet garbage" "$SECRETS" "$KD" peers --subnet banana/8 "$S"
bad "peers subnet /33" "$SECRETS" "$KD" peers --subnet 10.0.0.0/33 "$S"
bad "peers bad format" "$SECRETS" "$KD" peers --subnet 10.0.0.0/24 --format yaml "$S"
bad "peers bad range" "$SECRETS" "$KD" peers --subnet 10.0.42.0/24 --range 30 "$S"
bad "peers reversed range" "$SECRETS" "$KD" peers --subnet 10.0.42.0/24 --range 30-21 "$S"
bad "peers range outside" "$SECRETS" "$KD" peers --subnet 10.0.42.0/24 --range 10.0.43.1-10.0.43.5 "$S"
bad "peers range offset outside" "$SECRETS" "$KD" peers --subnet 10.0.42.0/24 --range 250-256 "$S"
bad "peers range only network" "$SECRETS" "$KD" peers --subnet 10.0.42.0/24 --range 0-0 "$S"
bad "peers range wrong family" "$SECRETS" "$KD" peers --subnet fd00::/64 --range 10.0.0.1-10.0.0.2 "$S"
bad "peers skip-gateway /32" "$SECRETS" "$KD" peers --subnet 10.0.42.9/32 --skip-gateway "$S"
bad "peers too many" "$SECRETS" "$KD" peers --subnet 10.0.0.0/8 "$S"
bad "peers too many (range)" "$SECRETS" "$KD" peers --subnet 10.0.0.0/15 --range 1-65537 "$S"
bad "peers too many IPv6" "$SECRETS" "$KD" peers --subnet fd00::/64 "$S"
bad "peers bad seed" "$SECRETS" "$KD" peers --subnet 10.0.0.0/24 'dGVzdHNlZWQ'
bad "peers empty seed" "$SECRETS" "$KD" peers --subnet 10.0.0.0/24 ''

## --- secrets are blanked from the process's argument list ------------------------
# While keyderive blocks reading the additional from a fifo, its argv must
# already have lost the seed given on the command line.
mkfifo "$TMP/fifo"
"$KD" --add-file "$TMP/fifo" "$SEED" $VEC_ADDR >"$TMP/fifo-out" 2>&1 &
kpid=$!
exec 3>"$TMP/fifo"           # opens once keyderive has opened its end
sleep 0.2
checks=$((checks + 1))
[ -r "/proc/$kpid/cmdline" ] || flunk "argv blanking: keyderive exited early: $(cat "$TMP/fifo-out")"
tr '\0' ' ' <"/proc/$kpid/cmdline" | grep -qF "$SEED" && flunk "argv blanking: seed still visible in /proc/PID/cmdline"
printf '%s\n' "$ADD" >&3; exec 3>&-
wait $kpid
expect_eq "fifo additional" "$(cat "$TMP/fifo-out")" "$VEC_PRIV"

finish
