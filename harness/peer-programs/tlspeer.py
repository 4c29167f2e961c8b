#!/usr/bin/python3
# A TLS peer over Python's standard `ssl` module, speaking the peer-program contract shared with
# tlspeer.js, tlspeer.go and TlsPeer.java (see harness/peers/python.json):
#   server --port P --cert F --key F [--chain F] [--trust F] [--crls F] [--client-auth none|request|require]
#          [--tls 1.2|1.3] [--keylog F]
#   client --port P (--server-name S | --no-server-name) [--trust F] [--cert F --key F [--chain F]] [--no-verify] [--tls V]
#          [--keylog F] [--echo]
# --permissive (either role): this side presents the certificate under test; OpenSSL security
# level 0, so that its own policy does not refuse it.
# Output lines: READY <port>, HANDSHAKE <version>, PEER <subject|anonymous>, COMPLETED ...,
# VERIFY <openssl code> <text>, ALERT received <name>, ERROR <phase> <kind> <library text>.
# `server --many` serves connection after connection concurrently (a thread each) until killed;
# each line about a connection is prefixed with "@<client port> ", and "@<client port> END"
# follows its close.
# `client --echo`: the server echoes (botan tls_server): read until the request's first line has
# come back, then close with close_notify (the server would never close first).
import argparse
import os
import socket
import ssl
import sys
import threading

REQUEST = b"GET /tlsmatrix HTTP/1.0\r\n\r\n"
ECHOED = REQUEST.split(b"\r\n")[0]
SHORT = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU",
         "countryName": "C", "stateOrProvinceName": "ST", "localityName": "L"}


_stdout_lock = threading.Lock()


def say(*parts, prefix=""):
    # One whole line per write: lines of concurrent connections never interleave.
    line = prefix + " ".join(str(p) for p in parts) + "\n"
    with _stdout_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def subject(sock):
    cert = sock.getpeercert()
    if not cert:
        return "anonymous"
    return "".join(f"/{SHORT.get(k, k)}={v}" for rdn in cert.get("subject", ()) for k, v in rdn)


def report(phase, err, prefix=""):
    """One line per fact the harness classifies; the library's text verbatim."""
    if isinstance(err, ssl.SSLCertVerificationError):
        say("VERIFY", err.verify_code, err.verify_message, prefix=prefix)
    reason = getattr(err, "reason", None) or ""
    for alert in ("SSLV3_ALERT_", "TLSV1_ALERT_", "TLSV13_ALERT_"):
        if reason.startswith(alert):
            say("ALERT received", reason[len(alert):].lower(), prefix=prefix)
    text = " ".join(str(err).split())
    say("ERROR", phase, type(err).__name__, text, prefix=prefix)


