// Shared by the classifier tests: a peer's real outputs captured by data/capture-<peer>.sh, fed
// to that peer's definition (peers/<peer>.json).
#pragma once

#include <cctype>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

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

// One captured side of a defect scenario (data/defect-scenarios, captured by capture-<peer>.sh):
// what the definition must make of it.
struct DefectCapture {
  const char* name;   // the scenario id, e.g. "defect-server-bad-signature"
  const char* tls;    // "1.2" or "1.3"
  harness::Side side; // the peer's side in the capture
  harness::Outcome outcome;
  const char* reason; // the canonical reason ("" = none expected, e.g. completed)
  friend std::ostream& operator<<(std::ostream& os, const DefectCapture& d) {
    return os << d.name << " " << d.tls << " " << harness::to_string(d.side);
  }
};

// The definition of `peer` classifies the capture as expected: outcome, reason, and (for a
// rejection or a refusal) the words it decided on kept as evidence.
inline void expect_defect_classified(const std::string& peer, const DefectCapture& d) {
  const auto o = observe_captured(peer, d.name, d.tls, d.side);
  EXPECT_EQ(o.outcome, d.outcome) << o.error_text;
  EXPECT_EQ(o.reason, d.reason) << o.error_text;
  if (d.outcome == harness::Outcome::refused) {
    EXPECT_EQ(o.phase, harness::Phase::setup);
  }
  if (d.outcome == harness::Outcome::rejected || d.outcome == harness::Outcome::refused) {
    EXPECT_FALSE(o.error_text.empty());
  }
}

// "defect-server-bad-signature", "1.3", client -> "DefectServerBadSignatureTls13Client".
inline std::string defect_case_name(const DefectCapture& d) {
  std::string side(harness::to_string(d.side));
  side[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(side[0])));
  return captured_case_name(d.name, d.tls) + side;
}

} // namespace testing_support
