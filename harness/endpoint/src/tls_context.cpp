// The OpenSSL configuration of our own endpoints: identity, trust, CRLs, client authentication,
// versions, ciphers, key log, and the callbacks that record verification errors and alerts.
#include "tls_context.hpp"

#include <map>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"

namespace harness::tls {
namespace {

using tlsmatrix::Errc;
using tlsmatrix::Error;

// Our own data hangs on each SSL at ex_data index 0 (the "app data" slot): its ConnectionLog,
// which also names its key log file.
constexpr int app_data_index = 0;

ConnectionLog* log_of(const SSL* ssl) {
  return ssl == nullptr ? nullptr
                        : static_cast<ConnectionLog*>(SSL_get_ex_data(ssl, app_data_index));
}

// Records the first verification error (OpenSSL stops at the first one anyway, because we return
// preverify_ok unchanged: OpenSSL keeps choosing the alert, the callback only observes).
int verify_callback(int preverify_ok, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  ConnectionLog* log = log_of(ssl);
  if (log == nullptr)
    return preverify_ok;
  if (log->peer_leaf_subject.empty()) {
    if (X509* leaf = X509_STORE_CTX_get0_cert(store))
      log->peer_leaf_subject = oneline_subject(*leaf);
  }
  if (preverify_ok == 0 && !log->verify_error) {
    log->verify_error = X509_STORE_CTX_get_error(store);
    log->verify_depth = X509_STORE_CTX_get_error_depth(store);
    if (X509* current = X509_STORE_CTX_get_current_cert(store))
      log->verify_subject = oneline_subject(*current);
  }
  return preverify_ok;
}

// SSL_CB_ALERT: `ret` is the alert as on the wire, level << 8 | description.
void info_callback(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_ALERT) == 0)
    return;
  ConnectionLog* log = log_of(ssl);
  if (log == nullptr)
    return;
  AlertEvent event;
  event.sent = (where & SSL_CB_WRITE) != 0;
  event.fatal = ((ret >> 8) & 0xff) == SSL3_AL_FATAL;
  event.description = ret & 0xff;
  log->alerts.push_back(event);
}

void keylog_callback(const SSL* ssl, const char* line) {
  const ConnectionLog* log = log_of(ssl);
  if (log != nullptr && log->keylog != nullptr)
    log->keylog->append(line);
}

int protocol_version(TlsVersion v) {
  switch (v) {
  case TlsVersion::tls12:
    return TLS1_2_VERSION;
  case TlsVersion::tls13:
    return TLS1_3_VERSION;
  case TlsVersion::invalid:
    break;
  }
  throw Error(Errc::invalid_input,
              "TLS configuration: no TLS version chosen (expected 1.2 or 1.3)");
}

std::vector<pki::Certificate> read_certificates(const std::filesystem::path& path) {
  return pki::Certificate::all_from_pem(common::read_file(path), path.string());
}

// This side refuses its own identity: why, in OpenSSL's words and as a canonical reason.
[[noreturn]] void refuse(Side side, const std::string& reason, const std::string& what) {
  SideObservation o;
  o.peer = "local";
  o.outcome = Outcome::refused;
  o.phase = Phase::setup;
  o.reason = reason;
  o.reason_source = ReasonSource::output;
  o.error_text = what;
  pki::ossl::clear_errors();
  throw SetupRefusal(side, std::move(o));
}

// A certificate libssl will not use at this security level (ssl_security_cert), or at all.
[[noreturn]] void refuse_certificate(Side side, const std::string& what) {
  const unsigned long code = ERR_peek_last_error();
  const int reason = ERR_GET_LIB(code) == ERR_LIB_SSL ? ERR_GET_REASON(code) : 0;
  char text[256] = "";
  ERR_error_string_n(code, text, sizeof text);
  const std::string words = what + ": " + text;
  if (reason == SSL_R_CA_MD_TOO_WEAK)
    refuse(side, "weak_digest", words);
  if (reason == SSL_R_EE_KEY_TOO_SMALL || reason == SSL_R_CA_KEY_TOO_SMALL)
    refuse(side, "weak_key", words);
  if (reason == SSL_R_UNKNOWN_CERTIFICATE_TYPE || reason == SSL_R_UNKNOWN_PKEY_TYPE)
    refuse(side, "unsupported_key", words);
  pki::ossl::check(0, what); // anything else is not a policy: report it as it is (throws)
  throw Error(Errc::crypto, what);
}

