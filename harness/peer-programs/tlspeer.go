// A TLS peer over Go's standard crypto/tls, speaking the peer-program contract shared with
// tlspeer.py, tlspeer.js and TlsPeer.java (see harness/peers/go.json). Built offline at CMake
// build time (standard library only, no go.mod).
// Output lines: READY <port>, HANDSHAKE <version>, PEER <subject|anonymous>, COMPLETED ...,
// VERIFY <kind> <text>, ALERT received <name>, ERROR <phase> <kind> <library text>.
// `server --many` serves connection after connection concurrently until killed; each line about a
// connection is prefixed with "@<client port> ", and "@<client port> END" follows its close.
// `client --echo`: the server echoes (botan tls_server): read until the request's first line has
// come back, then close with close_notify (the server would never close first).
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

const request = "GET /tlsmatrix HTTP/1.0\r\n\r\n"
const echoed = "GET /tlsmatrix HTTP/1.0"

// Where a connection's lines go: the prefix is "" for a one-connection run and "@<port> " with
// --many, where lines of concurrent connections are written whole, one write each.
type out struct{ prefix string }

var stdoutMutex sync.Mutex

func (o out) say(format string, a ...any) {
	line := o.prefix + fmt.Sprintf(format, a...) + "\n"
	stdoutMutex.Lock()
	defer stdoutMutex.Unlock()
	_, _ = os.Stdout.WriteString(line)
}

func say(format string, a ...any) { out{}.say(format, a...) }

func versionName(v uint16) string {
	// tls.VersionName arrived in Go 1.21; Debian 12 has 1.19.
	return map[uint16]string{tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3"}[v]
}

func oneline(names []string) string { return strings.Join(names, "") }

func subject(state tls.ConnectionState) string {
	if len(state.PeerCertificates) == 0 {
		return "anonymous"
	}
	var parts []string
	for _, atv := range state.PeerCertificates[0].Subject.Names {
		short := map[string]string{"2.5.4.3": "CN", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C",
			"2.5.4.8": "ST", "2.5.4.7": "L"}[atv.Type.String()]
		if short == "" {
			short = atv.Type.String()
		}
		parts = append(parts, fmt.Sprintf("/%s=%v", short, atv.Value))
	}
	return oneline(parts)
}

// One line per fact the harness classifies; the library's text verbatim.
func report(phase string, err error) { out{}.report(phase, err) }

func (o out) report(phase string, err error) {
	say := o.say
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	switch {
	case errors.As(err, &invalid):
		say("VERIFY invalid-%d %s", invalid.Reason, invalid.Error())
	case errors.As(err, &unknown):
		say("VERIFY unknown-authority %s", unknown.Error())
	case errors.As(err, &hostname):
		say("VERIFY hostname %s", hostname.Error())
	}
	text := strings.Join(strings.Fields(err.Error()), " ")
	if i := strings.Index(text, "remote error: tls: "); i >= 0 {
		say("ALERT received %s", strings.ReplaceAll(text[i+len("remote error: tls: "):], " ", "_"))
	}
	say("ERROR %s %T %s", phase, err, text)
}

func readPEM(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		report("setup", err)
		os.Exit(1)
	}
	return data
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "version" {
		fmt.Println("Go", runtime.Version(), "crypto/tls")
		return
	}
	if len(os.Args) < 2 || (os.Args[1] != "server" && os.Args[1] != "client") {
		fmt.Fprintln(os.Stderr, "usage: tlspeer server|client --port P ...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	port := fs.Int("port", 0, "")
	serverName := fs.String("server-name", "localhost", "")
	certFile := fs.String("cert", "", "")
	keyFile := fs.String("key", "", "")
	chain := fs.String("chain", "", "")
	trust := fs.String("trust", "", "")
	clientAuth := fs.String("client-auth", "none", "")
	noVerify := fs.Bool("no-verify", false, "")
	noServerName := fs.Bool("no-server-name", false, "")
	version := fs.String("tls", "", "")
	keylog := fs.String("keylog", "", "")
	many := fs.Bool("many", false, "")
	echo := fs.Bool("echo", false, "")
	_ = fs.Parse(os.Args[2:])

	cfg := &tls.Config{ServerName: *serverName, InsecureSkipVerify: *noVerify}
	switch *version {
	case "1.2":
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	case "1.3":
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	}
	if *certFile != "" {
		certPEM := readPEM(*certFile)
		if *chain != "" {
			certPEM = append(append(certPEM, '\n'), readPEM(*chain)...)
		}
		pair, err := tls.X509KeyPair(certPEM, readPEM(*keyFile))
		if err != nil {
			report("setup", err)
			os.Exit(1)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if *trust != "" {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(readPEM(*trust))
		cfg.RootCAs, cfg.ClientCAs = pool, pool
	}
	if *keylog != "" {
		f, err := os.OpenFile(*keylog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err == nil {
			cfg.KeyLogWriter = f
		}
	}
	if *noServerName {
		cfg.ServerName = ""
		if !*noVerify {
			// crypto/tls verifies a server's chain only together with a name (or not at
			// all): without a name, skip its check and verify the chain alone.
			cfg.InsecureSkipVerify = true
			cfg.VerifyConnection = func(cs tls.ConnectionState) error { return verifyChain(cs, cfg.RootCAs) }
		}
	}
	if os.Args[1] == "server" {
		cfg.ClientAuth = map[string]tls.ClientAuthType{"none": tls.NoClientCert,
			"request": tls.VerifyClientCertIfGiven, "require": tls.RequireAndVerifyClientCert}[*clientAuth]
		if *many {
			os.Exit(serveMany(cfg, *port))
		}
		os.Exit(serve(cfg, *port))
	}
	os.Exit(connect(cfg, *port, *echo, *noVerify))
}

// verifyChain verifies the server's chain as crypto/tls would, without a name.
func verifyChain(cs tls.ConnectionState, roots *x509.CertPool) error {
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(opts)
	return err
}

func serve(cfg *tls.Config, port int) int {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		say("ERROR tcp bind %s", err)
		return 1
	}
	say("READY %d", port)
	raw, err := ln.Accept()
	ln.Close()
	if err != nil {
		report("tcp", err)
		return 1
	}
	code := handle(out{}, cfg, raw)
	raw.Close()
	return code
}

// serveMany accepts until killed; each connection gets exactly what serve gives its one.
func serveMany(cfg *tls.Config, port int) int {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		say("ERROR tcp bind %s", err)
		return 1
	}
	say("READY %d", port)
	for {
		raw, err := ln.Accept()
		if err != nil {
			report("tcp", err)
			return 1
		}
		go func(raw net.Conn) {
			o := out{fmt.Sprintf("@%d ", raw.RemoteAddr().(*net.TCPAddr).Port)}
			handle(o, cfg, raw)
			raw.Close()
			o.say("END")
		}(raw)
	}
}

// handle serves one accepted connection and closes its TLS layer (the caller closes raw).
func handle(o out, cfg *tls.Config, raw net.Conn) int {
	say, report := o.say, o.report
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	conn := tls.Server(raw, cfg)
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		report("handshake", err)
		return 1
	}
	state := conn.ConnectionState()
	say("HANDSHAKE %s", versionName(state.Version))
	who := subject(state)
	say("PEER %s", who)
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			report("read", err)
			return 1
		}
		if strings.TrimRight(line, "\r\n") == "" {
			break
		}
	}
	if _, err := fmt.Fprintf(conn, "HTTP/1.0 200 OK\r\n\r\ntlsmatrix-ok client=%s\n", who); err != nil {
		report("write", err)
		return 1
	}
	// CloseWrite sends close_notify (docs/peers.md#missing-close_notify).
	_ = conn.CloseWrite()
	say("COMPLETED client=%s", who)
	return 0
}

