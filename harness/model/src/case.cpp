// Case ids: "<scenario>/<tls>/<client>-><server>".
#include "harness/model/case.hpp"

namespace harness {

std::optional<CaseIdParts> parse_case_id(std::string_view id) {
  const auto slash = id.rfind('/');
  if (slash == std::string_view::npos || slash == 0)
    return std::nullopt;
  const auto tls_slash = id.rfind('/', slash - 1);
  const auto arrow = id.find("->", slash);
  if (tls_slash == std::string_view::npos || tls_slash == 0 || arrow == std::string_view::npos)
    return std::nullopt;
  return CaseIdParts{std::string(id.substr(0, tls_slash)),
                     std::string(id.substr(tls_slash + 1, slash - tls_slash - 1)),
                     std::string(id.substr(slash + 1, arrow - slash - 1)),
                     std::string(id.substr(arrow + 2))};
}

} // namespace harness
