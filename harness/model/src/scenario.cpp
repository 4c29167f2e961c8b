// Strict scenario parsing: the vocabulary of a case, with errors naming file and JSON pointer.
#include "harness/model/scenario.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/json_node.hpp"

namespace harness {
namespace {

using common::JsonNode;
using tlsmatrix::Errc;
using tlsmatrix::Error;

const std::vector<std::string> capabilities = {
    "tls1.2", "tls1.3",    "client_cert", "sni",  "hostname_check", "crl_check", "keylog",
    "rsa_kx", "no_verify", "chain_order", "http", "ipv6_name",      "ed25519",   "no_server_name"};

std::optional<ClientAuth> parse_client_auth(const std::string& s) {
  if (s == "none")
    return ClientAuth::none;
  if (s == "request")
    return ClientAuth::request;
  if (s == "require")
    return ClientAuth::require;
  return std::nullopt;
}

std::optional<ChainShape> parse_chain(const std::string& s) {
  if (s == "full")
    return ChainShape::full;
  if (s == "leaf_only")
    return ChainShape::leaf_only;
  if (s == "reversed")
    return ChainShape::reversed;
  return std::nullopt;
}

std::optional<TlsVersion> parse_version(const std::string& s) {
  if (s == "1.2")
    return TlsVersion::tls12;
  if (s == "1.3")
    return TlsVersion::tls13;
  return std::nullopt;
}

std::string joined(const auto& items) {
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : ", ") + std::string(i);
  return out;
}

void check_entity(const JsonNode& node, const std::string& name, const PkiDir* pki) {
  if (pki != nullptr && !pki->has(name))
    node.fail("no entity \"" + name + "\" in the PKI " + (pki->dir() / "manifest.json").string());
}

std::vector<std::string> trust_list(const JsonNode& node, const PkiDir* pki) {
  auto list = node.strings();
  for (std::size_t i = 0; i < list.size(); ++i)
    check_entity(node.element(i), list[i], pki);
  return list;
}

Flow parse_flow(const JsonNode& node) {
  if (!node.value().is_array() || node.value().empty())
    node.fail(
        "expected a non-empty list of steps such as [\"C: ClientHello\", \"S: ServerHello\"]");
  Flow f;
  for (std::size_t i = 0; i < node.value().size(); ++i) {
    const JsonNode el = node.element(i);
    std::string error;
    auto step = parse_flow_step(el.string(), error);
    if (!step)
      el.fail(error);
    f.steps.push_back(std::move(*step));
  }
  return f;
}

} // namespace

const Flow* expected_flow(const Scenario& s, TlsVersion version) {
  for (const auto& [v, f] : s.expect.flows)
    if (v == version)
      return &f;
  return nullptr;
}

std::string_view to_string(ChainShape c) {
  switch (c) {
  case ChainShape::full:
    return "full";
  case ChainShape::leaf_only:
    return "leaf_only";
  case ChainShape::reversed:
    return "reversed";
  case ChainShape::invalid:
    break;
  }
  return "invalid";
}

std::string_view to_string(ExpectedResult r) {
  switch (r) {
  case ExpectedResult::accepted:
    return "accepted";
  case ExpectedResult::rejected:
    return "rejected";
  case ExpectedResult::invalid:
    break;
  }
  return "invalid";
}

const std::vector<std::string>& known_capabilities() {
  return capabilities;
}

