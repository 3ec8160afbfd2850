#include "store/render.h"

#include <algorithm>

namespace barrot::store {

namespace {

Json metadata() {
  Json m = Json::object();
  m["generated_by"] = k_generator_name;
  m["version"] = k_format_version;
  return m;
}

} // namespace

Json action_document(const std::string& id, TimeUs ts, const ActionInput& input) {
  const std::string iso = format_iso8601(ts);
  Json action = Json::object();
  action["type"] = input.type;
  action["status"] = to_string(input.status);
  action["details"] = input.details;
  action["started_at"] = input.started_at ? format_iso8601(*input.started_at) : iso;
  if (!input.start_snapshot_id.empty()) {
    action["start_snapshot_id"] = input.start_snapshot_id;
  }
  Json doc = Json::object();
  doc["snapshot_id"] = id;
  doc["snapshot_type"] = "action";
  doc["timestamp"] = iso;
  doc["action"] = std::move(action);
  doc["metadata"] = metadata();
  return doc;
}

Json periodic_document(const std::string& id, TimeUs ts, const PeriodicInput& input) {
  Json doc = Json::object();
  doc["snapshot_id"] = id;
  doc["snapshot_type"] = "periodic";
  doc["timestamp"] = format_iso8601(ts);
  doc["interval"] = input.interval;
  for (const auto& [key, value] : input.sections.items()) {
    if (key != "snapshot_id" && key != "snapshot_type" && key != "timestamp" && key != "interval" &&
        key != "metadata") {
      doc[key] = value;
    }
  }
  doc["metadata"] = metadata();
  return doc;
}

std::string compact(const Json& doc) {
  return doc.dump();
}

std::string pretty(const Json& doc) {
  return doc.dump(2);
}

namespace {

void newline_and_indent(std::string* out, int depth) {
  out->push_back('\n');
  out->append(static_cast<std::size_t>(depth) * 2, ' ');
}

// The text pass of pretty_compact; false when `text` has whitespace outside
// its strings (not compact()'s form).
bool pretty_pass(std::string_view text, std::string* out) {
  out->reserve(text.size() + text.size() / 2 + 64);
  int depth = 0;
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[i];
    switch (c) {
    case '"': {
      // A string, copied as is up to its closing quote.
      std::size_t j = i + 1;
      while (j < n && text[j] != '"') {
        j += text[j] == '\\' ? 2 : 1;
      }
      out->append(text.data() + i, std::min(j + 1, n) - i);
      i = j;
      break;
    }
    case '{':
    case '[':
      if (i + 1 < n && text[i + 1] == (c == '{' ? '}' : ']')) {
        out->push_back(c); // empty: "{}" and "[]" stay on one line
        out->push_back(text[++i]);
      } else {
        out->push_back(c);
        newline_and_indent(out, ++depth);
      }
      break;
    case '}':
    case ']':
      newline_and_indent(out, --depth);
      out->push_back(c);
      break;
    case ',':
      out->push_back(',');
      newline_and_indent(out, depth);
      break;
    case ':':
      out->append(": ");
      break;
    case ' ':
    case '\t':
    case '\n':
    case '\r':
      return false;
    default:
      out->push_back(c);
    }
  }
  return true;
}

} // namespace

std::string pretty_compact(std::string_view text) {
  std::string out;
  if (pretty_pass(text, &out)) {
    return out;
  }
  return pretty(Json::parse(text));
}

Result<Json> parse_document(const std::string& text, const std::string& id) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Status::Corruption("stored document of " + id + " is not valid JSON");
  }
  return doc;
}

} // namespace barrot::store
