// A strict JSON validator (RFC 8259: one value, UTF-8, no trailing bytes)
// that builds nothing: about ten times faster than parsing into a document,
// for checking every line of an archive. Agrees with nlohmann::json::accept
// (tests/unit/json_check_test.cpp checks that on valid, damaged and random
// input).
#pragma once

#include <cstdint>
#include <string_view>

namespace barrot::util {

// True when `text` is exactly one JSON value, optionally surrounded by
// whitespace, nesting at most `max_depth` arrays and objects.
bool is_valid_json(std::string_view text, int max_depth = 512);

// is_valid_json, and the value is an object (no whitespace before it).
bool is_json_object(std::string_view text);

// True when `text`'s arrays and objects nest deeper than `max_depth`,
// counting brackets outside strings; it need not be valid JSON. One pass,
// no recursion.
bool nests_deeper(std::string_view text, int max_depth);

struct LineCheck {
  std::int64_t lines = 0;      // newline-terminated lines (a last unterminated one counts)
  std::int64_t first_bad = -1; // 1-based number of the first invalid line, or -1
};

// Checks every line of `text` with is_valid_json (on two threads when the
// text is large and `parallel`).
LineCheck check_json_lines(std::string_view text, bool parallel = true);

} // namespace barrot::util
