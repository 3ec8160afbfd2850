#include "support/test_util.h"

#include <fnmatch.h>
#include <random>

using namespace barrot;
using namespace barrot::test;

namespace {

// The plain reading of a --where condition over one details object.
bool holds(const DetailCondition& c, const Json& details) {
  const Json* v = &details;
  for (const std::string& k : c.path) {
    if (!v->is_object() || !v->contains(k)) {
      return c.op == DetailCondition::Op::ne;
    }
    v = &(*v)[k];
  }
  using Op = DetailCondition::Op;
  if (c.op == Op::exists) {
    return true;
  }
  const Json given = Json::parse(c.value, nullptr, false);
  const bool given_number = !given.is_discarded() && given.is_number();
  auto equal = [&] {
    if (v->is_string() && v->get<std::string>() == c.value) {
      return true;
    }
    if (given_number && v->is_number()) {
      return v->get<double>() == given.get<double>();
    }
    return (c.value == "true" || c.value == "false" || c.value == "null") &&
           !given.is_discarded() && *v == given;
  };
  if (c.op == Op::eq) {
    return equal();
  }
  if (c.op == Op::ne) {
    return !equal();
  }
  int cmp = 0;
  if (given_number) {
    if (!v->is_number()) {
      return false;
    }
    const double a = v->get<double>(), b = given.get<double>();
    cmp = a < b ? -1 : a > b ? 1 : 0;
  } else {
    if (!v->is_string()) {
      return false;
    }
    cmp = v->get<std::string>().compare(c.value);
  }
  return c.op == Op::lt ? cmp < 0 : c.op == Op::le ? cmp <= 0 : c.op == Op::gt ? cmp > 0 : cmp >= 0;
}

// Generated data, with every document kept for the reference filter.
struct Data {
  TempDir dir;
  std::unique_ptr<Store> store = open_store(options_in(dir));
  std::vector<Json> docs; // as in action_log.jsonl (and periodic ones)
  TimeUs base = parse_iso8601("2025-06-01T00:00:00Z").value();

  Data() {
    std::mt19937 rng(42);
    const std::vector<std::string> types = {"deploy", "deploy_canary", "build", "test", "backup"};
    const std::vector<std::string> words = {"alpha", "disk", "full", "network", "timeout"};
    std::vector<ActionInput> inputs;
    for (int i = 0; i < 600; ++i) {
      ActionInput in;
      in.type = types[rng() % types.size()];
      in.status = static_cast<ActionStatus>(rng() % 3);
      in.at = base + static_cast<TimeUs>(rng() % (30LL * 86400)) * 1'000'000;
      in.details =
          Json{{"n", i}, {"note", words[rng() % words.size()] + " " + words[rng() % words.size()]}};
      // Typed and nested fields for --where, some missing, some of either type.
      const std::vector<std::string> envs = {"production", "staging", "dev"};
      if (rng() % 5 != 0) {
        in.details["env"] = envs[rng() % envs.size()];
      }
      in.details["duration_seconds"] = static_cast<double>(rng() % 1200) / 10.0;
      in.details["ok"] = rng() % 2 == 0;
      if (rng() % 3 == 0) {
        in.details["build"] = Json{{"version", rng() % 2 ? Json("1.2") : Json(1.2)}};
      } else if (rng() % 2) {
        in.details["build"] =
            Json{{"version", "2.0"}, {"date", "2025-06-1" + std::to_string(rng() % 10)}};
      }
      inputs.push_back(in);
    }
    auto snaps = store->record_actions(inputs);
    REQUIRE_OK(snaps.status());
    for (const auto& s : *snaps) {
      docs.push_back(s.document);
    }
    for (int d = 0; d < 30; d += 3) {
      PeriodicInput p;
      p.at = base + d * 86'400'000'000LL;
      auto s = store->record_periodic(p);
      REQUIRE_OK(s.status());
      docs.push_back(s->document);
    }
  }

