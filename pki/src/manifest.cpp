// Reading manifest.json: lenient about keys it does not know (a newer tlsmatrix may add some),
// strict about the types of those it reads and about what every reader needs.
#include "pki/manifest.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/json_node.hpp"

namespace pki {
namespace {

namespace fs = std::filesystem;
using common::JsonNode;
using tlsmatrix::Errc;
using tlsmatrix::Error;

std::optional<std::string> string_or_null(const JsonNode& n) {
  if (n.value().is_null())
    return std::nullopt;
  if (!n.value().is_string())
    n.fail("expected a string or null, got " + common::json_type_name(n.value()));
  return n.string();
}

std::string optional_string(const JsonNode& n, std::string_view key) {
  const auto child = n.optional_child(key);
  return child ? child->string() : std::string();
}

std::vector<std::string> optional_strings(const JsonNode& n, std::string_view key) {
  const auto child = n.optional_child(key);
  return child ? child->strings() : std::vector<std::string>();
}

// File names by kind; each must name a file in the PKI directory itself (it is read and copied
// from there), or be null.
std::map<std::string, std::optional<std::string>> files_of(const JsonNode& n) {
  n.expect_object();
  std::map<std::string, std::optional<std::string>> files;
  for (const auto& [kind, _] : n.value().items()) {
    const JsonNode f = n.child(kind);
    auto name = string_or_null(f);
    if (name &&
        (name->empty() || *name == "." || *name == ".." || name->find('/') != std::string::npos))
      f.fail("expected the name of a file in the PKI directory, got " + f.value().dump());
    files[kind] = std::move(name);
  }
  return files;
}

ManifestVerification verification_of(const JsonNode& n) {
  ManifestVerification v;
  v.result = n.required("result", "\"ok\" or \"error\"").string();
  v.reason = string_or_null(n.required("reason", "a canonical reason or null"));
  v.openssl_error =
      static_cast<int>(n.required("openssl_error", "an X509_V_ERR_* number").integer(0, 1 << 30));
  v.openssl_error_name = n.required("openssl_error_name", "an X509_V_ERR_* name").string();
  v.openssl_error_depth = static_cast<int>(
      n.required("openssl_error_depth", "a chain depth").integer(-(1 << 30), 1 << 30));
  if (const auto by = n.optional_child("caused_by")) {
    by->expect_object();
    if (const auto entity = by->optional_child("entity"))
      v.caused_by_entity = entity->string();
    if (const auto defect = by->optional_child("defect"))
      v.caused_by_defect = string_or_null(*defect);
  }
  v.note = optional_string(n, "note");
  return v;
}

ManifestEntity entity_of(const JsonNode& n) {
  n.expect_object();
  ManifestEntity e;
  e.description = optional_string(n, "description");
  e.profile = n.required("profile", "root, intermediate, server or client").string();
  if (const auto issuer = n.optional_child("issuer"))
    e.issuer = string_or_null(*issuer);
  e.chain = optional_strings(n, "chain");
  if (const auto trusted = n.optional_child("trusted"))
    e.trusted = trusted->boolean();
  e.subject = optional_string(n, "subject");
  e.sha256_fingerprint = optional_string(n, "sha256_fingerprint");
  e.key_type = n.required("key", "an object with the key's \"type\"")
                   .required("type", "a key type such as p256")
                   .string();
  e.san = optional_strings(n, "san");
  e.defects = optional_strings(n, "defects");
  const JsonNode files = n.required("files", "an object of the entity's files");
  e.files = files_of(files);
  for (const char* kind : {"cert", "key"})
    if (!e.files.contains(kind))
      files.missing(kind, "the name of its " + std::string(kind) + " file");
    else if (!e.files.at(kind))
      files.child(kind).fail("expected the name of a file, got null");
  if (const auto v = n.optional_child("expected_verification")) {
    v->expect_object();
    e.expected_verification = verification_of(*v);
  }
  return e;
}

} // namespace

std::string ManifestEntity::file(std::string_view kind) const {
  const auto it = files.find(std::string(kind));
  return it == files.end() || !it->second ? std::string() : *it->second;
}

Manifest parse_manifest(std::string_view text, const fs::path& file) {
  const nlohmann::json document = common::parse_json_document(text, file.string());
  // Every structural error says what the file is not, then where and why.
  const std::string origin = file.string() + ": not a tlsmatrix manifest";
  const JsonNode root(document, "", origin);
  root.expect_object();
  Manifest m;
  m.file = file;
  if (const JsonNode v = root.required("version", "1"); v.value() != 1)
    v.fail("expected 1, got " + v.value().dump() + " (this tlsmatrix reads version 1 manifests)");
  m.spec = optional_string(root, "spec");
  m.now = optional_string(root, "now");
  m.server_name = optional_string(root, "server_name");
  if (const auto password = root.optional_child("p12_password"))
    m.p12_password = password->string();
  if (const auto files = root.optional_child("files"))
    m.files = files_of(*files);
  const JsonNode entities = root.required("entities", "an object of entities");
  entities.expect_object();
  for (const auto& [name, _] : entities.value().items())
    m.entities[name] = entity_of(entities.child(name));
  // The strict reader's objects are sorted by key; the order the writer chose is kept apart.
  const auto in_order = nlohmann::ordered_json::parse(text);
  for (const auto& [name, _] : in_order.at("entities").items())
    m.entity_order.push_back(name);
  if (const auto digests = root.optional_child("file_sha256")) {
    digests->expect_object();
    for (const auto& [name, _] : digests->value().items()) {
      const JsonNode d = digests->child(name);
      if (!d.value().is_string())
        d.fail("expected a hex SHA-256, got " + d.value().dump());
      m.file_sha256[name] = d.string();
    }
  }
  return m;
}

Manifest read_manifest(const fs::path& dir) {
  const fs::path file = dir / "manifest.json";
  std::error_code ec;
  if (!fs::exists(file, ec))
    throw Error(Errc::invalid_input, "no PKI at " + dir.string() + ": " + file.string() +
                                         " does not exist (run `tlsmatrix pki generate --out " +
                                         dir.string() + "`)");
  return parse_manifest(common::read_file(file), file);
}

} // namespace pki