Scenario load_scenario(const std::filesystem::path& file, const PkiDir* pki) {
  const std::string origin = file.string();
  const auto doc = common::parse_json_document(common::read_file(file), origin);
  const JsonNode root(doc, "", origin);
  root.only_keys({"version", "id", "title", "description", "server", "client", "tls",
                  "key_exchange", "requires", "expect"});
  if (root.required("version", "1").integer(1, 1000) != 1)
    root.child("version").fail("unsupported version (this tool reads version 1)");

  Scenario s;
  s.file = file;
  s.id = root.required("id", "a short id such as \"server-expired\"").string();
  if (s.id.empty() || !std::all_of(s.id.begin(), s.id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      }))
    root.child("id").fail("ids use letters, digits, '-', '_' and '.' (they name result folders)");
  s.title = root.required("title", "a one-line title").string();
  if (auto d = root.optional_child("description"))
    s.description = d->string();

  const JsonNode server = root.required(
      "server", "an object {cert, chain, extra_certs, client_auth, trust, crl_check}");
  server.only_keys({"cert", "chain", "extra_certs", "client_auth", "trust", "crl_check"});
  s.server.cert = server.required("cert", "a PKI entity name such as \"server\"").string();
  check_entity(server.child("cert"), s.server.cert, pki);
  if (auto n = server.optional_child("chain"))
    s.server.chain = n->one_of("full, leaf_only, reversed", parse_chain);
  if (auto n = server.optional_child("extra_certs")) {
    s.server.extra_certs = n->strings();
    if (s.server.extra_certs.empty())
      n->fail("expected a non-empty array of PKI entity names (leave it out for none)");
    for (std::size_t i = 0; i < s.server.extra_certs.size(); ++i)
      check_entity(n->element(i), s.server.extra_certs[i], pki);
  }
  if (auto n = server.optional_child("client_auth"))
    s.server.client_auth = n->one_of("none, request, require", parse_client_auth);
  if (auto n = server.optional_child("trust"))
    s.server.trust = trust_list(*n, pki);
  if (auto n = server.optional_child("crl_check"))
    s.server.crl_check = n->boolean();

  const JsonNode client =
      root.required("client", "an object {cert, trust, server_name, verify, crl_check}");
  client.only_keys({"cert", "trust", "server_name", "verify", "crl_check"});
  if (auto n = client.optional_child("cert"); n && !n->value().is_null()) {
    s.client.cert = n->string();
    check_entity(*n, *s.client.cert, pki);
  }
  if (auto n = client.optional_child("trust"))
    s.client.trust = trust_list(*n, pki);
  if (auto n = client.optional_child("server_name"); n && !n->value().is_null()) {
    s.client.server_name = n->string();
    if (s.client.server_name.empty())
      n->fail("expected a host name, an IP address, or null (no name: no SNI, no name check)");
  } else if (n) {
    s.client.server_name.clear();
  }
  if (auto n = client.optional_child("verify"))
    s.client.verify = n->boolean();
  if (auto n = client.optional_child("crl_check")) {
    s.client.crl_check = n->boolean();
    if (s.client.crl_check && !s.client.verify)
      n->fail("a client that does not verify (verify: false) checks no CRL");
  }

  if (auto n = root.optional_child("tls")) {
    s.tls.clear();
    if (!n->value().is_array() || n->value().empty())
      n->fail("expected a non-empty array such as [\"1.2\", \"1.3\"]");
    for (std::size_t i = 0; i < n->value().size(); ++i) {
      const auto v = n->element(i).one_of("\"1.2\", \"1.3\"", parse_version);
      if (std::find(s.tls.begin(), s.tls.end(), v) != s.tls.end())
        n->element(i).fail("listed twice");
      s.tls.push_back(v);
    }
  }
  if (auto n = root.optional_child("key_exchange")) {
    s.key_exchange = n->string();
    if (s.key_exchange != "rsa" && s.key_exchange != "ecdhe")
      n->fail("expected one of rsa, ecdhe, got \"" + s.key_exchange + "\"");
    if (s.key_exchange == "rsa" &&
        std::find(s.tls.begin(), s.tls.end(), TlsVersion::tls13) != s.tls.end())
      n->fail("RSA key exchange exists only in TLS 1.2: set \"tls\": [\"1.2\"]");
    if (s.key_exchange == "rsa" && pki != nullptr &&
        !pki->key_type(s.server.cert).starts_with("rsa"))
      n->fail("RSA key exchange needs an RSA server certificate; \"" + s.server.cert + "\" has a " +
              pki->key_type(s.server.cert) + " key");
  }
  if (auto n = root.optional_child("requires")) {
    s.requires_ = n->strings();
    for (std::size_t i = 0; i < s.requires_.size(); ++i)
      if (std::find(capabilities.begin(), capabilities.end(), s.requires_[i]) == capabilities.end())
        n->element(i).fail("unknown capability \"" + s.requires_[i] + "\" (expected one of " +
                           joined(capabilities) + ")");
  }
  // Implied capabilities, so a scenario cannot forget them.
  auto implies = [&](bool condition, const char* cap) {
    if (condition && std::find(s.requires_.begin(), s.requires_.end(), cap) == s.requires_.end())
      s.requires_.emplace_back(cap);
  };
  implies(s.client.cert.has_value() || s.server.client_auth != ClientAuth::none, "client_cert");
  implies(s.server.crl_check || s.client.crl_check, "crl_check");
  implies(s.key_exchange == "rsa", "rsa_kx");
  implies(!s.client.verify, "no_verify");
  // Only a peer that sends its chain file as given can send it out of order or with extras.
  implies(s.server.chain == ChainShape::reversed || !s.server.extra_certs.empty(), "chain_order");
  implies(is_ipv6_literal(s.client.server_name), "ipv6_name");
  implies(s.client.server_name.empty(), "no_server_name");

  const JsonNode expect = root.required("expect", "an object {result, by, reasons, alerts}");
  expect.only_keys({"result", "by", "reasons", "alerts", "flow"});
  s.expect.result = expect.required("result", "accepted or rejected")
                        .one_of("accepted, rejected", [](const std::string& r) {
                          return r == "accepted"   ? std::optional(ExpectedResult::accepted)
                                 : r == "rejected" ? std::optional(ExpectedResult::rejected)
                                                   : std::nullopt;
                        });
  if (s.expect.result == ExpectedResult::rejected) {
    s.expect.by = expect.required("by", "client or server (who must reject)")
                      .one_of("client, server", [](const std::string& b) {
                        return b == "client"   ? std::optional(Side::client)
                               : b == "server" ? std::optional(Side::server)
                                               : std::nullopt;
                      });
    const JsonNode reasons = expect.required("reasons", "the acceptable canonical reasons");
    s.expect.reasons = reasons.strings();
    if (s.expect.reasons.empty())
      reasons.fail("list at least one acceptable reason");
    for (std::size_t i = 0; i < s.expect.reasons.size(); ++i)
      if (!canonical_reasons().contains(s.expect.reasons[i]))
        reasons.element(i).fail("unknown reason \"" + s.expect.reasons[i] + "\" (expected one of " +
                                joined(canonical_reasons()) + ")");
  } else {
    for (auto key : {"by", "reasons"})
      if (expect.has(key))
        expect.child(key).fail("only a rejected expectation names who rejects and why");
  }
  if (auto n = expect.optional_child("alerts")) {
    s.expect.alerts = n->strings();
    for (std::size_t i = 0; i < s.expect.alerts.size(); ++i)
      if (!alert_names().contains(s.expect.alerts[i]))
        n->element(i).fail(unknown_alert_message(s.expect.alerts[i]));
  }
  if (auto n = expect.optional_child("flow")) {
    if (n->value().is_array()) {
      const Flow f = parse_flow(*n);
      for (auto v : s.tls)
        s.expect.flows.emplace_back(v, f);
    } else if (n->value().is_object()) {
      n->only_keys({"1.2", "1.3"});
      for (auto v : s.tls) {
        const std::string key(to_string(v));
        if (n->has(key))
          s.expect.flows.emplace_back(v, parse_flow(n->child(key)));
      }
      for (const auto& [key, value] : n->value().items())
        if (std::none_of(s.tls.begin(), s.tls.end(),
                         [&](TlsVersion v) { return to_string(v) == key; }))
          n->child(key).fail("the scenario does not run TLS " + key + " (see /tls)");
    } else {
      n->fail("expected a list of steps such as [\"C: ClientHello\", \"S: ServerHello\"], or an "
              "object {\"1.2\": [...], \"1.3\": [...]}");
    }
  }
  return s;
}

