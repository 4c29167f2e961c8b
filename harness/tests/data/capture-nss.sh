#!/usr/bin/env bash
# Regenerates the captured selfserv/tstclnt outputs the NSS classifier tests are fed with, with the
# flags and certificate databases harness/peers/nss.json gives them.
# Usage: capture-nss.sh PKI_DIR [TLSMATRIX_BINARY]   (a PKI from `tlsmatrix pki generate`)
# With the binary, also the catalog's defects (defect-scenarios/: every defect entity, in both roles)
# against our endpoints, through capture-from-run.sh with the flags harness/peers/nss.json gives.
# Each case writes <name>.<tls>.{client,server}.{out,err,exit}. selfserv listens on every address
# and has no loopback-only option (docs/peers.md#servers-that-listen-on-every-address): it runs only for its case, on a free port.
set -euo pipefail
pki=$(cd "$1" && pwd)
tlsmatrix=${2:+$(realpath "$2")} # before the cd below
here=$(cd "$(dirname "$0")/nss" && pwd)
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
  echo "capture-nss: gave up waiting for /$regex/ in $*" >&2
  return 1
}

# One database per identity (docs/peers.md#nss-one-identity-per-database), as nss.json's prepare steps build it.
db() { # identity(-|name) trust-flags(-|flags) [crl] -> prints the directory
  local id=$1 flags=$2 crl=${3:-}
  local d="$tmp/db-$id-${flags//,/}-$crl"
  if [[ ! -d $d ]]; then {
    mkdir -p "$d"
    certutil -N -d "sql:$d" --empty-password
    if [[ $id != - ]]; then
      openssl pkcs12 -export -in "$id.chain.pem" -inkey "$id.key.pem" -name identity \
        -passout pass:tlsmatrix -out "$d/identity.p12"
      pk12util -i "$d/identity.p12" -d "sql:$d" -W tlsmatrix > /dev/null
    fi
    [[ $flags != - ]] && certutil -A -d "sql:$d" -n trust-0 -t "$flags" -i root.crt.pem
    if [[ $crl == crl ]]; then
      csplit -s -z -f "$d/crl-" -b '%02d.pem' crls.pem '/-----BEGIN X509 CRL-----/' '{*}'
      for f in "$d"/crl-*.pem; do
        openssl crl -in "$f" -outform DER -out "$f.der"
        crlutil -I -B -t 1 -d "sql:$d" -i "$f.der"
      done
    fi
  } >&2; fi
  echo "$d"
}

capture() { # name tls server-cert client-cert(-|name) client_auth(none|request|require) [crl|insecure|s_client]
  local name=$1 tls=$2 scert=$3 ccert=$4 auth=$5 extra=${6:-}
  local port; port=$(free_port)
  local base="$here/$name.$tls"
  local sflags=- sargs=()
  case $auth in
    request) sflags=T,, sargs=(-r) ;;
    require) sflags=T,, sargs=(-r -r) ;;
  esac
  local sdb; sdb=$(db "$scert" "$sflags" "$([[ $extra == crl ]] && echo crl || true)")
  local cdb; cdb=$(db "$ccert" C,,)
  printf 'GET /tlsmatrix HTTP/1.0\r\nHost: localhost\r\n\r\n' > "$tmp/request.http"
  stdbuf -oL selfserv -p "$port" -d "sql:$sdb" -n identity -v -V "tls$tls:tls$tls" "${sargs[@]}" \
    > "$base.server.out" 2> "$base.server.err" &
  local spid=$!
  await 'About to call accept\.' "$base.server.err"
  local cargs=(-4 -h 127.0.0.1 -p "$port" -a localhost -d "sql:$cdb" -A "$tmp/request.http" -O
               -V "tls$tls:tls$tls")
  [[ $extra == insecure ]] && cargs+=(-o)
  [[ $ccert != - ]] && cargs+=(-n identity)
  set +e
  if [[ $extra == s_client ]]; then
    # tstclnt withholds a certificate NSS finds unfit for client authentication: to see selfserv
    # judge one, openssl s_client presents it.
    printf 'GET /tlsmatrix HTTP/1.0\r\nHost: localhost\r\n\r\n' |
      timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost -ign_eof \
        "-tls${tls/./_}" -CAfile root.crt.pem -cert "$ccert.crt.pem" -key "$ccert.key.pem" \
        -cert_chain "$ccert.chain.pem" > "$base.client.out" 2> "$base.client.err"
  else
    timeout 10 tstclnt "${cargs[@]}" < /dev/null > "$base.client.out" 2> "$base.client.err"
  fi
  echo $? > "$base.client.exit"
  # The server never exits by itself: stop it once it has decided the connection (nss.json "done").
  await 'returned error -[0-9]+:|^\s+Compression: ' "$base.server.out" "$base.server.err"
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
  capture client-wrong-eku-from-openssl $tls server client_wrong_eku require s_client
  capture client-revoked $tls server client_revoked require crl
done
echo "captured into $here"
if [[ -n $tlsmatrix ]]; then
  "$(dirname "$here")/capture-from-run.sh" --scenarios "$(dirname "$here")/defect-scenarios" nss "$tlsmatrix" "$pki"
  # a mismatched key that only java presents (ours refuses it): nss verifying it
  "$(dirname "$here")/capture-from-run.sh" --scenarios "$(dirname "$here")/defect-scenarios" --filter '*key-mismatch*' --against java nss "$tlsmatrix" "$pki"
fi
