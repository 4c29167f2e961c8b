// Commands as a user would type them: the runner prints how to reproduce each side of a case.
#pragma once

#include <string>
#include <vector>

namespace harness {

// Shell-quotes argv for a command a user can paste.
[[nodiscard]] std::string shell_join(const std::vector<std::string>& argv);

} // namespace harness