std::vector<Scenario> load_scenarios(const std::filesystem::path& path, const PkiDir* pki) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(path, ec))
      if (entry.is_regular_file() && entry.path().extension() == ".json")
        files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    if (files.empty())
      throw Error(Errc::invalid_input, path.string() + ": no scenario files (*.json)");
  } else if (std::filesystem::exists(path, ec)) {
    files.push_back(path);
  } else {
    throw Error(Errc::invalid_input, path.string() + ": no such file or directory");
  }
  std::vector<Scenario> out;
  std::map<std::string, std::filesystem::path> seen;
  for (const auto& f : files) {
    auto s = load_scenario(f, pki);
    if (auto [it, fresh] = seen.emplace(s.id, f); !fresh)
      throw Error(Errc::invalid_input,
                  f.string() + ": /id: \"" + s.id + "\" is also the id of " + it->second.string());
    out.push_back(std::move(s));
  }
  return out;
}

bool is_ip_literal(const std::string& name) {
  in6_addr address{};
  return inet_pton(AF_INET, name.c_str(), &address) == 1 || is_ipv6_literal(name);
}

bool is_ipv6_literal(const std::string& name) {
  in6_addr address{};
  return inet_pton(AF_INET6, name.c_str(), &address) == 1;
}

} // namespace harness
