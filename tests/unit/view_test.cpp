// The readable layout of `barrot latest` and `barrot view`.
#include "support/test_util.h"

#include <sys/stat.h>

#include <sstream>
#include <thread>

using namespace barrot;
using namespace barrot::test;

TEST_CASE("format_snapshot lays a periodic snapshot out in sections", "[view]") {
  Snapshot s;
  s.id = "periodic_20251222_023211";
  s.type = SnapshotType::periodic;
  s.timestamp = 0;
  Json processes = Json::array();
  for (int i = 0; i < 30; ++i) {
    processes.push_back(Json{{"pid", i}, {"name", "worker-" + std::to_string(i)}});
  }
  s.document = Json{{"snapshot_id", s.id},
                    {"snapshot_type", "periodic"},
                    {"timestamp", "1970-01-01T00:00:00.000000Z"},
                    {"interval", "30_minutes"},
                    {"system_state", {{"health", "operational"}, {"load", {0.5, 0.25}}}},
                    {"active_processes", {{"count", 30}, {"processes", processes}}},
                    {"rail_status",
                     {{"evil\x1b[2J", "\x1b]0;title\x07"},
                      {"c1",
                       "a\xc2\x9b"
                       "2Jb"}}},
                    {"metadata", {{"generated_by", "BarrotSnapshotGenerator"}}}};
  const std::string text = format_snapshot(s);
  CHECK(text.rfind("Snapshot:  periodic_20251222_023211\nType:      periodic\n", 0) == 0);
  CHECK(text.find("Interval:  30_minutes\n") != std::string::npos);
  CHECK(text.find("\n[system_state]\n  health: operational\n  load: 0.5, 0.25\n") !=
        std::string::npos);
  // A list of flat objects is a table with a header, cut after 20 rows.
  CHECK(text.find("  processes: (30)\n    pid  name\n    0    worker-0\n") != std::string::npos);
  CHECK(text.find("    19   worker-19\n    … 10 more (--json shows all)\n") != std::string::npos);
  CHECK(text.find("worker-20") == std::string::npos);
  // Control characters never reach the terminal raw.
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("\"evil\\u001b[2J\": \"\\u001b]0;title\\u0007\"") != std::string::npos);
  // C1 controls too (U+009B is CSI, ESC [ in one character): JSON writers
  // leave them raw.
  CHECK(text.find("\xc2\x9b") == std::string::npos);
  CHECK(text.find("c1: \"a\\u009b2Jb\"") != std::string::npos);
  CHECK(text.find("metadata") == std::string::npos);
}

TEST_CASE("a table shows control characters in cells and headers escaped", "[view][hostile]") {
  std::ostringstream out;
  RowWriter w(out, OutputFormat::table);
  w.header({"name", "\x1b[31mred"});
  w.row({Json("plain"), Json("\x1b]0;title\x07")});
  w.row({Json("two\nlines"), Json(3)});
  w.finish();
  const std::string text = out.str();
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("\\u001b]0;title\\u0007") != std::string::npos);
  CHECK(text.find("two lines") != std::string::npos);
}

TEST_CASE("write_output_file replaces files, keeps their mode, and writes into a FIFO",
          "[view][fs]") {
  TempDir dir;
  // A new file, then the same replaced: its mode kept.
  const std::string file = dir / "out.txt";
  REQUIRE_OK(write_output_file(file, "one\n"));
  REQUIRE(::chmod(file.c_str(), 0600) == 0);
  REQUIRE_OK(write_output_file(file, "two\n"));
  CHECK(read_text(file) == "two\n");
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  // A symlink to a file is replaced, not followed.
  const std::string link = dir / "link";
  REQUIRE(::symlink(file.c_str(), link.c_str()) == 0);
  REQUIRE_OK(write_output_file(link, "three\n"));
  REQUIRE(::lstat(link.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(read_text(file) == "two\n");
  // A FIFO is written into and stays a FIFO.
  const std::string fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::string got;
  std::thread reader([&] { got = read_text(fifo); });
  const Status w = write_output_file(fifo, "through the pipe\n");
  reader.join();
  REQUIRE_OK(w);
  CHECK(got == "through the pipe\n");
  REQUIRE(::lstat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  // A directory is an error, and stays.
  CHECK(write_output_file(dir.path(), "x").IsInvalidArgument());
  CHECK(write_output_file(dir / "sub/", "x").IsInvalidArgument());
}

TEST_CASE("an action's details and a line show C1 controls escaped", "[view][hostile]") {
  Snapshot s;
  s.id = "action_20251222_023211_483890";
  s.type = SnapshotType::action;
  s.document = Json{{"snapshot_id", s.id},
                    {"snapshot_type", "action"},
                    {"timestamp", "2025-12-22T02:32:11.483890Z"},
                    {"action",
                     {{"type", "deploy"},
                      {"status", "completed"},
                      {"details",
                       {{"m",
                         "x\xc2\x9b"
                         "31my"}}},
                      {"started_at", "2025-12-22T02:32:11.483890Z"}}}};
  for (const std::string& text : {format_snapshot(s), format_line(s)}) {
    INFO(text);
    CHECK(text.find("\xc2\x9b") == std::string::npos);
    CHECK(text.find("x\\u009b31my") != std::string::npos);
  }
}
