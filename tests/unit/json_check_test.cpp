#include "support/test_util.h"
#include "util/json_check.h"

#include <random>

using namespace barrot;

namespace {

// nlohmann skips a leading UTF-8 byte order mark; the checker (for archive
// lines, which never have one) does not.
bool has_bom(const std::string& s) {
  return s.rfind("\xEF\xBB\xBF", 0) == 0;
}

void agree(const std::string& text) {
  if (has_bom(text)) {
    return;
  }
  INFO(text);
  CHECK(util::is_valid_json(text) == nlohmann::json::accept(text));
}

} // namespace

TEST_CASE("the JSON checker agrees with nlohmann on chosen cases", "[json_check]") {
  for (const char* s : {"{}",
                        "[]",
                        " {\"a\" : [1, -2.5e+3, true, false, null, \"x\"]}\n",
                        "0",
                        "-0.0E-0",
                        "\"\\u00e9\\ud83d\\ude00\\n\\\"\\\\\\/\\b\\f\\r\\t\"",
                        "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"",
                        "",
                        " ",
                        "{",
                        "{\"a\"}",
                        "{\"a\":}",
                        "{\"a\":1,}",
                        "[1,]",
                        "[,1]",
                        "01",
                        "1.",
                        ".5",
                        "+1",
                        "1e",
                        "-",
                        "tru",
                        "nulll",
                        "\"\\ud800\"",
                        "\"\\udc00\"",
                        "\"\\ud800\\u0041\"",
                        "\"\\x\"",
                        "\"\\u12g4\"",
                        "\"a\tb\"",
                        "\"\xC0\xAF\"",
                        "\"\xED\xA0\x80\"",
                        "\"\xF4\x90\x80\x80\"",
                        "\"\xE2\x82\"",
                        "{} {}",
                        "[1] x",
                        "{\"a\":{\"b\":[[[]]]}}",
                        "{1:2}"}) {
    agree(s);
  }
}

TEST_CASE("the JSON checker agrees with nlohmann on damaged snapshot lines", "[json_check]") {
  const std::string base =
      R"({"snapshot_id":"action_20250101_000000_000001","snapshot_type":"action",)"
      R"("timestamp":"2025-01-01T00:00:00.000001Z","action":{"type":"deploy","status":)"
      R"("completed","details":{"env":"prod","n":-12.5e3,"ok":true,"none":null,)"
      R"("list":[1,2,{"k":"v\u00e9\n"}],"utf8":"caf\u00e9 \u2603"}},"metadata":{}})";
  REQUIRE(util::is_valid_json(base));
  std::mt19937 rng(7);
  const std::string alphabet = "{}[]\":,.-+eE0123456789 \\utrfn\x80\xC3\xA9\xFF\t\n";
  for (int i = 0; i < 20000; ++i) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % (s.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 4) {
      case 0:
        if (pos < s.size()) {
          s[pos] = c;
        }
        break;
      case 1:
        s.insert(pos, 1, c);
        break;
      case 2:
        if (pos < s.size()) {
          s.erase(pos, 1);
        }
        break;
      default:
        s.resize(pos);
        break;
      }
    }
    agree(s);
  }
}

TEST_CASE("the JSON checker bounds nesting", "[json_check]") {
  CHECK(util::is_valid_json(std::string(100, '[') + std::string(100, ']')));
  CHECK_FALSE(util::is_valid_json(std::string(100, '[') + std::string(100, ']'), 50));
  CHECK_FALSE(util::is_valid_json(std::string(100000, '[')));
}

TEST_CASE("nesting is counted outside strings, on any text, without recursion", "[json_check]") {
  CHECK_FALSE(util::nests_deeper("{\"a\":[1,{\"b\":2}]}", 3));
  CHECK(util::nests_deeper("{\"a\":[1,{\"b\":2}]}", 2));
  // Brackets in strings, escaped quotes included, do not count.
  CHECK_FALSE(util::nests_deeper(R"({"a":"[[[[\"{{{{"})", 1));
  CHECK(util::nests_deeper(R"({"a":"\\",[[]]})", 2)); // the string ends at the second quote
  // Invalid JSON is counted all the same; a million levels return at once.
  CHECK(util::nests_deeper(std::string(1000000, '['), 512));
  CHECK_FALSE(util::nests_deeper(std::string(512, '[') + "1", 512));
  CHECK_FALSE(util::nests_deeper("", 0));
}