  // The straightforward filter, as a user would write it over the log.
  std::vector<std::string> reference(const SearchFilter& f) {
    std::vector<std::pair<TimeUs, std::string>> hits;
    for (const Json& d : docs) {
      const TimeUs t = parse_iso8601(d["timestamp"].get<std::string>()).value();
      const bool action = d["snapshot_type"] == "action";
      if (f.type && d["snapshot_type"] != std::string(to_string(*f.type))) {
        continue;
      }
      if (!f.action_type.empty() &&
          (!action ||
           ::fnmatch(f.action_type.c_str(), d["action"]["type"].get<std::string>().c_str(), 0) !=
               0)) {
        continue;
      }
      if (f.status && (!action || d["action"]["status"] != std::string(to_string(*f.status)))) {
        continue;
      }
      if ((f.since && t < *f.since) || (f.until && t >= *f.until)) {
        continue;
      }
      bool words_ok = true;
      for (const std::string& w : f.words) {
        words_ok = words_ok && action &&
                   (d["action"]["type"].get<std::string>() + " " + d["action"]["details"].dump())
                           .find(w) != std::string::npos;
      }
      if (!words_ok) {
        continue;
      }
      bool where_ok = true;
      for (const DetailCondition& c : f.where) {
        where_ok = where_ok && action && holds(c, d["action"]["details"]);
      }
      if (!where_ok) {
        continue;
      }
      hits.emplace_back(t, d["snapshot_id"].get<std::string>());
    }
    std::sort(hits.begin(), hits.end());
    if (!f.oldest_first) {
      std::reverse(hits.begin(), hits.end());
    }
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < hits.size() && i < f.limit; ++i) {
      ids.push_back(hits[i].second);
    }
    return ids;
  }

  std::vector<std::string> search(const SearchFilter& f) {
    std::vector<std::string> ids;
    std::vector<std::string> documents;
    REQUIRE_OK(store->search(f, [&](const Snapshot& s) {
      ids.push_back(s.id);
      documents.push_back(s.document.dump());
      return true;
    }));
    // search_rows: the same rows, their stored text equal to the parsed one.
    std::size_t i = 0;
    REQUIRE_OK(store->search_rows(f, [&](const SnapshotRow& r) {
      REQUIRE(i < ids.size());
      CHECK(r.id == ids[i]);
      CHECK(r.document == documents[i]);
      const Json doc = Json::parse(r.document);
      CHECK(r.timestamp == parse_iso8601(doc["timestamp"].get<std::string>()).value());
      if (r.type == SnapshotType::action) {
        CHECK(r.action_type == doc["action"]["type"].get<std::string>());
        CHECK(r.status == doc["action"]["status"].get<std::string>());
        CHECK(r.details == doc["action"]["details"].dump());
      } else {
        CHECK(r.details.empty());
      }
      ++i;
      return true;
    }));
    CHECK(i == ids.size());
    auto n = store->count(f);
    REQUIRE_OK(n.status());
    SearchFilter all = f;
    all.limit = SIZE_MAX;
    CHECK(static_cast<std::size_t>(*n) == reference(all).size());
    return ids;
  }
};

} // namespace

