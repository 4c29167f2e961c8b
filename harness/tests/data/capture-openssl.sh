#!/usr/bin/env bash
# Regenerates the captured openssl s_server/s_client outputs the classifier tests are fed with.
# Usage: capture-openssl.sh PKI_DIR [TLSMATRIX_BINARY]   (a PKI from `tlsmatrix pki generate`)
# With the binary, also the catalog's defects (defect-scenarios/: every defect entity, in both roles)
# against our endpoints, through capture-from-run.sh with the flags harness/peers/openssl.json gives.
# Each case writes <name>.<tls>.{client,server}.{out,err,exit}. Servers bind 127.0.0.1 only.
set -euo pipefail
pki=$(cd "$1" && pwd)
tlsmatrix=${2:+$(realpath "$2")} # before the cd below
here=$(cd "$(dirname "$0")/openssl" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$pki"
inter() { sed -n '/END CERT/,$p' "$1.chain.pem" | tail -n +2; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

capture() { # name tls server-cert client-cert(-|name) client_auth(none|require) extra-server-args...
  local name=$1 tls=$2 scert=$3 ccert=$4 auth=$5; shift 5
  local port; port=$(free_port)
  inter "$scert" > "$tmp/s.chain"
  local sargs=(s_server -accept "127.0.0.1:$port" -naccept 1 -www "-tls${tls/./_}" -cert "$scert.crt.pem"
               -key "$scert.key.pem")
  [[ -s $tmp/s.chain ]] && sargs+=(-cert_chain "$tmp/s.chain")
  [[ $auth == require ]] && sargs+=(-Verify 8 -verify_return_error -CAfile root.crt.pem)
  sargs+=("$@")
  local base="$here/$name.$tls"
  # Ready when s_server prints ACCEPT: read its stdout line by line (read -t is a deadline, not a sleep).
  coproc SRV { exec openssl "${sargs[@]}" 2> "$base.server.err"; }
  local spid=$SRV_PID line srvout
  exec {srvout}<&"${SRV[0]}" # our own copy: bash closes SRV's descriptors when the server exits
  : > "$base.server.out"
  while IFS= read -r -t 5 line <&"$srvout"; do
    printf '%s\n' "$line" >> "$base.server.out"
    [[ $line == ACCEPT ]] && break
  done
  cat <&"$srvout" >> "$base.server.out" &
  local catpid=$!
  local cargs=(s_client -connect "127.0.0.1:$port" -servername localhost -ign_eof -msg "-tls${tls/./_}"
               -verify_return_error -CAfile root.crt.pem -verify_hostname localhost)
  if [[ $ccert != - ]]; then
    inter "$ccert" > "$tmp/c.chain"
    cargs+=(-cert "$ccert.crt.pem" -key "$ccert.key.pem")
    [[ -s $tmp/c.chain ]] && cargs+=(-cert_chain "$tmp/c.chain")
  fi
  set +e
  printf 'GET /tlsmatrix HTTP/1.0\r\nHost: localhost\r\n\r\n' | timeout 10 openssl "${cargs[@]}" > "$base.client.out" 2> "$base.client.err"
  echo $? > "$base.client.exit"
  wait "$spid"; echo $? > "$base.server.exit"
  wait "$catpid"
  exec {srvout}<&-
  set -e
}

cat "$pki/root.crt.pem" "$pki/crls.pem" > "$tmp/trust+crls.pem"
for tls in 1.2 1.3; do
  capture one-way $tls server - none
  capture mutual $tls server client require
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
  capture client-revoked $tls server client_revoked require -crl_check -CAfile "$tmp/trust+crls.pem"
done
echo "captured into $here"
if [[ -n $tlsmatrix ]]; then
  "$(dirname "$here")/capture-from-run.sh" --scenarios "$(dirname "$here")/defect-scenarios" openssl "$tlsmatrix" "$pki"
fi
