// Output tree and manifest: PEM/DER/PKCS#12/CRL files staged in a temporary directory, then swapped
// in.
#include "pki/writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <openssl/pkcs12.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "pki/defects.hpp"
#include "pki/digest.hpp"
#include "pki/ossl.hpp"
#include "pki/random.hpp"
#include "pki/version.hpp"

namespace pki {
using common::private_mode;
using common::public_mode;
using common::replace_directory;
using common::TempDir;
using common::write_new_file;
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using tlsmatrix::Errc;
using tlsmatrix::Error;

std::string to_string(const Bytes& b) {
  return {b.begin(), b.end()};
}

std::string pkcs12(const IssuedEntity& e, const std::string& password) {
  ossl::X509StackPtr ca(sk_X509_new_null());
  for (const auto& c : e.intermediates)
    sk_X509_push(ca.get(), &c.get()); // borrowed
  if (e.root)
    sk_X509_push(ca.get(), &e.root->get());
  // OpenSSL 3 defaults: PBES2/PBKDF2/AES-256-CBC and an HMAC-SHA256 MAC, which Java 17's keytool
  // and NSS's pk12util both read.
  ossl::Pkcs12Ptr p12(PKCS12_create(password.c_str(), e.plan->name.c_str(), &e.key.get(),
                                    &e.cert.get(), ca.get(), 0, 0, 0, 0, 0));
  if (!p12)
    ossl::throw_last_error("building " + e.plan->name + ".p12");
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  ossl::check(i2d_PKCS12_bio(bio.get(), p12.get()), "encoding " + e.plan->name + ".p12");
  return ossl::bio_to_string(*bio);
}

json verify_json(const ExpectedVerification& v) {
  json j;
  j["result"] = v.ok ? "ok" : "error";
  j["reason"] = v.reason.empty() ? json(nullptr) : json(v.reason);
  j["openssl_error"] = v.openssl_error;
  j["openssl_error_name"] = v.openssl_error_name;
  j["openssl_error_depth"] = v.depth;
  json options = json::object();
  if (!v.purpose.empty())
    options["purpose"] = v.purpose;
  if (v.verify.hostname)
    options["hostname"] = true;
  if (v.verify.crl_check)
    options["crl_check"] = true;
  if (v.verify.auth_level)
    options["auth_level"] = *v.verify.auth_level;
  j["verify_options"] = options;
  if (!v.caused_by_defect.empty() || !v.caused_by_entity.empty())
    j["caused_by"] = {
        {"entity", v.caused_by_entity},
        {"defect", v.caused_by_defect.empty() ? json(nullptr) : json(v.caused_by_defect)}};
  if (!v.note.empty())
    j["note"] = v.note;
  return j;
}

struct FileNames {
  std::string cert, key, chain, fullchain, der, p12, crl;
};
FileNames file_names(const std::string& name) {
  return {name + ".crt.pem", name + ".key.pem", name + ".chain.pem", name + ".fullchain.pem",
          name + ".der",     name + ".p12",     name + ".crl.pem"};
}

} // namespace

Formats parse_formats(std::string_view list) {
  Formats f{false, false, false};
  std::size_t start = 0;
  while (start <= list.size()) {
    auto end = list.find(',', start);
    if (end == std::string_view::npos)
      end = list.size();
    const auto item = list.substr(start, end - start);
    if (item == "der")
      f.der = true;
    else if (item == "p12")
      f.p12 = true;
    else if (item == "chains")
      f.chains = true;
    else if (item == "all")
      f = Formats{};
    else if (item != "pem")
      throw Error(Errc::invalid_input, "--formats: unknown format \"" + std::string(item) +
                                           "\" (expected pem, der, p12, chains or all)");
    start = end + 1;
  }
  return f;
}

