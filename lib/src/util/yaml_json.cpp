#include "util/yaml_json.h"

#include <yaml-cpp/yaml.h>

namespace barrot::util {

namespace {

// Depth-limited so a hostile document cannot exhaust the stack.
constexpr int k_max_depth = 64;

Status to_json(const YAML::Node& node, int depth, Json* out) {
  if (depth > k_max_depth) {
    return Status::InvalidArgument("nests deeper than " + std::to_string(k_max_depth) + " levels");
  }
  switch (node.Type()) {
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined:
    *out = nullptr;
    return Status::OK();
  case YAML::NodeType::Scalar:
    *out = node.Scalar();
    return Status::OK();
  case YAML::NodeType::Sequence: {
    *out = Json::array();
    for (const auto& item : node) {
      Json j;
      BARROT_TRY(to_json(item, depth + 1, &j));
      out->push_back(std::move(j));
    }
    return Status::OK();
  }
  case YAML::NodeType::Map: {
    *out = Json::object();
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        return Status::InvalidArgument("a mapping key is not a plain value (line " +
                                       std::to_string(kv.first.Mark().line + 1) + ")");
      }
      Json j;
      BARROT_TRY(to_json(kv.second, depth + 1, &j));
      (*out)[kv.first.Scalar()] = std::move(j);
    }
    return Status::OK();
  }
  }
  *out = nullptr;
  return Status::OK();
}

} // namespace

Result<Json> parse_yaml(const std::string& text, const std::string& what) {
  Json out;
  try {
    YAML::Node root = YAML::Load(text);
    BARROT_TRY(to_json(root, 0, &out).WithContext(what));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(what + ": line " + std::to_string(e.mark.line + 1) + ": " +
                                   e.msg);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(what + ": " + e.what());
  }
  return out;
}

} // namespace barrot::util
