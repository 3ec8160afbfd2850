#include "support/test_util.h"

#include "util/sha256.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace barrot::test {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/barrot-test-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  char* made = ::mkdtemp(buf.data());
  REQUIRE(made != nullptr);
  m_path = made;
}

TempDir::~TempDir() {
  if (std::getenv("BARROT_KEEP_TEST_DIRS") != nullptr) {
    std::cerr << "kept test directory " << m_path << "\n";
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

Options options_in(const TempDir& dir) {
  Options o;
  o.snapshots_dir = dir / "snapshots";
  return o;
}

std::unique_ptr<Store> open_store(const Options& options) {
  auto store = Store::Open(options);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(path)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void exec_sql(const std::string& path, const std::string& sql) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  db.exec(sql);
}

std::int64_t query_int(const std::string& path, const std::string& sql) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  return db.execAndGet(sql).getInt64();
}

ActionInput action(const std::string& type, Json details) {
  ActionInput in;
  in.type = type;
  in.details = std::move(details);
  return in;
}

FileSizeLimit::FileSizeLimit(std::uint64_t bytes) {
  struct rlimit saved {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  REQUIRE((saved.rlim_max == RLIM_INFINITY || bytes <= saved.rlim_max));
  m_saved_cur = saved.rlim_cur;
  m_saved_max = saved.rlim_max;
  // What the test printed so far goes out before the limit could cut it.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  m_saved_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = bytes;
  if (::setrlimit(RLIMIT_FSIZE, &small) != 0) {
    std::signal(SIGXFSZ, m_saved_handler);
    FAIL("setrlimit(RLIMIT_FSIZE) failed");
  }
  m_active = true;
}

void FileSizeLimit::lift() {
  if (!m_active) {
    return;
  }
  struct rlimit saved {};
  saved.rlim_cur = m_saved_cur;
  saved.rlim_max = m_saved_max;
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, m_saved_handler);
  m_active = false;
}

std::string chain_hash_hex(const std::string& prev_hex, const std::string& compact) {
  return util::sha256_hex(prev_hex + compact);
}

Json with_chain(Json doc, std::int64_t seq, const std::string& prev_hex) {
  const std::string hash = chain_hash_hex(prev_hex, doc.dump());
  Json record = Json::object();
  record["seq"] = seq;
  record["prev"] = prev_hex;
  record["hash"] = hash;
  doc["metadata"]["chain"] = record;
  return doc;
}

Json mirrored(const Snapshot& s) {
  REQUIRE(s.chain.has_value());
  CHECK(s.chain->hash == chain_hash_hex(s.chain->prev, s.document.dump()));
  return with_chain(s.document, s.chain->seq, s.chain->prev);
}

std::string chain_head_hex(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement st(db,
                       "SELECT lower(hex(chain_prev)), document FROM snapshots ORDER BY seq DESC "
                       "LIMIT 1");
  if (!st.executeStep()) {
    return k_genesis_hex;
  }
  return chain_hash_hex(st.getColumn(0).getString(), st.getColumn(1).getString());
}

} // namespace barrot::test
