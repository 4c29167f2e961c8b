// Closing a descriptor, once.
#include "common/fd.hpp"

#include <unistd.h>

namespace common {

void Fd::reset(int fd) noexcept {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = fd;
}

} // namespace common