void load_identity(SSL_CTX& ctx, const TlsConfig& config, Side side) {
  if (config.key.empty())
    throw Error(Errc::invalid_input,
                "certificate " + config.cert.string() + " given without its private key");
  const auto cert =
      pki::Certificate::from_pem(common::read_file(config.cert), config.cert.string());
  const auto key = pki::PrivateKey::from_pem(common::read_file(config.key), config.key.string());
  if (SSL_CTX_use_certificate(&ctx, &cert.get()) != 1)
    refuse_certificate(side, "using certificate " + config.cert.string());
  const std::string mismatch = "the private key in " + config.key.string() +
                               " does not match the certificate " + config.cert.string();
  // SSL_CTX_use_PrivateKey already refuses a key of the certificate's type that does not match
  // it; SSL_CTX_check_private_key also catches a key of another type.
  if (SSL_CTX_use_PrivateKey(&ctx, &key.get()) != 1 || SSL_CTX_check_private_key(&ctx) != 1)
    refuse(side, "key_mismatch", mismatch);
  if (config.chain.empty())
    return;
  // NAME.chain.pem starts with the leaf itself: skip it, send only what follows.
  for (const auto& c : read_certificates(config.chain)) {
    if (X509_cmp(&c.get(), &cert.get()) == 0)
      continue;
    if (SSL_CTX_add1_chain_cert(&ctx, &c.get()) != 1)
      refuse_certificate(side, "adding a chain certificate from " + config.chain.string());
  }
}

void load_crls(X509_STORE& store, const std::filesystem::path& path) {
  const std::string pem = common::read_file(path);
  pki::ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  int count = 0;
  while (X509_CRL* raw = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
    const pki::ossl::X509CrlPtr crl(raw);
    pki::ossl::check(X509_STORE_add_crl(&store, crl.get()), "adding a CRL from " + path.string());
    ++count;
  }
  pki::ossl::clear_errors(); // the loop ends on an expected "no start line"
  if (count == 0)
    throw Error(Errc::invalid_input, path.string() + ": no PEM CRL found");
}

int verify_mode(const TlsConfig& config, Side side) {
  if (side == Side::client)
    return config.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE;
  switch (config.client_auth) {
  case ClientAuth::none:
    return SSL_VERIFY_NONE;
  case ClientAuth::request:
    return SSL_VERIFY_PEER;
  case ClientAuth::require:
    return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  case ClientAuth::invalid:
    break;
  }
  throw Error(Errc::invalid_input,
              "TLS configuration: client_auth must be none, request or require");
}

} // namespace

const AlertEvent* ConnectionLog::first_fatal(bool sent) const {
  for (const auto& a : alerts)
    if (a.sent == sent && a.fatal && a.description != 0)
      return &a;
  return nullptr;
}

KeyLogFile::KeyLogFile(const std::filesystem::path& path) : out_(path, std::ios::app) {
  if (!out_)
    throw Error(Errc::io, "cannot open the key log file " + path.string() + " for appending");
}

void KeyLogFile::append(const char* line) {
  const std::lock_guard lock(mutex_);
  out_ << line << '\n';
  out_.flush();
}

Context::Context(const TlsConfig& config, Side side) : side_(side) {
  if (side != Side::client && side != Side::server)
    throw Error(Errc::internal, "TLS context for an invalid side");
  ctx_.reset(pki::ossl::check_ptr(
      SSL_CTX_new(side == Side::server ? TLS_server_method() : TLS_client_method()),
      "creating an SSL_CTX"));
  SSL_CTX* ctx = ctx_.get();
  const int version = protocol_version(config.version);
  pki::ossl::check(SSL_CTX_set_min_proto_version(ctx, version), "setting the TLS version");
  pki::ossl::check(SSL_CTX_set_max_proto_version(ctx, version), "setting the TLS version");
  // Every case is one fresh connection: session tickets would only add records to the wire.
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  if (side == Side::server)
    SSL_CTX_set_num_tickets(ctx, 0);

  if (!config.cipher_list.empty() &&
      SSL_CTX_set_cipher_list(ctx, config.cipher_list.c_str()) != 1) {
    pki::ossl::clear_errors();
    throw Error(Errc::invalid_input,
                "cipher list \"" + config.cipher_list + "\" selects no TLS 1.2 cipher");
  }
  if (!config.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx, config.ciphersuites.c_str()) != 1) {
    pki::ossl::clear_errors();
    throw Error(Errc::invalid_input,
                "ciphersuites \"" + config.ciphersuites + "\" name no TLS 1.3 suite");
  }

  if (config.permissive)
    SSL_CTX_set_security_level(ctx, 0);
  if (!config.cert.empty())
    load_identity(*ctx, config, side);
  else if (side == Side::server)
    throw Error(Errc::invalid_input, "TLS configuration: a server needs a certificate and key");

  X509_STORE* store = SSL_CTX_get_cert_store(ctx); // borrowed
  if (!config.trust.empty()) {
    for (const auto& anchor : read_certificates(config.trust)) {
      pki::ossl::check(X509_STORE_add_cert(store, &anchor.get()),
                       "adding a trust anchor from " + config.trust.string());
      // The CA names of the CertificateRequest (certificate_authorities in TLS 1.3).
      if (side == Side::server && config.client_auth != ClientAuth::none)
        pki::ossl::check(SSL_CTX_add_client_CA(ctx, &anchor.get()), "adding a client CA name");
    }
  }
  if (config.crl_check) {
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    if (!config.crls.empty())
      load_crls(*store, config.crls);
  }

  const int mode = verify_mode(config, side);
  verifies_peer_ = (mode & SSL_VERIFY_PEER) != 0;
  SSL_CTX_set_verify(ctx, mode, &verify_callback);
  SSL_CTX_set_info_callback(ctx, &info_callback);

  SSL_CTX_set_keylog_callback(ctx, &keylog_callback);
}

