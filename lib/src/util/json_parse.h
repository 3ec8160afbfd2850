// Parsing JSON that comes from outside the process (files, lines, command
// output, arguments).
#pragma once

#include "util/json_check.h"

#include <barrot/snapshot.h>

#include <string>
#include <string_view>

namespace barrot::util {

// The deepest nesting accepted from outside. nlohmann's parser overflows
// the stack somewhere past 50,000 levels (a 100,000-deep array in a legacy
// log line crashed `barrot import`); nothing real comes near this, and the
// store refuses more than 64 levels in what it keeps anyway.
inline constexpr int k_max_json_nesting = 512;

// Json::parse(text, nullptr, false), and a discarded value also for text
// nesting deeper than k_max_json_nesting (never handed to the parser).
inline Json parse_json(std::string_view text) {
  if (nests_deeper(text, k_max_json_nesting)) {
    return Json(Json::value_t::discarded);
  }
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

// What parse_json_unique found wrong, when it returns a discarded value.
struct JsonError {
  enum class Kind { none, too_deep, invalid, duplicate_key, inexact_number };
  Kind kind = Kind::none;
  // "parse error at line 1, column 7: ..."; the repeated key as a JSON
  // string (quoted, escaped, cut at 80 bytes); or the integer's text.
  std::string message;
};

// parse_json for input whose every value must be kept: an object that names
// a key twice is refused (nlohmann keeps the last value and drops the others
// without a word; RFC 8259 leaves the meaning to the reader), and so is an
// integer beyond 64 bits (nlohmann makes it a double, changing its digits).
// Discarded on any error, which `*error` describes.
Json parse_json_unique(std::string_view text, JsonError* error);

// What is wrong, as the end of a sentence about the input: "is not valid
// JSON: parse error at ...", "names the key \"a\" twice in one object", ...
std::string describe(const JsonError& error);

} // namespace barrot::util
