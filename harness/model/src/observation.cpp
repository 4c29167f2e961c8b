// Names of the observation vocabulary (also the strings of results.json).
#include "harness/model/observation.hpp"

#include <string>

#include "harness/model/tls_config.hpp"
#include "harness/wire/trace.hpp"

namespace harness {

std::string_view to_string(TlsVersion v) {
  switch (v) {
  case TlsVersion::tls12:
    return "1.2";
  case TlsVersion::tls13:
    return "1.3";
  case TlsVersion::invalid:
    break;
  }
  return "invalid";
}

std::string_view to_string(Side s) {
  switch (s) {
  case Side::client:
    return "client";
  case Side::server:
    return "server";
  case Side::invalid:
    break;
  }
  return "invalid";
}

std::string_view to_string(Outcome o) {
  switch (o) {
  case Outcome::completed:
    return "completed";
  case Outcome::rejected:
    return "rejected";
  case Outcome::error:
    return "error";
  case Outcome::timeout:
    return "timeout";
  case Outcome::refused:
    return "refused";
  case Outcome::invalid:
    break;
  }
  return "invalid";
}

std::string_view to_string(Phase p) {
  switch (p) {
  case Phase::setup:
    return "setup";
  case Phase::tcp:
    return "tcp";
  case Phase::handshake:
    return "handshake";
  case Phase::first_read:
    return "first_read";
  case Phase::application_data:
    return "application_data";
  case Phase::done:
    return "done";
  case Phase::invalid:
    break;
  }
  return "invalid";
}

std::string_view to_string(ClientAuth a) {
  switch (a) {
  case ClientAuth::none:
    return "none";
  case ClientAuth::request:
    return "request";
  case ClientAuth::require:
    return "require";
  case ClientAuth::invalid:
    break;
  }
  return "invalid";
}

std::string AlertEvent::name() const {
  return wire::alert_name(description);
}

} // namespace harness
