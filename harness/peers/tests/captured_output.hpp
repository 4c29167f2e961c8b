// Shared by the classifier tests: a peer's real outputs captured by data/capture-<peer>.sh, fed
// to that peer's definition (peers/<peer>.json).
#pragma once

#include <cctype>
#include <string>

#include "harness/peers/peer.hpp"
#include "harness/peers/registry.hpp"
#include "support.hpp"

namespace testing_support {

// The observation the definition of `peer` makes of data/<peer>/<name>.<tls>.<side>.{out,err,exit}.
inline harness::SideObservation observe_captured(const std::string& peer, const std::string& name,
                                                 const std::string& tls, harness::Side side,
                                                 bool verify = true) {
  harness::TlsConfig config;
  config.version = tls == "1.2" ? harness::TlsVersion::tls12 : harness::TlsVersion::tls13;
  config.verify = verify;
  const auto base = (source_dir() / "harness/tests/data" / peer /
                     (name + "." + tls + "." + std::string(harness::to_string(side))))
                        .string();
  harness::ProcessResult r;
  r.out = read_text(base + ".out");
  r.err = read_text(base + ".err");
  r.exit_code = std::stoi(read_text(base + ".exit"));
  return harness::classify_peer_output(source_dir() / "harness/peers" / (peer + ".json"), side, r,
                                       config);
}

// The first fatal alert a side says it sent (or received), "" if none.
inline std::string first_fatal_alert(const harness::SideObservation& o, bool sent) {
  for (const auto& a : o.alerts)
    if (a.sent == sent && a.fatal)
      return a.name();
  return {};
}

// "server-expired", "1.3" -> "ServerExpiredTls13": a gtest parameter name.
inline std::string captured_case_name(const std::string& name, const std::string& tls) {
  std::string out;
  bool up = true;
  for (char c : name + "Tls" + tls) {
    if (c == '-' || c == '.') {
      up = true;
      continue;
    }
    out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    up = false;
  }
  return out;
}

} // namespace testing_support
