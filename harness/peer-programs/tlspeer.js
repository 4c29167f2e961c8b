#!/usr/bin/env node
// A TLS peer over Node's standard `tls` module, speaking the peer-program contract shared with
// tlspeer.py, tlspeer.go and TlsPeer.java (see harness/peers/node.json):
//   server --port P --cert F --key F [--chain F] [--trust F] [--crls F] [--client-auth none|request|require]
//          [--tls 1.2|1.3] [--keylog F]
//   client --port P (--server-name S | --no-server-name) [--trust F] [--cert F --key F [--chain F]] [--no-verify] [--tls V]
//          [--keylog F] [--echo]
// --permissive (either role): this side presents the certificate under test; OpenSSL security
// level 0, so that its own policy does not refuse it.
// Output lines: READY <port>, HANDSHAKE <version>, PEER <subject|anonymous>, COMPLETED ...,
// VERIFY <code> <text>, ALERT received <name>, ERROR <phase> <code> <library text>.
// `server --many` serves connection after connection concurrently until killed; each line about a
// connection is prefixed with "@<client port> ", and "@<client port> END" follows its close.
// `client --echo`: the server echoes (botan tls_server): read until the request's first line has
// come back, then close with close_notify (the server would never close first).
'use strict';
const fs = require('fs');
const net = require('net');
const tls = require('tls');

const REQUEST = 'GET /tlsmatrix HTTP/1.0\r\n\r\n';
const ECHOED = 'GET /tlsmatrix HTTP/1.0';

