// A readable summary of a certificate that leads with what is special about it.
#pragma once

#include <string>
#include <vector>

#include "pki/certificate.hpp"
#include "pki/time.hpp"

namespace pki {

struct CertificateSummary {
  std::vector<std::pair<std::string, std::string>> fields; // label, value (in display order)
  std::vector<std::string> notable; // "expired 30 days ago", "signed with SHA-1", …
};

[[nodiscard]] CertificateSummary summarize(const Certificate& cert, TimePoint now);
[[nodiscard]] std::string format_summary(const CertificateSummary& summary);

} // namespace pki
