#!/usr/bin/env bash
# Captures what plain `openssl s_server` / `openssl s_client` decide for the defect scenarios of the
# default suite (the corpus beyond scenarios 01-22), as the independent reference that
# harness/tests/openssl_reference_integration_test.cpp compares a run's openssl cells with.
# Usage: capture-openssl-corpus.sh PKI_DIR   (a PKI from `tlsmatrix pki generate`)
# Nothing of tlsmatrix runs here: for each case and TLS version it writes <id>.<tls>.{client,server}.
# {out,err,exit} and <id>.<tls>.summary, whose lines come from OpenSSL's own words:
#   client_verify=N   s_client's "Verify return code: N" (or its "verify error:num=N")
#   server_verify=N   s_server's "verify error:num=N" (0: none printed)
#   alert=FROM NAME   the first fatal alert in s_client's -msg trace: ">>>" sent by the client,
#                     "<<<" sent by the server ("none" when there was none)
#   served=0|1        s_client received the HTTP 200 of s_server -www
# Each side runs at OpenSSL's defaults; the presenting side at security level 0, as the harness runs
# the side that is not expected to reject (DESIGN.md, "Test the verifier, not the presenter").
set -euo pipefail
pki=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")/openssl-corpus" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$pki"
inter() { sed -n '/END CERT/,$p' "$1.chain.pem" | tail -n +2; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# capture id tls server-cert client-cert(-|name) client_auth(none|request|require) who-verifies(client|server)
#         [server-trust] [client-trust] [crl:server|client|-] [chain:full|reversed|extra]
capture() {
  local id=$1 tls=$2 scert=$3 ccert=$4 auth=$5 by=$6 strust=${7:-root} ctrust=${8:-root} crl=${9:--} shape=${10:-full}
  local port; port=$(free_port)
  inter "$scert" > "$tmp/s.chain"
  case $shape in
    reversed) awk '/BEGIN CERT/{n++} {print > ("'"$tmp"'/part" n)}' "$tmp/s.chain"
              cat $(ls "$tmp"/part* | sort -r) > "$tmp/s.chain"; rm -f "$tmp"/part* ;;
    extra) cat untrusted_root.crt.pem >> "$tmp/s.chain" ;;
  esac
  cp "$strust.crt.pem" "$tmp/strust.pem"; cp "$ctrust.crt.pem" "$tmp/ctrust.pem"
  local sargs=(s_server -accept "127.0.0.1:$port" -naccept 1 -www "-tls${tls/./_}" -cert "$scert.crt.pem"
               -key "$scert.key.pem" -no-CAfile -no-CApath -no-CAstore)
  [[ -s $tmp/s.chain ]] && sargs+=(-cert_chain "$tmp/s.chain")
  if [[ $crl == server ]]; then cat crls.pem >> "$tmp/strust.pem"; sargs+=(-crl_check); fi
  [[ $auth == request ]] && sargs+=(-verify 8 -verify_return_error -CAfile "$tmp/strust.pem")
  [[ $auth == require ]] && sargs+=(-Verify 8 -verify_return_error -CAfile "$tmp/strust.pem")
  [[ $by == client ]] && sargs+=(-cipher 'DEFAULT:@SECLEVEL=0')
  local base="$here/$id.$tls"
  coproc SRV { exec openssl "${sargs[@]}" 2> "$base.server.err"; }
  local spid=$SRV_PID line srvout
  exec {srvout}<&"${SRV[0]}"
  : > "$base.server.out"
  while IFS= read -r -t 5 line <&"$srvout"; do
    printf '%s\n' "$line" >> "$base.server.out"
    [[ $line == ACCEPT ]] && break
  done
  cat <&"$srvout" >> "$base.server.out" &
  local catpid=$!
  local cargs=(s_client -connect "127.0.0.1:$port" -servername localhost -ign_eof -msg "-tls${tls/./_}"
               -no-CApath -no-CAstore -verify_return_error -CAfile "$tmp/ctrust.pem" -verify_hostname localhost)
  if [[ $crl == client ]]; then cat crls.pem >> "$tmp/ctrust.pem"; cargs+=(-crl_check); fi
  if [[ $ccert != - ]]; then
    inter "$ccert" > "$tmp/c.chain"
    cargs+=(-cert "$ccert.crt.pem" -key "$ccert.key.pem")
    [[ -s $tmp/c.chain ]] && cargs+=(-cert_chain "$tmp/c.chain")
  fi
  [[ $by == server ]] && cargs+=(-cipher 'DEFAULT:@SECLEVEL=0')
  set +e
  printf 'GET /tlsmatrix HTTP/1.0\r\nHost: localhost\r\n\r\n' | timeout 10 openssl "${cargs[@]}" > "$base.client.out" 2> "$base.client.err"
  echo $? > "$base.client.exit"
  # s_server -naccept 1 counts only a finished handshake: after a failed one it waits for the next.
  timeout 1 tail --pid="$spid" -f /dev/null; kill "$spid" 2>/dev/null; wait "$spid"; echo $? > "$base.server.exit"
  wait "$catpid"
  exec {srvout}<&-
  set -e
  summarise "$base"
}

