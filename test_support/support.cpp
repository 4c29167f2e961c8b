// Test support implementation. Boost.Process v2 lives in this one translation unit (heavy headers).
#include "support.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <stdlib.h>

#include <boost/asio.hpp>
#include <boost/process/v2.hpp>

namespace testing_support {
namespace asio = boost::asio;
namespace bp = boost::process::v2;
namespace fs = std::filesystem;

namespace {
void read_all(asio::readable_pipe& pipe, std::string& sink, std::array<char, 4096>& buf) {
  pipe.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
    if (ec)
      return;
    sink.append(buf.data(), n);
    read_all(pipe, sink, buf);
  });
}
} // namespace

CommandResult run(const std::vector<std::string>& argv, const std::string& input,
                  std::chrono::milliseconds deadline, const std::optional<fs::path>& cwd) {
  if (argv.empty())
    throw std::invalid_argument("run: empty argv");
  // Process v2 in Boost 1.81 speaks boost::filesystem (its std::filesystem mode does not compile).
  boost::filesystem::path exe = argv[0];
  if (argv[0].find('/') == std::string::npos) {
    exe = bp::environment::find_executable(argv[0]);
    if (exe.empty())
      throw std::runtime_error("run: program not found on PATH: " + argv[0]);
  }
  asio::io_context ctx;
  asio::readable_pipe out(ctx), err(ctx);
  asio::writable_pipe in(ctx);
  const std::vector<std::string> args(argv.begin() + 1, argv.end());
  bp::process proc = cwd ? bp::process(ctx, exe, args, bp::process_stdio{in, out, err},
                                       bp::process_start_dir{cwd->string()})
                         : bp::process(ctx, exe, args, bp::process_stdio{in, out, err});
  CommandResult result;
  std::array<char, 4096> out_buf{}, err_buf{};
  read_all(out, result.out, out_buf);
  read_all(err, result.err, err_buf);
  asio::async_write(in, asio::buffer(input),
                    [&](boost::system::error_code, std::size_t) { in.close(); });
  asio::steady_timer timer(ctx, deadline);
  bool exited = false;
  proc.async_wait([&](boost::system::error_code, int code) {
    exited = true;
    result.exit_code = code;
    timer.cancel();
  });
  timer.async_wait([&](boost::system::error_code ec) {
    if (ec || exited)
      return;
    result.timed_out = true;
    boost::system::error_code ignored;
    proc.terminate(ignored);
  });
  ctx.run();
  if (result.timed_out)
    result.exit_code = -1;
  return result;
}

bool have_program(const std::string& program) {
  return !bp::environment::find_executable(program).empty();
}

std::string tlsmatrix_binary() {
  return TLSMATRIX_BINARY;
}
fs::path source_dir() {
  return TLSMATRIX_SOURCE_DIR;
}

ScratchDir::ScratchDir() {
  std::string tmpl = (fs::temp_directory_path() / "tlsmatrix-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string sha256sum_listing(const fs::path& dir) {
  const auto r = run({"sh", "-c", "cd \"$1\" && ls | LC_ALL=C sort | xargs sha256sum | sha256sum",
                      "sh", dir.string()});
  if (r.exit_code != 0 || r.out.size() < 64)
    throw std::runtime_error("sha256sum over " + dir.string() + " failed: " + r.err);
  return r.out.substr(0, 64);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out)
    throw std::runtime_error("cannot write " + path.string());
}

} // namespace testing_support
