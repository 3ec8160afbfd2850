// util::LineSplitter and util::for_each_line: lines are the same however the
// text is cut into pieces.
#include "util/lines.h"

#include <catch2/catch.hpp>

#include <string>
#include <tuple>
#include <vector>

using namespace barrot;

namespace {

// The lines of `text` fed in pieces of `size` bytes, then what is left.
std::vector<std::string> split(const std::string& text, std::size_t size, std::string* rest) {
  util::LineSplitter lines;
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos < text.size(); pos += size) {
    REQUIRE(lines.feed(std::string_view(text).substr(pos, size), [&](std::string_view line) {
      out.emplace_back(line);
      return true;
    }));
  }
  *rest = lines.rest();
  return out;
}

} // namespace

TEST_CASE("lines are the same however the text is cut", "[lines]") {
  const std::string text = "first\n\nthird line\n" + std::string(300, 'x') + "\nunfinished";
  const std::vector<std::string> want = {"first", "", "third line", std::string(300, 'x')};
  for (const std::size_t size : {1, 2, 5, 6, 7, 64, 1000}) {
    INFO("pieces of " << size);
    std::string rest;
    CHECK(split(text, size, &rest) == want);
    CHECK(rest == "unfinished");
  }
  std::string rest;
  CHECK(split("", 4, &rest).empty());
  CHECK(rest.empty());
  CHECK(split("\n", 4, &rest) == std::vector<std::string>{""});
  CHECK(rest.empty());
}

TEST_CASE("a line splitter stops when told to", "[lines]") {
  util::LineSplitter lines;
  std::vector<std::string> seen;
  const auto until_b = [&](std::string_view line) {
    seen.emplace_back(line);
    return line != "b";
  };
  CHECK(lines.feed("a\nb", until_b));
  CHECK(!lines.feed("\nc\nd\n", until_b));
  CHECK(seen == std::vector<std::string>{"a", "b"});
}

TEST_CASE("for_each_line numbers lines and tells a last line without newline", "[lines]") {
  using Line = std::tuple<std::string, std::int64_t, bool>;
  std::vector<Line> got;
  const auto collect = [&](std::string_view line, std::int64_t n, bool nl) {
    got.emplace_back(std::string(line), n, nl);
  };
  util::for_each_line("a\n\nc", collect);
  CHECK(got == std::vector<Line>{{"a", 1, true}, {"", 2, true}, {"c", 3, false}});
  got.clear();
  util::for_each_line("a\n", collect);
  CHECK(got == std::vector<Line>{{"a", 1, true}});
  got.clear();
  util::for_each_line("", collect);
  CHECK(got.empty());
}
