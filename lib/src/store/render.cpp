#include "store/render.h"

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

Result<Json> parse_document(const std::string& text, const std::string& id) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Status::Corruption("stored document of " + id + " is not valid JSON");
  }
  return doc;
}

} // namespace barrot::store