namespace {

json manifest_document(const IssuedPki& pki, const Formats& formats) {
  const Spec& s = pki.spec;
  json m;
  m["version"] = 1;
  m["tool"] = std::string("tlsmatrix ") + std::string(tlsmatrix::version);
  m["spec"] = s.origin;
  m["now"] = format_time(s.now);
  m["seed"] = pki.seed ? json(*pki.seed) : json(nullptr);
  m["server_name"] = s.server_name;
  m["p12_password"] = s.p12_password;
  json anchors = json::array();
  for (const auto& e : s.entities)
    if (e.profile == Profile::root && e.trusted)
      anchors.push_back(e.name);
  m["trust_anchors"] = anchors;
  m["files"] = {{"trust_anchors", "trust-anchors.pem"}, {"crls", "crls.pem"}};
  json entities = json::object();
  for (const auto& e : pki.entities) {
    const auto& p = *e.plan;
    const auto f = file_names(p.name);
    json j;
    if (!p.description.empty())
      j["description"] = p.description;
    j["profile"] = profile_name(p.profile);
    j["issuer"] = p.issuer ? json(*p.issuer) : json(nullptr);
    json chain = json::array();
    for (const auto* c : s.chain_of(p.name))
      chain.push_back(c->name);
    j["chain"] = chain;
    if (p.profile == Profile::root)
      j["trusted"] = p.trusted;
    j["subject"] = e.cert.subject();
    j["issuer_dn"] = e.cert.issuer();
    j["serial"] = e.cert.serial_hex();
    j["sha256_fingerprint"] = e.cert.sha256_fingerprint();
    j["not_before"] = format_time(e.cert.not_before());
    j["not_after"] = format_time(e.cert.not_after());
    j["version"] = p.cert.version;
    // As the certificate says it was signed (the signer's key decides: an EC leaf under an RSA CA
    // carries sha256WithRSAEncryption).
    j["signature_algorithm"] = e.cert.signature_algorithm();
    j["key"] = {{"type", key_type_name(e.key.type())}, {"description", e.key.description()}};
    if (p.key_from)
      j["key"]["shared_with"] = *p.key_from;
    j["san"] = p.cert.subject_alt_names;
    j["defects"] = p.defects;
    if (p.revocation)
      j["revocation"] = {{"date", format_time(p.revocation->date)},
                         {"reason", p.revocation->reason}};
    json files = {{"cert", f.cert}, {"key", f.key}};
    if (formats.chains) {
      files["chain"] = f.chain;
      files["fullchain"] = f.fullchain;
    }
    if (formats.der)
      files["der"] = f.der;
    if (formats.p12)
      files["p12"] = p.mismatched_key ? json(nullptr) : json(f.p12);
    if (p.crl) {
      files["crl"] = f.crl;
      j["crl"] = {{"this_update", format_time(p.crl->this_update)},
                  {"next_update", format_time(p.crl->next_update)},
                  {"number", p.crl->number}};
    }
    j["files"] = files;
    j["expected_verification"] = verify_json(expected_verification(s, p));
    entities[p.name] = j;
  }
  m["entities"] = entities;
  return m;
}

// The staging tree: every file written into it, with its SHA-256 for the manifest's file_sha256.
class Staging {
public:
  explicit Staging(fs::path dir) : dir_(std::move(dir)) {}
  void put(const std::string& name, std::string_view data, bool secret) {
    write_new_file(dir_ / name, data, secret ? private_mode : public_mode);
    std::string digest = sha256_hex(data);
    std::lock_guard lock(mutex_);
    digests_[name] = std::move(digest);
  }
  [[nodiscard]] const std::map<std::string, std::string>& digests() const { return digests_; }

private:
  fs::path dir_;
  std::mutex mutex_;
  std::map<std::string, std::string> digests_;
};

} // namespace

std::string manifest_json(const IssuedPki& pki, const Formats& formats) {
  return manifest_document(pki, formats).dump(2) + "\n";
}

void write_pki(const IssuedPki& pki, const fs::path& out, const Formats& formats) {
  const fs::path target = out.has_filename() ? out : out.parent_path();
  std::error_code ec;
  // Never swap away a directory that is not ours (a mistyped --out $HOME must not vanish).
  if (fs::exists(target, ec) && fs::is_directory(target, ec) && !fs::is_empty(target, ec) &&
      !fs::exists(target / "manifest.json", ec))
    throw Error(Errc::invalid_input, "refusing to replace " + target.string() +
                                         ": it is not empty and holds no manifest.json of a PKI");
  TempDir staging(target);
  const auto& dir = staging.path();
  Staging files(dir);

  std::string anchors, crls;
  for (const auto& e : pki.entities)
    if (e.plan->profile == Profile::root && e.plan->trusted)
      anchors += e.cert.pem();
  for (const auto& [name, crl] : pki.crls)
    crls += crl.pem();
  files.put("trust-anchors.pem", anchors, false);
  files.put("crls.pem", crls, false);

  // Per-entity files are independent; PKCS#12's key derivation dominates, so spread them out.
  // The manifest is built meanwhile on this thread.
  std::vector<std::exception_ptr> errors(pki.entities.size());
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  json manifest;
  std::exception_ptr manifest_error;
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (std::size_t i = t; i < pki.entities.size(); i += threads) {
          try {
            const auto& e = pki.entities[i];
            const auto f = file_names(e.plan->name);
            const std::string leaf = e.cert.pem();
            files.put(f.cert, leaf, false);
            files.put(f.key, e.key_file.pkcs8_pem(), true);
            if (formats.chains) {
              std::string chain = leaf;
              for (const auto& c : e.intermediates)
                chain += c.pem();
              files.put(f.chain, chain, false);
              files.put(f.fullchain, e.root ? chain + e.root->pem() : chain, false);
            }
            if (formats.der)
              files.put(f.der, to_string(e.cert.der()), false);
            if (formats.p12 && !e.plan->mismatched_key) {
              std::optional<DeterministicRandom> rng;
              if (pki.seed)
                rng.emplace(*pki.seed, "p12:" + e.plan->name);
              files.put(f.p12, pkcs12(e, pki.spec.p12_password), true);
            }
            if (auto it = pki.crls.find(e.plan->name); it != pki.crls.end())
              files.put(f.crl, it->second.pem(), false);
          } catch (...) {
            errors[i] = std::current_exception();
          }
        }
      });
    }
    try {
      manifest = manifest_document(pki, formats);
    } catch (...) {
      manifest_error = std::current_exception(); // reported after the files' errors, as before
    }
  }
  for (const auto& err : errors)
    if (err)
      std::rethrow_exception(err);
  if (manifest_error)
    std::rethrow_exception(manifest_error);
  // What each file held when it was written, so that a copy can be checked against it (a run's
  // snapshot, pki/snapshot.hpp).
  manifest["file_sha256"] = files.digests();
  write_new_file(dir / "manifest.json", manifest.dump(2) + "\n", public_mode);
  if (::chmod(dir.c_str(), 0755) != 0)
    throw Error(Errc::io, "cannot set the mode of " + dir.string() + ": " + std::strerror(errno));
  replace_directory(dir, target);
  staging.release();
}

} // namespace pki
