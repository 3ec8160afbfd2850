// Test helpers: a fresh temporary directory per test, store shortcuts, and a
// matcher-like macro that prints a non-OK Status.
#pragma once

#include <barrot/barrot.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace barrot::test {

// A fresh directory under $TMPDIR (or /tmp), removed on destruction unless
// BARROT_KEEP_TEST_DIRS is set (then its path is printed).
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return m_path; }
  std::string operator/(const std::string& name) const { return m_path + "/" + name; }

private:
  std::string m_path;
};

// Options for a store in `dir`/snapshots.
Options options_in(const TempDir& dir);

// Opens a store and REQUIREs success.
std::unique_ptr<Store> open_store(const Options& options);

std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);
bool file_exists(const std::string& path);
std::vector<std::string> read_lines(const std::string& path);
std::vector<std::string> list_dir(const std::string& path); // names, sorted, no . and ..

// Runs `sql` on the database at `path` with a plain SQLite connection.
void exec_sql(const std::string& path, const std::string& sql);
std::int64_t query_int(const std::string& path, const std::string& sql);

ActionInput action(const std::string& type, Json details = Json::object());

} // namespace barrot::test

#define REQUIRE_OK(expr)                                                                           \
  do {                                                                                             \
    ::barrot::Status barrot_test_status_ = (expr);                                                 \
    INFO(barrot_test_status_.ToString());                                                          \
    REQUIRE(barrot_test_status_.ok());                                                             \
  } while (false)
