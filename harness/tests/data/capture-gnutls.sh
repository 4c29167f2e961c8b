#!/usr/bin/env bash
# Regenerates the captured gnutls-serv/gnutls-cli outputs the GnuTLS classifier tests are fed with,
# with the flags harness/peers/gnutls.json gives them.
# Usage: capture-gnutls.sh PKI_DIR [TLSMATRIX_BINARY]   (a PKI from `tlsmatrix pki generate`)
# With the binary, also the catalog's defects (defect-scenarios/: every defect entity, in both roles)
# against our endpoints, through capture-from-run.sh with the flags harness/peers/gnutls.json gives.
# Each case writes <name>.<tls>.{client,server}.{out,err,exit}. gnutls-serv listens on every address
# and has no loopback-only option (docs/peers.md#servers-that-listen-on-every-address): it runs only for its case, on a free port.
set -euo pipefail
pki=$(cd "$1" && pwd)
tlsmatrix=${2:+$(realpath "$2")} # before the cd below
here=$(cd "$(dirname "$0")/gnutls" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$pki"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits (up to 5 s) until one of the files matches the extended regex.
await() { # regex file...
  local regex=$1; shift
  for _ in $(seq 500); do
    grep -qE -- "$regex" "$@" 2>/dev/null && return 0
    sleep 0.01
  done
  echo "capture-gnutls: gave up waiting for /$regex/ in $*" >&2
  return 1
}

capture() { # name tls server-cert client-cert(-|name) client_auth(none|request|require) [crl] [insecure]
  local name=$1 tls=$2 scert=$3 ccert=$4 auth=$5 extra=${6:-}
  local port; port=$(free_port)
  local base="$here/$name.$tls"
  local prio="NORMAL:-VERS-ALL:+VERS-TLS$tls"
  local sargs=(--http --port "$port" --priority "$prio" --x509certfile "$scert.chain.pem"
               --x509keyfile "$scert.key.pem" --debug 5)
  case $auth in
    none) sargs+=(--disable-client-cert) ;;
    request) sargs+=(--verify-client-cert --x509cafile root.crt.pem) ;;
    require) sargs+=(--require-client-cert --verify-client-cert --x509cafile root.crt.pem) ;;
  esac
  [[ $extra == crl ]] && sargs+=(--x509crlfile crls.pem)
  stdbuf -oL gnutls-serv "${sargs[@]}" > "$base.server.out" 2> "$base.server.err" &
  local spid=$!
  await "IPv4 0.0.0.0 port $port\.\.\.done" "$base.server.err"
  local cargs=(--port "$port" --priority "$prio" --sni-hostname localhost --x509cafile root.crt.pem
               --debug 5 127.0.0.1)
  if [[ $extra == insecure ]]; then cargs+=(--insecure); else cargs+=(--verify-hostname localhost); fi
  [[ $ccert != - ]] && cargs+=(--x509certfile "$ccert.chain.pem" --x509keyfile "$ccert.key.pem")
  set +e
  printf 'GET /tlsmatrix HTTP/1.0\r\nHost: localhost\r\n\r\n' |
    timeout 10 gnutls-cli "${cargs[@]}" > "$base.client.out" 2> "$base.client.err"
  echo $? > "$base.client.exit"
  # The server never exits by itself: stop it once it has decided the connection (gnutls.json "done").
  await '^Error |^- Channel bindings' "$base.server.out" "$base.server.err"
  kill -TERM "$spid"; wait "$spid"; echo $? > "$base.server.exit"
  set -e
}

for tls in 1.2 1.3; do
  capture one-way $tls server - none
  capture mutual $tls server client require
  capture request-no-client-cert $tls server - request
  capture no-verify-control $tls server_expired - none insecure
  capture server-expired $tls server_expired - none
  capture server-not-yet-valid $tls server_not_yet_valid - none
  capture server-untrusted-root $tls server_untrusted_root - none
  capture server-hostname-mismatch $tls server_hostname_mismatch - none
  capture server-wrong-eku $tls server_wrong_eku - none
  capture server-self-signed $tls server_self_signed - none
  capture mtls-no-client-cert $tls server - require
  capture client-expired $tls server client_expired require
  capture client-untrusted-root $tls server client_untrusted_root require
  capture client-wrong-eku $tls server client_wrong_eku require
  capture client-revoked $tls server client_revoked require crl
done
echo "captured into $here"
if [[ -n $tlsmatrix ]]; then
  "$(dirname "$here")/capture-from-run.sh" --scenarios "$(dirname "$here")/defect-scenarios" gnutls "$tlsmatrix" "$pki"
  # a mismatched key that only java presents (ours refuses it): gnutls verifying it
  "$(dirname "$here")/capture-from-run.sh" --scenarios "$(dirname "$here")/defect-scenarios" --filter '*key-mismatch*' --against java gnutls "$tlsmatrix" "$pki"
fi
