// Snapshot vocabulary: names, validation, ids and timestamps.
#include "util/json_parse.h"
#include "util/time.h"
#include "util/utf8.h"

#include <barrot/snapshot.h>

#include <cstdio>
#include <string>

namespace barrot {

std::string_view to_string(SnapshotType type) {
  return type == SnapshotType::action ? "action" : "periodic";
}

std::string_view to_string(ActionStatus status) {
  switch (status) {
  case ActionStatus::executing:
    return "executing";
  case ActionStatus::completed:
    return "completed";
  case ActionStatus::failed:
    return "failed";
  }
  return "executing";
}

Result<ActionStatus> parse_action_status(std::string_view text) {
  if (text == "executing") {
    return ActionStatus::executing;
  }
  if (text == "completed") {
    return ActionStatus::completed;
  }
  if (text == "failed") {
    return ActionStatus::failed;
  }
  return Status::InvalidArgument("unknown status '" + std::string(text) +
                                 "' (expected executing, completed or failed)");
}

Status validate_action_type(std::string_view type) {
  if (type.empty()) {
    return Status::InvalidArgument("action type is empty");
  }
  if (type.size() > k_max_action_type_bytes) {
    return Status::InvalidArgument("action type is " + std::to_string(type.size()) +
                                   " bytes long (at most " +
                                   std::to_string(k_max_action_type_bytes) + ")");
  }
  if (!util::is_valid_utf8(type)) {
    return Status::InvalidArgument("action type is not valid UTF-8");
  }
  if (util::has_control_chars(type)) {
    return Status::InvalidArgument("action type contains a control character");
  }
  return Status::OK();
}

namespace {

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return !s.empty();
}

int to_int(std::string_view s) {
  int v = 0;
  for (char c : s) {
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string printable(std::string_view id) {
  std::string out;
  for (unsigned char c : id.substr(0, 80)) {
    if (c < 0x20 || c >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return id.size() > 80 ? out + "..." : out;
}

} // namespace

Status validate_snapshot_id(std::string_view id) {
  // action_YYYYMMDD_HHMMSS_ffffff (29) or periodic_YYYYMMDD_HHMMSS (24)
  std::string_view rest;
  bool action = false;
  if (id.substr(0, 7) == "action_") {
    rest = id.substr(7);
    action = true;
  } else if (id.substr(0, 9) == "periodic_") {
    rest = id.substr(9);
  } else {
    return Status::InvalidArgument("not a snapshot id: '" + printable(id) +
                                   "' (expected action_YYYYMMDD_HHMMSS_ffffff or "
                                   "periodic_YYYYMMDD_HHMMSS)");
  }
  const std::size_t want = action ? 22 : 15;
  bool shape = rest.size() == want && all_digits(rest.substr(0, 8)) && rest[8] == '_' &&
               all_digits(rest.substr(9, 6)) &&
               (!action || (rest[15] == '_' && all_digits(rest.substr(16, 6))));
  if (!shape) {
    return Status::InvalidArgument(
        "malformed snapshot id: '" + printable(id) + "' (expected " +
        (action ? "action_YYYYMMDD_HHMMSS_ffffff" : "periodic_YYYYMMDD_HHMMSS") + ")");
  }
  util::CivilTime t;
  t.year = to_int(rest.substr(0, 4));
  t.month = to_int(rest.substr(4, 2));
  t.day = to_int(rest.substr(6, 2));
  t.hour = to_int(rest.substr(9, 2));
  t.minute = to_int(rest.substr(11, 2));
  t.second = to_int(rest.substr(13, 2));
  if (!util::from_civil(t)) {
    return Status::InvalidArgument("snapshot id names an impossible date or time: '" +
                                   std::string(id) + "'");
  }
  return Status::OK();
}

Result<Json> parse_details_json(std::string_view text) {
  util::JsonError error;
  Json j = util::parse_json_unique(text, &error);
  switch (error.kind) {
  case util::JsonError::Kind::none:
    break;
  case util::JsonError::Kind::too_deep:
    return Status::InvalidArgument("details nest deeper than " +
                                   std::to_string(util::k_max_json_nesting) + " levels");
  case util::JsonError::Kind::invalid:
    return Status::InvalidArgument("details are not valid JSON: " + error.message);
  case util::JsonError::Kind::duplicate_key:
    return Status::InvalidArgument("details name the key " + error.message +
                                   " twice in one object (only one value could be kept)");
  case util::JsonError::Kind::inexact_number:
    return Status::InvalidArgument("details hold the integer " + error.message +
                                   ", beyond 64 bits: it would be kept changed (write it as "
                                   "a string)");
  }
  if (!j.is_object()) {
    return Status::InvalidArgument(std::string("details must be a JSON object, not ") +
                                   j.type_name());
  }
  return j;
}

TimeUs now_us() {
  return util::realtime_us();
}

std::string format_iso8601(TimeUs t) {
  util::CivilTime c = util::to_civil(t);
  char buf[40];
  std::snprintf(buf,
                sizeof buf,
                "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                c.year,
                c.month,
                c.day,
                c.hour,
                c.minute,
                c.second,
                c.micros);
  return buf;
}

std::string make_snapshot_id(SnapshotType type, TimeUs t) {
  util::CivilTime c = util::to_civil(t);
  char buf[48];
  if (type == SnapshotType::action) {
    std::snprintf(buf,
                  sizeof buf,
                  "action_%04d%02d%02d_%02d%02d%02d_%06d",
                  c.year,
                  c.month,
                  c.day,
                  c.hour,
                  c.minute,
                  c.second,
                  c.micros);
  } else {
    std::snprintf(buf,
                  sizeof buf,
                  "periodic_%04d%02d%02d_%02d%02d%02d",
                  c.year,
                  c.month,
                  c.day,
                  c.hour,
                  c.minute,
                  c.second);
  }
  return buf;
}

Result<TimeUs> parse_iso8601(std::string_view text) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("invalid timestamp '" + printable(text) + "': " + why +
                                   " (expected e.g. 2025-12-22T02:32:11.483890Z)");
  };
  // YYYY-MM-DDTHH:MM:SS
  if (text.size() < 19 || !all_digits(text.substr(0, 4)) || text[4] != '-' ||
      !all_digits(text.substr(5, 2)) || text[7] != '-' || !all_digits(text.substr(8, 2)) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !all_digits(text.substr(11, 2)) ||
      text[13] != ':' || !all_digits(text.substr(14, 2)) || text[16] != ':' ||
      !all_digits(text.substr(17, 2))) {
    return bad("not of the form YYYY-MM-DDTHH:MM:SS");
  }
  util::CivilTime c;
  c.year = to_int(text.substr(0, 4));
  c.month = to_int(text.substr(5, 2));
  c.day = to_int(text.substr(8, 2));
  c.hour = to_int(text.substr(11, 2));
  c.minute = to_int(text.substr(14, 2));
  c.second = to_int(text.substr(17, 2));
  std::size_t i = 19;
  if (i < text.size() && (text[i] == '.' || text[i] == ',')) {
    ++i;
    std::size_t start = i;
    int micros = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (i - start < 6) {
        micros = micros * 10 + (text[i] - '0');
      }
      ++i;
    }
    std::size_t digits = i - start;
    if (digits == 0 || digits > 9) {
      return bad("the fraction of a second needs 1 to 9 digits");
    }
    for (std::size_t k = digits; k < 6; ++k) {
      micros *= 10;
    }
    c.micros = micros;
  }
  std::int64_t offset_s = 0;
  std::string_view zone = text.substr(i);
  if (zone == "Z" || zone == "z") {
    // UTC
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') &&
             all_digits(zone.substr(1, 2)) && zone[3] == ':' && all_digits(zone.substr(4, 2))) {
    int hh = to_int(zone.substr(1, 2));
    int mm = to_int(zone.substr(4, 2));
    if (hh > 23 || mm > 59) {
      return bad("the UTC offset is out of range");
    }
    offset_s = (hh * 3600 + mm * 60) * (zone[0] == '+' ? 1 : -1);
  } else if (zone.empty()) {
    return bad("no time zone (add Z for UTC)");
  } else {
    return bad("unexpected text after the time");
  }
  auto us = util::from_civil(c);
  if (!us) {
    return bad("no such date or time");
  }
  return *us - offset_s * 1'000'000;
}

} // namespace barrot