def context(args, server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    if args.tls:
        version = ssl.TLSVersion.TLSv1_2 if args.tls == "1.2" else ssl.TLSVersion.TLSv1_3
        ctx.minimum_version = ctx.maximum_version = version
    if args.permissive:
        # Security level 0 before the certificate is loaded: OpenSSL's level 2 (Debian's default)
        # refuses to use a SHA-1/MD5-signed or 1024-bit certificate of our own.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if args.cert:
        if args.chain:
            # load_cert_chain takes one file: the leaf, then the intermediates it should send.
            import tempfile  # only here: it costs start-up time

            with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
                for path in (args.cert, args.chain):
                    with open(path) as part:
                        f.write(part.read().rstrip("\n") + "\n")
            try:
                ctx.load_cert_chain(f.name, args.key)
            finally:
                os.unlink(f.name)
        else:
            ctx.load_cert_chain(args.cert, args.key)
    if args.trust:
        ctx.load_verify_locations(cafile=args.trust)
    if args.crls:
        ctx.load_verify_locations(cafile=args.crls)
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    if args.keylog:
        ctx.keylog_filename = args.keylog
    if server:
        ctx.verify_mode = {"none": ssl.CERT_NONE, "request": ssl.CERT_OPTIONAL,
                           "require": ssl.CERT_REQUIRED}[args.client_auth]
    elif args.no_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif args.no_server_name:
        ctx.check_hostname = False  # the chain is still verified (verify_mode stays CERT_REQUIRED)
    return ctx


def close(conn):
    # unwrap() sends close_notify: without it OpenSSL peers report an unexpected EOF (docs/peers.md#missing-close_notify).
    try:
        conn.unwrap()
    except (OSError, ValueError):
        pass
    conn.close()


def serve(args):
    ctx = context(args, True)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", args.port))
    except OSError as e:
        say("ERROR tcp bind", e)
        return 1
    listener.listen(64 if args.many else 1)
    say("READY", args.port)
    if args.many:
        while True:
            raw, (_, port) = listener.accept()
            threading.Thread(target=handle_many, args=(ctx, raw, f"@{port} "), daemon=True).start()
    raw, _ = listener.accept()
    listener.close()
    return handle(ctx, raw, "")


def handle_many(ctx, raw, prefix):
    try:
        handle(ctx, raw, prefix)
    except Exception as e:  # noqa: BLE001 - whatever happened, the connection's END must come
        report("internal", e, prefix)
    finally:
        raw.close()
        say("END", prefix=prefix)


def handle(ctx, raw, prefix):
    """Serves one accepted connection and closes it; 0 when it completed."""
    raw.settimeout(10)
    try:
        conn = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as e:
        report("handshake", e, prefix)
        raw.close()
        return 1
    say("HANDSHAKE", conn.version(), prefix=prefix)
    who = subject(conn)
    say("PEER", who, prefix=prefix)
    try:
        data = b""
        while b"\r\n\r\n" not in data and b"\n\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                # No request, no resource: the client closed (or refused) after the handshake.
                say("ERROR read EOF the client closed before its request was complete", prefix=prefix)
                conn.close()
                return 1
            data += chunk
        conn.sendall(f"HTTP/1.0 200 OK\r\n\r\ntlsmatrix-ok client={who}\n".encode())
    except (ssl.SSLError, OSError) as e:
        report("read", e, prefix)
        conn.close()
        return 1
    close(conn)
    say(f"COMPLETED client={who}", prefix=prefix)
    return 0


def connect(args):
    ctx = context(args, False)
    try:
        raw = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    except OSError as e:
        say("ERROR tcp connect", e)
        return 1
    try:
        conn = ctx.wrap_socket(raw, server_hostname=None if args.no_server_name else args.server_name)
    except (ssl.SSLError, OSError) as e:
        report("handshake", e)
        raw.close()
        return 1
    say("HANDSHAKE", conn.version())
    say("PEER", subject(conn) if not args.no_verify else "unverified")
    # The request goes after the handshake and the response is read to its end: a TLS 1.3 server
    # rejects a client certificate after the client's handshake has finished (docs/peers.md#tls13-client-cert-rejection-after-handshake).
    try:
        conn.sendall(REQUEST)
        response = b""
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            response += chunk
            if args.echo and ECHOED in response:
                break
    except (ssl.SSLError, OSError) as e:
        report("read", e)
        conn.close()
        return 1
    close(conn)
    say("COMPLETED")
    sys.stdout.write(response.decode(errors="replace"))
    sys.stdout.flush()
    ok = b"tlsmatrix-ok" in response or response.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))
    if args.echo:
        ok = ECHOED in response
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--server-name", default="localhost")
    p.add_argument("--no-server-name", action="store_true", help="no SNI, no name check")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--chain")
    p.add_argument("--trust")
    p.add_argument("--crls")
    p.add_argument("--client-auth", choices=["none", "request", "require"], default="none")
    p.add_argument("--no-verify", action="store_true")
    p.add_argument("--tls", choices=["1.2", "1.3"])
    p.add_argument("--keylog")
    p.add_argument("--many", action="store_true")
    p.add_argument("--echo", action="store_true")
    p.add_argument("--permissive", action="store_true")
    args = p.parse_args()
    try:
        return serve(args) if args.role == "server" else connect(args)
    except (ssl.SSLError, OSError) as e:
        report("setup", e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
