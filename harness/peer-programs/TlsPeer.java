// A TLS peer over Java's standard JSSE (javax.net.ssl), speaking the peer-program contract shared
// with tlspeer.py, tlspeer.js and tlspeer.go (see harness/peers/java.json). Compiled once by
// harness/peer-programs/CMakeLists.txt with javac into the build tree; run by its tlspeer-java
// launcher (JVM flags that cut start time).
//   server --port P --cert F --key F [--chain F] [--trust F] [--crls F]
//          [--client-auth none|request|require] [--tls 1.2|1.3] [--keylog F] [--many] [--permissive]
//   client --port P (--server-name S | --no-server-name) [--trust F] [--cert F --key F [--chain F]] [--no-verify]
//          [--tls V] [--keylog F] [--echo] [--permissive]
// --permissive: this side presents the certificate under test; relax its own algorithm policy.
//   version
//   train KEYSTORE.p12   (build time only: handshakes with itself so that the class-data sharing
//                         archive the launcher uses holds the classes a real case loads)
// Output lines: READY <port>, HANDSHAKE <version>, PEER <subject|anonymous|unverified>,
// COMPLETED ..., VERIFY <kind> <text>, ALERT received <name>, ERROR <phase> <kind> <library text>.
// With --many the server serves connections concurrently until killed, each of its lines prefixed
// "@<client port> ", ending with "@<client port> END".
// client --echo: the server echoes (botan tls_server): read until the request's first line has
// come back, then close with close_notify (the server would never close first).
// Certificates and keys come from the PKI's PEM files and go into an in-memory PKCS#12 keystore
// (the files the harness hands every peer, so chain shapes and trust sets are the same for all).
// JSSE has no key log (no SSLKEYLOGFILE, no API): --keylog is accepted and ignored.

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.X509CRL;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.CertPathTrustManagerParameters;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.security.auth.x500.X500Principal;

public final class TlsPeer {
  private static final byte[] REQUEST =
      "GET /tlsmatrix HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final String ECHOED = "GET /tlsmatrix HTTP/1.0";
  private static final int TIMEOUT_MS = 10_000;
  private static final PrintStream OUT = new PrintStream(System.out, false, StandardCharsets.UTF_8);

  private final Map<String, String> opts = new HashMap<>();
  private boolean noVerify;
  private boolean noServerName;
  private boolean many;
  private boolean echo;
  private boolean permissive;

  /** The lines of one connection: whole lines, one flush each, prefixed in --many mode. */
  private static final class Say {
    private final String prefix;

    Say(String prefix) {
      this.prefix = prefix;
    }

    void line(String text) {
      // Whole lines under one lock: concurrent connections never interleave mid-line.
      synchronized (OUT) {
        OUT.print(prefix + text + "\n");
        OUT.flush();
      }
    }
  }

  public static void main(String[] args) {
    try {
      System.exit(new TlsPeer().run(args));
    } catch (IllegalArgumentException e) {
      System.err.println("usage error: " + e.getMessage());
      System.exit(2);
    }
  }

  /**
   * --permissive: this side presents the certificate another side is tested on. Drops the digest
   * (MD2, MD5, SHA1) and key-size entries of JSSE's disabled-algorithm properties, which otherwise
   * make a server with a SHA-1-signed certificate find "no cipher suites in common", so that this
   * side's own policy does not decide the case. Set before any JSSE class reads them.
   */
  private static void relaxAlgorithmConstraints() {
    for (String property : List.of("jdk.certpath.disabledAlgorithms", "jdk.tls.disabledAlgorithms")) {
      final String value = Security.getProperty(property);
      if (value == null) continue;
      final List<String> kept = new ArrayList<>();
      for (String entry : value.split(",")) {
        final String e = entry.trim();
        if (e.startsWith("MD") || e.startsWith("SHA1") || e.contains("keySize")) continue;
        kept.add(e);
      }
      Security.setProperty(property, String.join(", ", kept));
    }
  }

