#include "util/yaml_json.h"

#include "util/utf8.h"

#include <sstream>
#include <yaml-cpp/eventhandler.h>
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

Status yaml_error(const std::string& what, const YAML::Exception& e) {
  // yaml-cpp's parser says "bad file" when the nesting passes its depth
  // guard (its DeepRecursion is not exported, so not caught by type): no
  // file is read by name here, so that is what it means.
  const bool too_deep = e.msg == YAML::ErrorMsg::BAD_FILE;
  return Status::InvalidArgument(
      what + ": line " + std::to_string(e.mark.line + 1) + ": " +
      (too_deep ? "nested too deep for the YAML parser (it stops at a few hundred levels)"
                : e.msg));
}

bool has_second_document(const std::string& text) {
  struct Ignore : YAML::EventHandler {
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void
    OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&,
                         const std::string&,
                         YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&,
                    const std::string&,
                    YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  };
  struct SecondDocument {};
  struct StopAtStart : Ignore {
    void OnDocumentStart(const YAML::Mark&) override { throw SecondDocument{}; }
  };
  std::istringstream in(text);
  YAML::Parser parser(in);
  Ignore first; // its events only: no nodes are built
  if (!parser.HandleNextDocument(first)) {
    return false;
  }
  StopAtStart second; // nothing of a second document is read past its start
  try {
    return parser.HandleNextDocument(second);
  } catch (const SecondDocument&) {
    return true;
  }
}

Result<Json> parse_yaml(const std::string& text, const std::string& what) {
  Json out;
  try {
    YAML::Node root = YAML::Load(text); // the first document only
    if (has_second_document(text)) {
      return Status::InvalidArgument(what +
                                     ": holds more than one YAML document (split by ---); one "
                                     "is expected");
    }
    std::size_t nodes = 0;
    BARROT_TRY(to_json(root, 0, &nodes, &out).WithContext(what));
  } catch (const YAML::Exception& e) {
    return yaml_error(what, e);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(what + ": " + e.what());
  }
  return out;
}

} // namespace barrot::util