SslPtr Context::new_ssl(ConnectionLog& log, KeyLogFile* keylog) const {
  SslPtr ssl(pki::ossl::check_ptr(SSL_new(ctx_.get()), "creating an SSL connection"));
  log.keylog = keylog;
  SSL_set_ex_data(ssl.get(), app_data_index, &log);
  return ssl;
}

std::shared_ptr<const Context> shared_context(const TlsConfig& config, Side side) {
  // A file that cannot be read (or is empty) goes to the constructor, which says what is wrong.
  auto contents = [](const std::filesystem::path& path) -> std::string {
    if (path.empty())
      return "-";
    try {
      return common::read_file(path);
    } catch (const Error&) {
      return {};
    }
  };
  std::string key = std::string(to_string(side)) + '\n' + std::string(to_string(config.version)) +
                    '\n' + std::string(to_string(config.client_auth)) + '\n' +
                    (config.verify ? "verify" : "no-verify") + '\n' +
                    (config.crl_check ? "crl" : "no-crl") + '\n' +
                    (config.permissive ? "permissive" : "strict") + '\n' + config.cipher_list + '\n' +
                    config.ciphersuites + '\n';
  for (const auto* path : {&config.cert, &config.key, &config.chain, &config.trust, &config.crls}) {
    const std::string text = contents(*path);
    if (text.empty())
      return std::make_shared<const Context>(config, side); // uncached: it reports the file
    key += path->string() + '\n' + std::to_string(text.size()) + '\n' + text;
  }
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const Context>> cache;
  {
    const std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end())
      return it->second;
  }
  auto made = std::make_shared<const Context>(config, side);
  const std::lock_guard lock(mutex);
  if (cache.size() >= 256) // a run has a few dozen; a long-lived process must not grow forever
    cache.clear();
  return cache.emplace(std::move(key), std::move(made)).first->second;
}

DrainedErrors drain_errors() {
  DrainedErrors out;
  const char* data = nullptr;
  int flags = 0;
  unsigned long code = 0;
  while ((code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.text.empty())
      out.text += "; ";
    out.text += buf;
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0')
      out.text += std::string(" (") + data + ")";
    if (ERR_GET_LIB(code) == ERR_LIB_SSL) {
      const int reason = ERR_GET_REASON(code);
      if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
        out.no_client_cert = true;
      if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        out.unexpected_eof = true;
    }
  }
  return out;
}

std::string ssl_error_name(int e) {
  switch (e) {
  case SSL_ERROR_NONE:
    return "SSL_ERROR_NONE";
  case SSL_ERROR_SSL:
    return "SSL_ERROR_SSL";
  case SSL_ERROR_WANT_READ:
    return "SSL_ERROR_WANT_READ";
  case SSL_ERROR_WANT_WRITE:
    return "SSL_ERROR_WANT_WRITE";
  case SSL_ERROR_WANT_X509_LOOKUP:
    return "SSL_ERROR_WANT_X509_LOOKUP";
  case SSL_ERROR_SYSCALL:
    return "SSL_ERROR_SYSCALL";
  case SSL_ERROR_ZERO_RETURN:
    return "SSL_ERROR_ZERO_RETURN";
  case SSL_ERROR_WANT_CONNECT:
    return "SSL_ERROR_WANT_CONNECT";
  case SSL_ERROR_WANT_ACCEPT:
    return "SSL_ERROR_WANT_ACCEPT";
  default:
    return "SSL_ERROR_" + std::to_string(e);
  }
}

std::string oneline_subject(const X509& cert) {
  char* text = X509_NAME_oneline(X509_get_subject_name(&cert), nullptr, 0);
  if (text == nullptr)
    return {};
  std::string out(text);
  OPENSSL_free(text);
  return out;
}

} // namespace harness::tls