TEST_CASE("search gives what a plain filter over the log gives, for every filter kind",
          "[search]") {
  Data d;
  auto same = [&](const SearchFilter& f) {
    auto got = d.search(f);
    CHECK(got == d.reference(f));
    return got.size();
  };
  SearchFilter f;
  f.limit = 1000;
  CHECK(same(f) == 610);
  SECTION("type") {
    f.type = SnapshotType::periodic;
    CHECK(same(f) == 10);
  }
  SECTION("exact action type and glob") {
    f.action_type = "deploy";
    same(f);
    f.action_type = "deploy*";
    same(f);
    f.action_type = "b[au]*";
    same(f);
  }
  SECTION("status") {
    f.status = ActionStatus::failed;
    CHECK(same(f) > 0);
  }
  SECTION("time window") {
    f.since = d.base + 7 * 86'400'000'000LL;
    f.until = d.base + 14 * 86'400'000'000LL;
    same(f);
  }
  SECTION("words, indexed and not yet indexed") {
    f.words = {"disk", "full"};
    const std::size_t before = same(f);
    { auto reopen = open_store(options_in(d.dir)); } // a checkpoint may index them
    REQUIRE_OK(d.store->repair().status());          // indexes everything
    CHECK(same(f) == before);
  }
  SECTION("conditions on details fields, every operator and type") {
    for (const char* text : {"env",
                             "env=production",
                             "env!=production",
                             "duration_seconds>30",
                             "duration_seconds>=30.5",
                             "duration_seconds<2",
                             "duration_seconds<=0",
                             "duration_seconds=12.5",
                             "ok=true",
                             "ok!=false",
                             "build",
                             "build.version=1.2",
                             "build.version!=1.2",
                             "build.version>1.5",
                             "build.version>=1.2",
                             "build.date>=2025-06-15",
                             "build.date<2025-06-13",
                             "missing",
                             "missing!=x",
                             "n>=590",
                             "note=disk full"}) {
      INFO(text);
      auto c = parse_detail_condition(text);
      REQUIRE_OK(c.status());
      SearchFilter g = f;
      g.where = {*c};
      same(g);
    }
    f.where = {*parse_detail_condition("env=staging"),
               *parse_detail_condition("duration_seconds<60")};
    CHECK(same(f) > 0);
  }
  SECTION("a cursor pages through all results, in both orders, without gaps or repeats") {
    f.action_type = "deploy*";
    for (bool oldest_first : {false, true}) {
      SearchFilter page = f;
      page.oldest_first = oldest_first;
      page.limit = 1000;
      const std::vector<std::string> all = d.reference(page);
      page.limit = 17;
      std::vector<std::string> paged;
      for (;;) {
        std::vector<std::string> ids;
        REQUIRE_OK(d.store->search(page, [&](const Snapshot& s) {
          ids.push_back(s.id);
          return true;
        }));
        auto left = d.store->count(page);
        REQUIRE_OK(left.status());
        CHECK(static_cast<std::size_t>(*left) == all.size() - paged.size());
        if (ids.empty()) {
          break;
        }
        paged.insert(paged.end(), ids.begin(), ids.end());
        page.after_id = ids.back();
      }
      CHECK(paged == all);
    }
    f.after_id = "action_20990101_000000_000000";
    CHECK(d.store->search(f, [](const Snapshot&) { return true; }).IsNotFound());
    f.after_id = "../etc";
    CHECK(d.store->search(f, [](const Snapshot&) { return true; }).IsInvalidArgument());
  }
  SECTION("combined, limited, both orders") {
    f.action_type = "deploy*";
    f.status = ActionStatus::completed;
    f.since = d.base + 3 * 86'400'000'000LL;
    f.words = {"network"};
    f.limit = 7;
    same(f);
    f.oldest_first = true;
    same(f);
  }
}

TEST_CASE("search words are never FTS syntax", "[search][hostile]") {
  Data d;
  SearchFilter f;
  // FTS5 operators and syntax in words are searched as text: no error, and
  // nothing matches words that occur nowhere.
  for (const char* w : {"AND", "NOT disk", "NEAR(a b)", "col:disk", "disk) OR (full"}) {
    INFO(w);
    f.words = {w};
    std::vector<std::string> ids;
    REQUIRE_OK(d.store->search(f, [&](const Snapshot& s) {
      ids.push_back(s.id);
      return true;
    }));
    CHECK(ids.empty());
  }
  for (const char* w : {"\"disk", "disk*"}) { // quotes and stars are plain text too
    f.words = {w};
    CHECK(d.store->search(f, [](const Snapshot&) { return true; }).ok());
  }
  for (const char* w : {"", "\"", "(", "%", "_", "*"}) {
    INFO(w);
    f.words = {w};
    CHECK(d.store->search(f, [](const Snapshot&) { return true; }).IsInvalidArgument());
  }
}

TEST_CASE("words and conditions up to their limit work; past it, an error names it",
          "[search][hostile]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  REQUIRE_OK(store->record_action(action("deploy", {{"a", "disk full"}})).status());
  SearchFilter f;
  f.words.assign(200, "disk");
  f.where.assign(200, DetailCondition{{"a"}, DetailCondition::Op::ne, "b"});
  auto n = store->count(f);
  REQUIRE_OK(n.status());
  CHECK(*n == 1);
  f.words.push_back("disk");
  n = store->count(f);
  CHECK(n.status().IsInvalidArgument());
  CHECK(n.status().message() == "at most 200 search words are allowed, not 201");
  f.words.pop_back();
  f.where.push_back(f.where.back());
  n = store->count(f);
  CHECK(n.status().message() == "at most 200 --where conditions are allowed, not 201");
}

