// YAML documents as JSON values. Knows nothing about snapshots.
#pragma once

#include <barrot/snapshot.h>
#include <barrot/status.h>

#include <string>

namespace YAML {
class Exception;
} // namespace YAML

namespace barrot::util {

// InvalidArgument naming `what`, the line and the problem yaml-cpp found.
Status yaml_error(const std::string& what, const YAML::Exception& e);

// Parses the YAML text `text` (named `what` in errors) into JSON: mappings to
// objects (keys as strings), sequences to arrays, scalars to strings (YAML
// scalars are untyped here: "1.0.0" stays "1.0.0"), null to null.
// InvalidArgument naming the line on a syntax error.
Result<Json> parse_yaml(const std::string& text, const std::string& what);

// Whether `text` holds a second YAML document (after `---`): the first is
// parsed into events only, and the second read no further than its start,
// so that many documents, or a huge one, cost nothing more. Throws
// YAML::Exception on a syntax error in the first.
bool has_second_document(const std::string& text);

} // namespace barrot::util