func connect(cfg *tls.Config, port int, echo bool, noVerify bool) int {
	raw, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	if err != nil {
		report("tcp", err)
		return 1
	}
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	conn := tls.Client(raw, cfg)
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		report("handshake", err)
		return 1
	}
	state := conn.ConnectionState()
	say("HANDSHAKE %s", versionName(state.Version))
	if noVerify {
		say("PEER unverified")
	} else {
		say("PEER %s", subject(state))
	}
	// The request goes after the handshake and the response is read to its end: a TLS 1.3 server
	// rejects a client certificate after the client's handshake has finished (docs/peers.md#tls13-client-cert-rejection-after-handshake).
	if _, err := io.WriteString(conn, request); err != nil {
		report("write", err)
		return 1
	}
	if echo {
		return readEcho(conn)
	}
	response, err := io.ReadAll(conn)
	if err != nil {
		report("read", err)
		return 1
	}
	say("COMPLETED")
	os.Stdout.Write(response)
	if strings.Contains(string(response), "tlsmatrix-ok") || strings.HasPrefix(string(response), "HTTP/1.") {
		return 0
	}
	return 1
}

// Reads until the request's first line has come back from an echo server, then sends close_notify.
func readEcho(conn *tls.Conn) int {
	var response []byte
	buf := make([]byte, 4096)
	for !strings.Contains(string(response), echoed) {
		n, err := conn.Read(buf)
		response = append(response, buf[:n]...)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			report("read", err)
			return 1
		}
	}
	// CloseWrite sends close_notify (docs/peers.md#missing-close_notify).
	_ = conn.CloseWrite()
	say("COMPLETED")
	os.Stdout.Write(response)
	if strings.Contains(string(response), echoed) {
		return 0
	}
	return 1
}