TEST_CASE("time specs: ISO, dates, relative and named days", "[search]") {
  const TimeUs now = parse_iso8601("2025-12-22T10:30:00Z").value();
  CHECK(parse_time_spec("2h", now).value() == now - 7'200'000'000LL);
  CHECK(parse_time_spec("7d", now).value() == now - 7 * 86'400'000'000LL);
  // The error message offers "2h ago": it is taken too.
  CHECK(parse_time_spec("2h ago", now).value() == now - 7'200'000'000LL);
  CHECK(parse_time_spec("today", now).value() == parse_iso8601("2025-12-22T00:00:00Z").value());
  CHECK(parse_time_spec("yesterday", now).value() == parse_iso8601("2025-12-21T00:00:00Z").value());
  CHECK(parse_time_spec("2025-12-01", now).value() ==
        parse_iso8601("2025-12-01T00:00:00Z").value());
  CHECK(parse_time_spec("2025-12-01T05:00:00+02:00", now).value() ==
        parse_iso8601("2025-12-01T03:00:00Z").value());
  CHECK(parse_time_spec("now", now).value() == now);
  for (const char* bad :
       {"", "2x", "-3h", "tomorrow", "2025-13-01", "12:00", "2h  ago", "2 ago", "2hago", " ago"}) {
    INFO(bad);
    CHECK(parse_time_spec(bad, now).status().IsInvalidArgument());
  }
  // A valid form, too far back: said so (it was "unknown time").
  CHECK(parse_time_spec("36500d", now).ok());
  for (const char* far : {"36600d", "99999999999s", "99999999999999999999w ago"}) {
    INFO(far);
    CHECK(parse_time_spec(far, now).status().message() ==
          "time '" + std::string(far) + "' is more than 100 years ago: give a date instead");
  }
}

TEST_CASE("details conditions (search --where) are parsed strictly", "[search]") {
  auto c = parse_detail_condition("a.b>=3");
  REQUIRE_OK(c.status());
  CHECK(c->path == std::vector<std::string>{"a", "b"});
  CHECK(c->op == DetailCondition::Op::ge);
  CHECK(c->value == "3");
  c = parse_detail_condition("msg=a=b, c");
  REQUIRE_OK(c.status());
  CHECK(c->op == DetailCondition::Op::eq);
  CHECK(c->value == "a=b, c");
  c = parse_detail_condition("x!=");
  REQUIRE_OK(c.status());
  CHECK(c->op == DetailCondition::Op::ne);
  CHECK(c->value.empty());
  // A key holding a dot or an operator is quoted.
  c = parse_detail_condition("\"app.kubernetes.io/name\".x=a.b");
  REQUIRE_OK(c.status());
  CHECK(c->path == std::vector<std::string>{"app.kubernetes.io/name", "x"});
  CHECK(c->value == "a.b");
  c = parse_detail_condition("meta.\"a=b<c\"!=1");
  REQUIRE_OK(c.status());
  CHECK(c->path == std::vector<std::string>{"meta", "a=b<c"});
  CHECK(c->op == DetailCondition::Op::ne);
  c = parse_detail_condition("\"k.v\"");
  REQUIRE_OK(c.status());
  CHECK(c->path == std::vector<std::string>{"k.v"});
  CHECK(c->op == DetailCondition::Op::exists);
  for (const char* bad : {"",
                          "=x",
                          ".a=1",
                          "a..b=1",
                          "a.=1",
                          "a\"b=1",
                          ">3",
                          "\"a=1",
                          "\"\"=1",
                          "\"a\"b=1",
                          "\"a\".=1",
                          "a.\"b"}) {
    INFO(bad);
    CHECK(parse_detail_condition(bad).status().IsInvalidArgument());
  }
  // Other languages' operators are typos, not values starting with = or >.
  for (const char* typo : {"n==1", "n=>1", "n<>1", "n=!1", "n!==1"}) {
    INFO(typo);
    auto t = parse_detail_condition(typo);
    CHECK(t.status().IsInvalidArgument());
    CHECK(t.status().message().find("the value starts with") != std::string::npos);
  }
}

namespace {

// How many actions the one --where condition `cond` matches.
std::int64_t count_where(Store& store, const std::string& cond) {
  SearchFilter f;
  auto c = parse_detail_condition(cond);
  REQUIRE_OK(c.status());
  f.where = {*c};
  auto n = store.count(f);
  REQUIRE_OK(n.status());
  return *n;
}

} // namespace

TEST_CASE("a quoted --where key holding a dot names one key, not a path", "[search]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  REQUIRE_OK(
      store->record_action(action("k", Json::parse(R"({"app.version":2,"app":{"version":3}})")))
          .status());
  REQUIRE_OK(store->record_action(action("k", Json::parse(R"({"a=b":"x"})"))).status());
  const auto count = [&](const std::string& cond) { return count_where(*store, cond); };
  CHECK(count("\"app.version\"=2") == 1);
  CHECK(count("\"app.version\"=3") == 0);
  CHECK(count("app.version=3") == 1);
  CHECK(count("\"app\".\"version\"=3") == 1);
  CHECK(count("\"a=b\"=x") == 1);
  CHECK(count("\"a=b\"") == 1);
}

TEST_CASE("details conditions compare numbers past 2^63 as numbers, not wrapped", "[search]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  for (const char* n : {"2", "-5", "10000000000000000000", "9223372036854775807"}) {
    REQUIRE_OK(
        store->record_action(action("n", Json::parse(std::string("{\"n\":") + n + "}"))).status());
  }
  const auto count = [&](const std::string& cond) { return count_where(*store, cond); };
  CHECK(count("n>=10000000000000000000") == 1);
  CHECK(count("n=10000000000000000000") == 1);
  CHECK(count("n<10000000000000000000") == 3);
  CHECK(count("n=9223372036854775807") == 1);
  CHECK(count("n>9223372036854775807") == 1);
}

TEST_CASE("words match the same rows before and after the index takes them in", "[search][fts]") {
  TempDir dir;
  const std::string db = dir / "snapshots/.barrot/barrot.db";
  auto store = open_store(options_in(dir));
  for (const char* d : {R"({"x":"deployment happened"})",
                        R"({"x":"deploy happen"})",
                        R"({"note":"Café au lait, DISK-full"})",
                        R"({"note":"disk is full"})",
                        R"({"path":"/var/log/app.log"})",
                        R"({"n":12345})",
                        R"({"error":"Traceback\nValueError: bad\tinput \u001bgone","ok":true})"}) {
    REQUIRE_OK(store->record_action(action("deploy_canary", Json::parse(d))).status());
  }
  REQUIRE(query_int(db,
                    "SELECT count(*) FROM snapshot_rows WHERE seq > (SELECT indexed_seq "
                    "FROM fts_state)") == 7); // none indexed yet
  const std::vector<std::string> words = {
      "happen",    "happened",   "deploy", "deployment",  "cafe",        "CAFÉ",  "disk-full",
      "disk full", "full disk",  "log",    "var log app", "123",         "12345", "canary",
      "x",         "ValueError", "input",  "gone",        "nValueError", "true"};
  const auto counts = [&] {
    std::vector<std::int64_t> out;
    for (const std::string& w : words) {
      SearchFilter f;
      f.words = {w};
      auto n = store->count(f);
      REQUIRE_OK(n.status());
      out.push_back(*n);
    }
    return out;
  };
  const std::vector<std::int64_t> before = counts();
  REQUIRE_OK(store->repair().status()); // indexes every row
  REQUIRE(query_int(db,
                    "SELECT count(*) FROM snapshot_rows WHERE seq > (SELECT indexed_seq "
                    "FROM fts_state)") == 0);
  const std::vector<std::int64_t> after = counts();
  for (std::size_t i = 0; i < words.size(); ++i) {
    INFO(words[i]);
    CHECK(before[i] == after[i]);
  }
  CHECK(after[0] == 1);  // happen: whole tokens only
  CHECK(after[4] == 1);  // cafe: case and accents folded
  CHECK(after[6] == 1);  // disk-full: the phrase "disk full", not "disk is full"
  CHECK(after[8] == 0);  // full disk: in that order only
  CHECK(after[13] == 7); // canary: a token of the action type
  // Words after a newline, a tab or another escaped character are words:
  // the details are read decoded, not as JSON source ("\nValueError").
  CHECK(after[15] == 1);
  CHECK(after[16] == 1);
  CHECK(after[17] == 1);
  CHECK(after[18] == 0);
  CHECK(after[19] == 1); // true, false and null by name
}
