// UTF-8 validation. Knows nothing about snapshots.
#pragma once

#include <string>
#include <string_view>

namespace barrot::util {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);

// `s` with every byte that is not part of well-formed UTF-8 replaced by
// U+FFFD, so it can always be written as JSON.
std::string to_valid_utf8(std::string_view s);

// True when `s` holds a C0 control character, DEL, or a C1 control
// (U+0080 to U+009F).
bool has_control_chars(std::string_view s);

// `s` (JSON text, or readable text) with each C1 control written as the
// escape \u0080 to \u009f: the same JSON value, and nothing a terminal acts
// on. JSON writers escape C0 controls, not C1.
std::string escape_c1(std::string s);

} // namespace barrot::util