function parse(argv) {
  const args = { role: argv[0], clientAuth: 'none', noVerify: false };
  const names = { '--port': 'port', '--server-name': 'serverName', '--cert': 'cert', '--key': 'key',
    '--chain': 'chain', '--trust': 'trust', '--crls': 'crls', '--client-auth': 'clientAuth',
    '--tls': 'tls', '--keylog': 'keylog' };
  for (let i = 1; i < argv.length; ++i) {
    if (argv[i] === '--no-verify') args.noVerify = true;
    else if (argv[i] === '--no-server-name') args.noServerName = true;
    else if (argv[i] === '--many') args.many = true;
    else if (argv[i] === '--echo') args.echo = true;
    else if (argv[i] === '--permissive') args.permissive = true;
    else if (names[argv[i]] && i + 1 < argv.length) args[names[argv[i]]] = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (args.role !== 'server' && args.role !== 'client') throw new Error('usage: tlspeer.js server|client ...');
  return args;
}

// One write per whole line (so lines of concurrent connections never interleave).
const say = (line) => process.stdout.write(line + '\n');

function subject(socket) {
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return 'anonymous';
  return Object.entries(cert.subject).map(([k, v]) => `/${k}=${v}`).join('');
}

// One line per fact the harness classifies; the library's code and text verbatim.
function report(phase, err, out = say) {
  const say = out;
  const code = err.code || '';
  const alert = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(.*)$/.exec(code);
  if (alert) say(`ALERT received ${alert[1].toLowerCase()}`);
  // Verification errors carry OpenSSL's X509_V_ERR name without its prefix (CERT_HAS_EXPIRED).
  else if (/^[A-Z_]+$/.test(code) && !code.startsWith('ERR_') && !/^E[A-Z]+$/.test(code)) say(`VERIFY ${code} ${err.message}`);
  else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') say(`VERIFY ${code} ${err.message}`);
  say(`ERROR ${phase} ${code || err.name} ${String(err.message).split('\n').join(' ')}`);
}

function options(args) {
  const o = {};
  if (args.tls) o.minVersion = o.maxVersion = `TLSv${args.tls}`;
  // Security level 0: OpenSSL's level 2 (Debian's default) refuses to use a SHA-1/MD5-signed or
  // 1024-bit certificate of our own. The default list keeps the TLS 1.3 suites.
  if (args.permissive) o.ciphers = `${tls.DEFAULT_CIPHERS}:@SECLEVEL=0`;
  if (args.cert) {
    // The leaf, then the intermediates it should send.
    o.cert = fs.readFileSync(args.cert, 'utf8') + (args.chain ? fs.readFileSync(args.chain, 'utf8') : '');
    o.key = fs.readFileSync(args.key);
  }
  if (args.trust) o.ca = fs.readFileSync(args.trust);
  if (args.crls) o.crl = fs.readFileSync(args.crls);
  return o;
}

let keylogFd = null; // one for the process: a --many server has many connections
function keylog(args, emitter) {
  if (!args.keylog) return;
  if (keylogFd === null) keylogFd = fs.openSync(args.keylog, 'a');
  emitter.on('keylog', (line) => fs.writeSync(keylogFd, line));
}

function serve(args) {
  const o = options(args);
  const context = tls.createSecureContext(o);
  const server = net.createServer((raw) => {
    if (!args.many) {
      server.close();
      handle(args, context, raw, say, (code) => { process.exitCode = code; });
      return;
    }
    const prefix = `@${raw.remotePort} `;
    const socket = handle(args, context, raw, (line) => say(prefix + line), () => {});
    // 'close' comes once the connection is completely finished, both ways.
    socket.on('close', () => say(`${prefix}END`));
  });
  server.on('error', (err) => {
    say(`ERROR tcp bind ${err.message}`);
    process.exitCode = 1;
  });
  server.listen(Number(args.port), '127.0.0.1', () => say(`READY ${args.port}`));
}

// Serves one accepted connection; `out` prints a line about it, `exit` records its exit code.
function handle(args, context, raw, out, exit) {
  // A net.Server with our own TLSSocket rather than tls.createServer: the latter destroys a
  // connection whose client certificate failed verification without telling why; here the same
  // thing happens (closed after the handshake, no alert: docs/peers.md#node-closes-without-an-alert), and the reason is printed.
  const socket = new tls.TLSSocket(raw, {
    isServer: true, secureContext: context,
    requestCert: args.clientAuth !== 'none',
    // 'require' makes OpenSSL fail the handshake when no certificate comes (as tls.Server does).
    rejectUnauthorized: args.clientAuth === 'require',
  });
  keylog(args, socket);
  let phase = 'handshake';
  socket.on('secure', () => {
    out(`HANDSHAKE ${socket.getProtocol()}`);
    const who = subject(socket);
    const verifyError = args.clientAuth !== 'none' && who !== 'anonymous' ? socket.ssl.verifyError() : null;
    if (verifyError) {
      report('handshake', verifyError, out);
      socket.destroy();
      exit(1);
      return;
    }
    phase = 'read';
    out(`PEER ${who}`);
    let data = '';
    let answered = false;
    socket.on('data', (chunk) => {
      data += chunk;
      if (!answered && /\r?\n\r?\n/.test(data)) {
        answered = true;
        // end() sends close_notify before the FIN (docs/peers.md#missing-close_notify).
        socket.end(`HTTP/1.0 200 OK\r\n\r\ntlsmatrix-ok client=${who}\n`, () => {
          out(`COMPLETED client=${who}`);
          exit(0);
        });
      }
    });
  });
  socket.on('error', (err) => {
    report(phase, err, out);
    exit(1);
  });
  return socket;
}

function connect(args) {
  const o = options(args);
  o.host = '127.0.0.1';
  o.port = Number(args.port);
  o.rejectUnauthorized = !args.noVerify;
  if (args.noServerName) {
    // No SNI (none is sent for the address connected to), and no name to check: the chain alone.
    o.checkServerIdentity = () => undefined;
  } else if (!net.isIP(args.serverName)) {
    o.servername = args.serverName; // RFC 6066 §3: an IP address is never SNI
  }
  if (!args.noServerName && !args.noVerify) {
    // The name to check is the scenario's, not the address connected to.
    o.checkServerIdentity = (host, cert) => tls.checkServerIdentity(args.serverName, cert);
  }
  let phase = 'handshake';
  let response = '';
  let failed = false;
  const socket = tls.connect(o, () => {
    phase = 'read';
    say(`HANDSHAKE ${socket.getProtocol()}`);
    say(`PEER ${args.noVerify ? 'unverified' : subject(socket)}`);
    // The request goes after the handshake and the response is read to its end: a TLS 1.3 server
    // rejects a client certificate after the client's handshake has finished (docs/peers.md#tls13-client-cert-rejection-after-handshake).
    socket.write(REQUEST);
  });
  keylog(args, socket);
  socket.setEncoding('utf8');
  let echoed = false;
  socket.on('data', (chunk) => {
    response += chunk;
    if (args.echo && !echoed && response.includes(ECHOED)) {
      // end() sends close_notify, then FIN.
      echoed = true;
      say('COMPLETED');
      process.stdout.write(response);
      process.exitCode = 0;
      socket.end();
    }
  });
  socket.on('end', () => {
    if (failed || echoed) return;
    say('COMPLETED');
    process.stdout.write(response);
    process.exitCode = /tlsmatrix-ok|^HTTP\/1\.[01] 200/.test(response) ? 0 : 1;
  });
  socket.on('error', (err) => {
    if (echoed) return;
    failed = true;
    report(err.code === 'ECONNREFUSED' ? 'tcp' : phase, err);
    process.exitCode = 1;
  });
  socket.setTimeout(10000, () => {
    say(`ERROR ${phase} timeout no answer within 10 s`);
    socket.destroy();
    process.exitCode = 1;
  });
}

try {
  const args = parse(process.argv.slice(2));
  if (args.role === 'server') serve(args);
  else connect(args);
} catch (err) {
  report('setup', err);
  process.exitCode = 1;
}
