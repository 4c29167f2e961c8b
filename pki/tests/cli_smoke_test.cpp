// The binary answers --version and --help, and maps usage errors to exit code 2.
#include <gtest/gtest.h>

#include "support.hpp"

namespace {
using testing_support::run;
using testing_support::tlsmatrix_binary;

TEST(Cli, VersionAndHelp) {
  const auto v = run({tlsmatrix_binary(), "--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("tlsmatrix "), std::string::npos);
  const auto h = run({tlsmatrix_binary(), "--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("Exit codes"), std::string::npos);
}

TEST(Cli, UnknownOptionIsUsageError) {
  const auto r = run({tlsmatrix_binary(), "pki", "generate", "--no-such-option"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}
} // namespace
