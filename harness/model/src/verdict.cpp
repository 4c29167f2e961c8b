// Names of the grades (the strings of results.json).
#include "harness/model/verdict.hpp"

namespace harness {

std::string_view to_string(Grade g) {
  switch (g) {
  case Grade::pass:
    return "pass";
  case Grade::wrong_reason:
    return "wrong_reason";
  case Grade::fail:
    return "fail";
  case Grade::not_applicable:
    return "not_applicable";
  case Grade::refused:
    return "refused";
  case Grade::timeout:
    return "timeout";
  case Grade::harness_error:
    return "harness_error";
  case Grade::flaky:
    return "flaky";
  case Grade::adapter_broken:
    return "adapter_broken";
  case Grade::expected_failure:
    return "expected_failure";
  case Grade::unexpected_pass:
    return "unexpected_pass";
  case Grade::invalid:
    break;
  }
  return "invalid";
}

} // namespace harness