  private int run(String[] args) {
    if (args.length == 0) throw new IllegalArgumentException("expected server, client or version");
    final String role = args[0];
    if (role.equals("version")) {
      OUT.println("Java JSSE " + System.getProperty("java.runtime.version") + " ("
          + System.getProperty("java.vm.name") + ")");
      OUT.flush();
      return 0;
    }
    if (role.equals("train")) {
      if (args.length != 2) throw new IllegalArgumentException("train expects a PKCS#12 file");
      try {
        return train(args[1]);
      } catch (Exception e) {
        report(new Say("train "), "setup", e);
        return 1;
      }
    }
    for (int i = 1; i < args.length; ++i) {
      final String a = args[i];
      switch (a) {
        case "--no-verify" -> noVerify = true;
        case "--no-server-name" -> noServerName = true;
        case "--many" -> many = true;
        case "--echo" -> echo = true;
        case "--permissive" -> permissive = true;
        case "--port", "--server-name", "--cert", "--key", "--chain", "--trust", "--crls",
            "--client-auth", "--tls", "--keylog" -> {
          if (i + 1 >= args.length) throw new IllegalArgumentException(a + " needs a value");
          opts.put(a.substring(2), args[++i]);
        }
        default -> throw new IllegalArgumentException("unknown argument " + a);
      }
    }
    if (!opts.containsKey("port")) throw new IllegalArgumentException("--port is required");
    final String tls = opts.get("tls");
    if (tls != null && !tls.equals("1.2") && !tls.equals("1.3"))
      throw new IllegalArgumentException("--tls expects 1.2 or 1.3");
    final String auth = opts.getOrDefault("client-auth", "none");
    if (!List.of("none", "request", "require").contains(auth))
      throw new IllegalArgumentException("--client-auth expects none, request or require");
    final Say say = new Say("");
    if (permissive) relaxAlgorithmConstraints();
    final SSLContext ctx;
    try {
      ctx = context(role.equals("server"));
    } catch (Exception e) {
      report(say, "setup", e);
      return 1;
    }
    switch (role) {
      case "server":
        return serve(ctx, Integer.parseInt(opts.get("port")), say);
      case "client":
        return connect(ctx, Integer.parseInt(opts.get("port")), say);
      default:
        throw new IllegalArgumentException("expected server, client or version, got " + role);
    }
  }

  // ---- keys, certificates, trust --------------------------------------------------------------

  private static List<String> pemBlocks(Path file, String label) throws IOException {
    final String text = Files.readString(file, StandardCharsets.US_ASCII);
    final String begin = "-----BEGIN " + label + "-----", end = "-----END " + label + "-----";
    final List<String> out = new ArrayList<>();
    for (int at = text.indexOf(begin); at >= 0; at = text.indexOf(begin, at + 1)) {
      final int stop = text.indexOf(end, at);
      if (stop < 0) break;
      out.add(text.substring(at, stop + end.length()) + "\n");
    }
    return out;
  }

  // Only the CERTIFICATE blocks: a trust bundle may carry CRLs too (the harness adds them for
  // OpenSSL-style CA files).
  private static List<X509Certificate> certificates(String file) throws Exception {
    final CertificateFactory cf = CertificateFactory.getInstance("X.509");
    final List<X509Certificate> out = new ArrayList<>();
    for (String block : pemBlocks(Path.of(file), "CERTIFICATE"))
      out.add((X509Certificate) cf.generateCertificate(
          new java.io.ByteArrayInputStream(block.getBytes(StandardCharsets.US_ASCII))));
    if (out.isEmpty()) throw new CertificateException(file + " holds no certificate");
    return out;
  }

  private static List<X509CRL> crls(String file) throws Exception {
    final CertificateFactory cf = CertificateFactory.getInstance("X.509");
    final List<X509CRL> out = new ArrayList<>();
    for (String block : pemBlocks(Path.of(file), "X509 CRL"))
      out.add((X509CRL) cf.generateCRL(
          new java.io.ByteArrayInputStream(block.getBytes(StandardCharsets.US_ASCII))));
    return out;
  }

