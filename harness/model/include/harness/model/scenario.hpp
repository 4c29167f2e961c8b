// Scenarios: what should happen between a client and a server, as strictly parsed JSON.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "harness/model/flow.hpp"
#include "harness/model/observation.hpp"
#include "harness/model/pki_dir.hpp"
#include "harness/model/tls_config.hpp"

namespace harness {

enum class ChainShape { invalid, full, leaf_only, reversed };
enum class ExpectedResult { invalid, accepted, rejected };
[[nodiscard]] std::string_view to_string(ChainShape c);
[[nodiscard]] std::string_view to_string(ExpectedResult r);

struct ServerSide {
  std::string cert;                    // PKI entity
  ChainShape chain = ChainShape::full; // what the server sends after its leaf
  ClientAuth client_auth = ClientAuth::none;
  std::vector<std::string> trust{"root"}; // trust anchors (PKI entities) for client certificates
  bool crl_check = false;
  // Certificates (PKI entities) the server sends after its chain: unrelated to its path, which a
  // verifier must ignore (RFC 8446 §4.4.2 allows them; RFC 5246 §7.4.2 orders the list strictly).
  std::vector<std::string> extra_certs;
};

struct ClientSide {
  std::optional<std::string> cert; // PKI entity, or none
  std::vector<std::string> trust{"root"};
  std::string server_name = "localhost"; // empty: no name (JSON null), so no SNI and no name check
  bool verify = true;
  bool crl_check = false; // the client checks the server's certificate against the PKI's CRLs
};

struct Expectation {
  ExpectedResult result = ExpectedResult::invalid;
  std::optional<Side> by;           // who must reject (rejected only)
  std::vector<std::string> reasons; // acceptable canonical reasons (rejected only)
  std::vector<std::string> alerts;  // acceptable alert names on the wire (empty: any or none)
  // The handshake on the wire, per TLS version (`expect.flow`: one list for every version, or an
  // object keyed by "1.2" / "1.3"); a version without one is not flow-checked.
  std::vector<std::pair<TlsVersion, Flow>> flows;
};

struct Scenario {
  std::string id;
  std::string title;
  std::string description;
  std::filesystem::path file;
  ServerSide server;
  ClientSide client;
  std::vector<TlsVersion> tls{TlsVersion::tls12, TlsVersion::tls13};
  std::string key_exchange;           // "", "rsa" (TLS 1.2 static RSA), "ecdhe"
  std::vector<std::string> requires_; // capabilities both peers must have ("client_cert", …)
  Expectation expect;
};

// The flow the scenario expects for `version`, or null.
[[nodiscard]] const Flow* expected_flow(const Scenario& s, TlsVersion version);

// Every capability name a scenario may require.
[[nodiscard]] const std::vector<std::string>& known_capabilities();

// Parses one scenario file (strict: unknown keys, bad values and entities the PKI lacks are
// errors naming the file and JSON pointer). `pki` may be null to skip the entity check.
[[nodiscard]] Scenario load_scenario(const std::filesystem::path& file, const PkiDir* pki);

// All *.json files of a directory (sorted), or one file. Duplicate ids are errors.
[[nodiscard]] std::vector<Scenario> load_scenarios(const std::filesystem::path& path,
                                                   const PkiDir* pki);

} // namespace harness