summarise() {
  local base=$1 cv sv alert served=0
  # s_client prints the error it stopped on to stderr ("verify error:num=N"); the "Verify return
  # code" of its stdout summary says 0 after a failed handshake.
  cv=$(grep -ohE 'verify error:num=[0-9]+' "$base.client.err" | head -1 | grep -oE '[0-9]+$' || true)
  [[ -z $cv ]] && cv=$(grep -ohE 'Verify return code: [0-9]+' "$base.client.out" | head -1 | grep -oE '[0-9]+$' || true)
  sv=$(grep -ohE 'verify error:num=[0-9]+' "$base.server.err" "$base.server.out" | head -1 | grep -oE '[0-9]+$' || true)
  alert=$(grep -E '^(>>>|<<<) .*Alert .*fatal' "$base.client.out" | head -1 |
          sed -E 's/^>>> .*fatal ([a-z_]+).*/client \1/; s/^<<< .*fatal ([a-z_]+).*/server \1/' || true)
  grep -q '^HTTP/1\.[01] 200' "$base.client.out" && served=1
  printf 'client_verify=%s\nserver_verify=%s\nalert=%s\nserved=%s\n' "${cv:-none}" "${sv:-0}" "${alert:-none}" "$served" > "$base.summary"
}

for tls in 1.2 1.3; do
  for d in bad_signature issuer_not_ca issuer_no_basic_constraints issuer_no_keycertsign pathlen_exceeded \
           v1_issuer unknown_critical_extension expired_intermediate leaf_is_ca \
           weak_key_rsa1024 sha1_signature md5_signature; do
    capture "server-${d//_/-}" $tls "server_$d" - none client
    capture "client-${d//_/-}" $tls server "client_$d" require server
  done
  capture server-cn-only-no-san $tls server_cn_only_no_san - none client
  capture server-name-constraints $tls server_name_constraints_violation - none client
  capture client-name-constraints $tls server client_name_constraints_violation require server
  capture server-expired-root $tls server_expired_root - none client root root_expired
  capture client-expired-root $tls server client_expired_root require server root_expired
  capture server-expired-crl $tls server_expired_crl - none client root root client
  capture client-expired-crl $tls server client_expired_crl require server root root server
  capture server-revoked $tls server_revoked - none client root root client
  capture client-not-yet-valid $tls server client_not_yet_valid require server
  capture client-self-signed $tls server client_self_signed require server
  capture request-client-expired $tls server client_expired request server
  capture request-client-untrusted-root $tls server client_untrusted_root request server
  capture server-chain-reversed $tls server_two_intermediates - none client root root - reversed
  capture server-chain-extra-cert $tls server - none client root root - extra
  capture one-way-rsa $tls server_rsa - none client
  capture one-way-ed25519 $tls server_ed25519 - none client
  capture mutual-rsa $tls server client_rsa require server
  capture mutual-ed25519 $tls server client_ed25519 require server
done
echo "captured into $here"