  // A PKCS#8 PEM key (the PKI writes every key so): the algorithm is in the encoding, but
  // KeyFactory wants it named, so try the ones the PKI issues.
  private static PrivateKey privateKey(String file) throws Exception {
    final List<String> blocks = pemBlocks(Path.of(file), "PRIVATE KEY");
    if (blocks.isEmpty()) throw new IllegalStateException(file + " holds no PKCS#8 private key");
    final String b64 = blocks.get(0).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    final PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64));
    for (String alg : List.of("EC", "RSA", "Ed25519", "Ed448", "RSASSA-PSS")) {
      try {
        return KeyFactory.getInstance(alg).generatePrivate(spec);
      } catch (Exception ignored) {
        // not this algorithm
      }
    }
    throw new IllegalStateException(file + ": no key factory accepts this key");
  }

  private KeyManager[] keyManagers() throws Exception {
    if (!opts.containsKey("cert")) return null;
    if (!opts.containsKey("key")) throw new IllegalArgumentException("--cert needs --key");
    final List<X509Certificate> chain = new ArrayList<>(certificates(opts.get("cert")));
    if (opts.containsKey("chain")) {
      for (X509Certificate c : certificates(opts.get("chain")))
        if (!c.equals(chain.get(0))) chain.add(c); // a chain file may start with the leaf
    }
    final char[] password = "tlsmatrix".toCharArray();
    final KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("identity", privateKey(opts.get("key")), password,
        chain.toArray(new X509Certificate[0]));
    final KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
    kmf.init(ks, password);
    return kmf.getKeyManagers();
  }

  private TrustManager[] trustManagers(boolean server) throws Exception {
    if (!server && noVerify) return new TrustManager[] {new TrustAll()};
    final KeyStore anchors = KeyStore.getInstance("PKCS12");
    anchors.load(null, null);
    if (opts.containsKey("trust")) {
      int i = 0;
      for (X509Certificate c : certificates(opts.get("trust")))
        anchors.setCertificateEntry("anchor-" + i++, c);
    }
    final PKIXBuilderParameters params = new PKIXBuilderParameters(anchors, new X509CertSelector());
    if (opts.containsKey("crls")) {
      // Every CA of the PKI publishes a CRL, so checking the whole path (what PKIX does) works.
      params.addCertStore(
          CertStore.getInstance("Collection", new CollectionCertStoreParameters(crls(opts.get("crls")))));
      params.setRevocationEnabled(true);
    } else {
      params.setRevocationEnabled(false);
    }
    final TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(new CertPathTrustManagerParameters(params));
    return tmf.getTrustManagers();
  }

  private SSLContext context(boolean server) throws Exception {
    final SSLContext ctx = SSLContext.getInstance("TLS");
    final boolean needsTrust = !server || !opts.getOrDefault("client-auth", "none").equals("none");
    if (!server && !noVerify && !opts.containsKey("trust"))
      throw new IllegalArgumentException("a verifying client needs --trust");
    ctx.init(keyManagers(), needsTrust ? trustManagers(server) : null, null);
    return ctx;
  }

  private String[] protocols() {
    final String tls = opts.get("tls");
    if (tls == null) return new String[] {"TLSv1.3", "TLSv1.2"};
    return new String[] {tls.equals("1.2") ? "TLSv1.2" : "TLSv1.3"};
  }

  // "CN=x,O=tlsmatrix" (RFC 2253, most specific first) -> "/O=tlsmatrix/CN=x" (OpenSSL's oneline).
  private static String oneline(X500Principal p) {
    final List<String> parts = new ArrayList<>();
    final StringBuilder cur = new StringBuilder();
    final String s = p.getName(X500Principal.RFC2253);
    for (int i = 0; i < s.length(); ++i) {
      final char c = s.charAt(i);
      if (c == '\\' && i + 1 < s.length()) {
        cur.append(s.charAt(++i));
      } else if (c == ',') {
        parts.add(cur.toString());
        cur.setLength(0);
      } else {
        cur.append(c);
      }
    }
    parts.add(cur.toString());
    final StringBuilder out = new StringBuilder();
    for (int i = parts.size() - 1; i >= 0; --i) out.append('/').append(parts.get(i));
    return out.toString();
  }

  private static String subject(SSLSocket s) {
    try {
      final var certs = s.getSession().getPeerCertificates();
      return oneline(((X509Certificate) certs[0]).getSubjectX500Principal());
    } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
      return "anonymous";
    }
  }

  // ---- reporting ------------------------------------------------------------------------------

  // One line per fact the harness classifies; the library's text verbatim. VERIFY's kind is the
  // validator's own reason (CertPathValidatorException.getReason()) or the exception's class.
  private static void report(Say say, String phase, Throwable err) {
    for (Throwable t = err; t != null; t = t.getCause()) {
      if (t instanceof CertPathValidatorException cpv) {
        // The innermost cause says more (CertificateExpiredException carries the date).
        Throwable inner = cpv;
        while (inner.getCause() != null) inner = inner.getCause();
        say.line("VERIFY " + cpv.getReason() + " " + flat(inner == cpv ? cpv.getMessage()
                                                                          : inner.toString()));
        break;
      }
      if (t instanceof CertificateExpiredException || t instanceof CertificateNotYetValidException
          || (t instanceof CertificateException && t.getCause() == null)
          || t.getClass().getSimpleName().equals("SunCertPathBuilderException")) {
        say.line("VERIFY " + t.getClass().getSimpleName() + " " + flat(t.getMessage()));
        break;
      }
    }
    final String text = flat(String.valueOf(err.getMessage()));
    final String marker = "Received fatal alert: ";
    if (text.contains(marker)) {
      final String rest = text.substring(text.indexOf(marker) + marker.length());
      say.line("ALERT received " + rest.split("\\s")[0]);
    }
    say.line("ERROR " + phase + " " + err.getClass().getSimpleName() + " " + text);
  }

  private static String flat(String s) {
    return s == null ? "" : s.replaceAll("\\s+", " ").trim();
  }

  // ---- server ---------------------------------------------------------------------------------

  private int serve(SSLContext ctx, int port, Say say) {
    final ServerSocket listener;
    try {
      listener = new ServerSocket();
      listener.setReuseAddress(true);
      listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
    } catch (IOException e) {
      say.line("ERROR tcp bind " + flat(e.toString()));
      return 1;
    }
    say.line("READY " + port);
    if (!many) {
      final Socket raw;
      try (ServerSocket l = listener) {
        raw = l.accept();
      } catch (IOException e) {
        report(say, "tcp", e);
        return 1;
      }
      return serveOne(ctx, raw, say);
    }
    // --many: every connection on its own thread until the harness kills the process group.
    while (true) {
      final Socket raw;
      try {
        raw = listener.accept();
      } catch (IOException e) {
        report(say, "tcp", e);
        return 1;
      }
      final Say connSay = new Say("@" + raw.getPort() + " ");
      final Thread t = new Thread(() -> {
        serveOne(ctx, raw, connSay);
        connSay.line("END");
      });
      t.setDaemon(true);
      t.start();
    }
  }

  private int serveOne(SSLContext ctx, Socket raw, Say say) {
    try (raw) {
      raw.setSoTimeout(TIMEOUT_MS);
      final SSLSocket conn = (SSLSocket) ctx.getSocketFactory().createSocket(
          raw, raw.getInetAddress().getHostAddress(), raw.getPort(), true);
      conn.setUseClientMode(false);
      conn.setEnabledProtocols(protocols());
      switch (opts.getOrDefault("client-auth", "none")) {
        case "require" -> conn.setNeedClientAuth(true);
        case "request" -> conn.setWantClientAuth(true);
        default -> { }
      }
      try {
        conn.startHandshake();
      } catch (IOException e) {
        report(say, "handshake", e);
        conn.close();
        return 1;
      }
      say.line("HANDSHAKE " + conn.getSession().getProtocol());
      final String who = subject(conn);
      say.line("PEER " + who);
      try {
        final InputStream in = conn.getInputStream();
        final ByteArrayOutputStream got = new ByteArrayOutputStream();
        final byte[] buf = new byte[4096];
        while (!endOfHeaders(got.toString(StandardCharsets.ISO_8859_1))) {
          final int n = in.read(buf);
          if (n < 0) {
            // No request, no resource: the client closed (or refused) after the handshake.
            say.line("ERROR read EOF the client closed before its request was complete");
            conn.close();
            return 1;
          }
          got.write(buf, 0, n);
        }
        final OutputStream out = conn.getOutputStream();
        out.write(("HTTP/1.0 200 OK\r\n\r\ntlsmatrix-ok client=" + who + "\n")
                      .getBytes(StandardCharsets.UTF_8));
        out.flush();
      } catch (IOException e) {
        report(say, "read", e);
        conn.close();
        return 1;
      }
      close(conn);
      say.line("COMPLETED client=" + who);
      return 0;
    } catch (IOException e) {
      report(say, "tcp", e);
      return 1;
    }
  }

  private static boolean endOfHeaders(String s) {
    return s.contains("\r\n\r\n") || s.contains("\n\n");
  }

  // shutdownOutput() sends a bare close_notify (a plain close() in TLS 1.3 sends user_canceled
  // first, which gnutls-cli reports as an error: docs/peers.md#jsse-user_canceled-before-close_notify); then wait (bounded) for the
  // peer's close_notify so close() has nothing left to cancel.
  private static void close(SSLSocket conn) {
    try {
      conn.shutdownOutput();
      conn.setSoTimeout(2000);
      final InputStream in = conn.getInputStream();
      final byte[] buf = new byte[4096];
      while (in.read(buf) >= 0) {
        // drain until the peer's close_notify
      }
    } catch (IOException | UnsupportedOperationException ignored) {
      // the peer left without close_notify: nothing to report, the exchange is done
    }
    try {
      conn.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  // ---- training (build time) -------------------------------------------------------------------

  // Mutual-TLS handshakes of this program with itself, TLS 1.2 and 1.3, through the same server and
  // client code a case runs, under -XX:ArchiveClassesAtExit: the JVM then archives what they load.
  private int train(String p12) throws Exception {
    final char[] password = "tlsmatrix".toCharArray();
    final KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(Path.of(p12))) {
      ks.load(in, password);
    }
    final String alias = ks.aliases().nextElement();
    final KeyStore anchors = KeyStore.getInstance("PKCS12");
    anchors.load(null, null);
    anchors.setCertificateEntry("anchor", ks.getCertificate(alias));
    final KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
    kmf.init(ks, password);
    final PKIXBuilderParameters params = new PKIXBuilderParameters(anchors, new X509CertSelector());
    params.setRevocationEnabled(false);
    final TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(new CertPathTrustManagerParameters(params));
    final SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    opts.put("client-auth", "require");
    opts.put("server-name", "localhost");
    int failures = 0;
    for (String tls : List.of("1.2", "1.3")) {
      opts.put("tls", tls);
      final ServerSocket listener =
          new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
      final int[] served = {1};
      final Thread server = new Thread(() -> {
        try (ServerSocket l = listener) {
          served[0] = serveOne(ctx, l.accept(), new Say("train server "));
        } catch (IOException e) {
          report(new Say("train server "), "tcp", e);
        }
      });
      server.start();
      failures += connect(ctx, listener.getLocalPort(), new Say("train client "));
      server.join(TIMEOUT_MS);
      failures += served[0];
    }
    return failures == 0 ? 0 : 1;
  }

  // ---- client ---------------------------------------------------------------------------------

  private int connect(SSLContext ctx, int port, Say say) {
    final String serverName = opts.getOrDefault("server-name", "localhost");
    final Socket raw;
    try {
      raw = new Socket();
      raw.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), TIMEOUT_MS);
      raw.setSoTimeout(TIMEOUT_MS);
    } catch (IOException e) {
      say.line("ERROR tcp connect " + flat(e.toString()));
      return 1;
    }
    final SSLSocket conn;
    try {
      // Layered over the TCP socket with the server's *name* as the peer host, so that endpoint
      // identification checks that name, not 127.0.0.1.
      conn = (SSLSocket) ctx.getSocketFactory().createSocket(raw, serverName, port, true);
    } catch (IOException e) {
      report(say, "setup", e);
      return 1;
    }
    final SSLParameters params = conn.getSSLParameters();
    params.setProtocols(protocols());
    if (!noVerify && !noServerName) {
      // A raw SSLSocket checks no hostname unless told to (docs/peers.md#java-sslsocket-checks-no-hostname).
      params.setEndpointIdentificationAlgorithm("HTTPS");
    }
    if (noServerName)
      params.setServerNames(List.of()); // no SNI; without endpoint identification, no name check
    else if (!serverName.isEmpty() && !Character.isDigit(serverName.charAt(0)) && !serverName.contains(":"))
      params.setServerNames(List.of(new SNIHostName(serverName)));
    conn.setSSLParameters(params);
    try {
      conn.startHandshake();
    } catch (IOException e) {
      report(say, "handshake", e);
      closeQuietly(conn);
      return 1;
    }
    say.line("HANDSHAKE " + conn.getSession().getProtocol());
    say.line("PEER " + (noVerify ? "unverified" : subject(conn)));
    // The request goes after the handshake and the response is read to its end: a TLS 1.3 server
    // rejects a client certificate after the client's handshake has finished (docs/peers.md#tls13-client-cert-rejection-after-handshake).
    final ByteArrayOutputStream response = new ByteArrayOutputStream();
    try {
      final OutputStream out = conn.getOutputStream();
      out.write(REQUEST);
      out.flush();
      final InputStream in = conn.getInputStream();
      final byte[] buf = new byte[4096];
      for (int n; (n = in.read(buf)) >= 0;) {
        response.write(buf, 0, n);
        if (echo && response.toString(StandardCharsets.UTF_8).contains(ECHOED)) break;
      }
    } catch (IOException e) {
      report(say, "read", e);
      closeQuietly(conn);
      return 1;
    }
    // The server's close_notify has arrived (or, with --echo, the echo): close() now sends ours.
    closeQuietly(conn);
    say.line("COMPLETED");
    final String body = response.toString(StandardCharsets.UTF_8);
    synchronized (OUT) {
      OUT.print(body);
      OUT.flush();
    }
    if (echo) return body.contains(ECHOED) ? 0 : 1;
    return body.contains("tlsmatrix-ok") || body.startsWith("HTTP/1.0 200")
            || body.startsWith("HTTP/1.1 200")
        ? 0
        : 1;
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // nothing more to say about this connection
    }
  }

  /** --no-verify: accepts any server certificate (the control case of an unverified client). */
  private static final class TrustAll extends X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] c, String a, Socket s) {}

    @Override
    public void checkServerTrusted(X509Certificate[] c, String a, Socket s) {}

    @Override
    public void checkClientTrusted(X509Certificate[] c, String a, javax.net.ssl.SSLEngine e) {}

    @Override
    public void checkServerTrusted(X509Certificate[] c, String a, javax.net.ssl.SSLEngine e) {}

    @Override
    public void checkClientTrusted(X509Certificate[] c, String a) {}

    @Override
    public void checkServerTrusted(X509Certificate[] c, String a) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
