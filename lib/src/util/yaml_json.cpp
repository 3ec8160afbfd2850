#include "util/yaml_json.h"

#include "util/utf8.h"

#include <vector>
#include <yaml-cpp/yaml.h>

namespace barrot::util {

namespace {

// Depth-limited so a hostile document cannot exhaust the stack, and
// node-limited so aliases (`*a` repeated at every level) cannot expand a few
// hundred bytes into billions of values.
constexpr int k_max_depth = 64;
constexpr std::size_t k_max_nodes = 100'000;

Status to_json(const YAML::Node& node, int depth, std::size_t* nodes, Json* out) {
  if (depth > k_max_depth) {
    return Status::InvalidArgument("nests deeper than " + std::to_string(k_max_depth) + " levels");
  }
  if (++*nodes > k_max_nodes) {
    return Status::InvalidArgument("holds more than " + std::to_string(k_max_nodes) +
                                   " values (aliases expanded)");
  }
  switch (node.Type()) {
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined:
    *out = nullptr;
    return Status::OK();
  case YAML::NodeType::Scalar:
    *out = to_valid_utf8(node.Scalar());
    return Status::OK();
  case YAML::NodeType::Sequence: {
    *out = Json::array();
    for (const auto& item : node) {
      Json j;
      BARROT_TRY(to_json(item, depth + 1, nodes, &j));
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
      const std::string key = to_valid_utf8(kv.first.Scalar());
      if (out->contains(key)) {
        return Status::InvalidArgument("the key '" + key + "' appears twice in one mapping (line " +
                                       std::to_string(kv.first.Mark().line + 1) + ")");
      }
      Json j;
      BARROT_TRY(to_json(kv.second, depth + 1, nodes, &j));
      (*out)[key] = std::move(j);
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
    const std::vector<YAML::Node> docs = YAML::LoadAll(text);
    if (docs.size() > 1) {
      return Status::InvalidArgument(what + ": holds " + std::to_string(docs.size()) +
                                     " YAML documents (split by ---); one is expected");
    }
    std::size_t nodes = 0;
    BARROT_TRY(
        to_json(docs.empty() ? YAML::Node() : docs.front(), 0, &nodes, &out).WithContext(what));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(what + ": line " + std::to_string(e.mark.line + 1) + ": " +
                                   e.msg);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(what + ": " + e.what());
  }
  return out;
}

} // namespace barrot::util
