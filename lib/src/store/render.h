// Building snapshot documents in the seed's key order, and their two
// serializations: compact (database and log line) and pretty (<id>.json).
#pragma once

#include <barrot/snapshot.h>

#include <string>
#include <string_view>

namespace barrot::store {

// The values of "metadata" in every snapshot Barrot writes.
inline constexpr const char* k_generator_name = "BarrotSnapshotGenerator";
inline constexpr const char* k_format_version = "1.0.0";

Json action_document(const std::string& id, TimeUs ts, const ActionInput& input);
Json periodic_document(const std::string& id, TimeUs ts, const PeriodicInput& input);

// One line, no spaces, UTF-8 as is. Throws nlohmann::json::type_error on
// strings that are not valid UTF-8 (callers render before they commit).
std::string compact(const Json& doc);

// Indented by two spaces like Python's json.dump(indent=2), no trailing newline.
std::string pretty(const Json& doc);

// pretty() of the document whose compact() is `text`, without parsing it:
// the same bytes, several times faster (indentation goes in around the
// structural characters outside strings). REQUIRES: `text` is valid JSON;
// when it is not in compact()'s form (whitespace outside strings), it is
// parsed and dumped instead.
std::string pretty_compact(std::string_view text);

// Parses a stored compact document; Corruption when it does not parse.
Result<Json> parse_document(const std::string& text, const std::string& id);

} // namespace barrot::store
