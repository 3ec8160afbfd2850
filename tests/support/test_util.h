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

// While alive, no write of this process may reach past byte `bytes` of a
// file (RLIMIT_FSIZE): one beyond fails with EFBIG, as on a full disk, and
// one that crosses it is cut short there. That holds for a rewrite in place
// too, and for the test's own output when it goes to a file: assert nothing
// while a limit is set. SIGXFSZ, which would end the process, is ignored
// meanwhile. lift() gives the room back early.
class FileSizeLimit {
public:
  explicit FileSizeLimit(std::uint64_t bytes);
  ~FileSizeLimit() { lift(); }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  void lift();

private:
  bool m_active = false;
  std::uint64_t m_saved_cur = 0;
  std::uint64_t m_saved_max = 0;
  void (*m_saved_handler)(int) = nullptr;
};

// The hash chain, computed here from its definition (docs/integrity.md)
// rather than by the library: sha256sum of prev (hex) followed by the
// compact document.
inline const std::string k_genesis_hex(64, '0');
std::string chain_hash_hex(const std::string& prev_hex, const std::string& compact);
// `doc` as the mirror carries it: metadata.chain = {seq, prev, hash}.
Json with_chain(Json doc, std::int64_t seq, const std::string& prev_hex);
// with_chain of a snapshot a write call returned, by its chain record (whose
// hash it CHECKs against the definition).
Json mirrored(const Snapshot& s);
// The hash the next snapshot of the database at `path` links to, from its
// newest row's chain_prev and document (no archives).
std::string chain_head_hex(const std::string& path);

} // namespace barrot::test

#define REQUIRE_OK(expr)                                                                           \
  do {                                                                                             \
    ::barrot::Status barrot_test_status_ = (expr);                                                 \
    INFO(barrot_test_status_.ToString());                                                          \
    REQUIRE(barrot_test_status_.ok());                                                             \
  } while (false)
