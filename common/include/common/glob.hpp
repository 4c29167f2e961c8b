// Glob matching with * and ?: case filters, expectations entries, case lookups.
#pragma once

#include <string_view>

namespace common {

// Whether `text` matches `pattern` as a whole: * any run of characters (also none), ? any one
// character; everything else stands for itself (no brackets, no escapes).
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view text);

} // namespace common
