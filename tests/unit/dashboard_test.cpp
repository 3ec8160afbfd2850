// The dashboard page: escaping, bounded size, and what each section shows.
// (tests/cli/dashboard.sh opens it in a real browser.)
#include "support/test_util.h"

#include <regex>

using namespace barrot;
using namespace barrot::test;

namespace {

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) {
    ++n;
  }
  return n;
}

std::string render(Store& store, const DashboardOptions& o = {}) {
  auto page = render_dashboard(store, o);
  REQUIRE_OK(page.status());
  return *page;
}

} // namespace

TEST_CASE("html_escape replaces the five special characters", "[dashboard]") {
  CHECK(html_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;");
  CHECK(html_escape("plain ✓") == "plain ✓");
}

TEST_CASE("dashboard: an empty store renders every section", "[dashboard]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  const std::string page = render(*store);
  for (const char* id : {"health",
                         "totals",
                         "chart-hourly",
                         "chart-failures",
                         "chart-gaps",
                         "latest-periodic",
                         "recent-actions"}) {
    INFO(id);
    CHECK(page.find(std::string("id=\"") + id + "\"") != std::string::npos);
  }
  CHECK(page.find("No action recorded yet.") != std::string::npos);
  CHECK(page.find("no periodic snapshot") != std::string::npos);
  CHECK(page.find("data-state=\"UNKNOWN\"") != std::string::npos);
}

TEST_CASE("dashboard: a check it did not run shows as skipped, never as a green OK",
          "[dashboard]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  REQUIRE_OK(store->record_periodic(PeriodicInput{}).status());
  REQUIRE_OK(store->record_action(action("a", Json::object())).status());
  const std::string page = render(*store); // quick checks: the default
  const std::regex mirror_row(R"re(<td>mirror_files</td><td><span class="badge (\w+)">(\w+)<)re");
  std::smatch m;
  REQUIRE(std::regex_search(page, m, mirror_row));
  CHECK(m[1] == "other");
  CHECK(m[2] == "SKIPPED");
}

TEST_CASE("dashboard: values are text, whatever they hold", "[dashboard]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  const std::string payload = "<img src=x onerror=alert(1)>";
  ActionInput in = action("</td><script>x()</script>", Json{{payload, payload}});
  in.status = ActionStatus::failed;
  REQUIRE_OK(store->record_action(in).status());
  PeriodicInput p;
  p.sections = Json{{"rail_status", {{payload, "\"><u>bold</u>"}}}, {"custom_" + payload, 1}};
  REQUIRE_OK(store->record_periodic(p).status());
  const std::string page = render(*store);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("<img") == std::string::npos);
  CHECK(page.find("<u>") == std::string::npos);
  CHECK(page.find("&lt;/td&gt;&lt;script&gt;x()&lt;/script&gt;") != std::string::npos);
  CHECK(page.find("&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
  CHECK(page.find("&quot;&gt;&lt;u&gt;bold&lt;/u&gt;") != std::string::npos);
  // No attribute carries a value from the store: each attribute is one of ours.
  const std::regex attribute(R"re(\s([a-z-]+)="([^"]*)")re");
  const std::string head_end = "</head>";
  const std::string body = page.substr(page.find(head_end));
  for (auto it = std::sregex_iterator(body.begin(), body.end(), attribute);
       it != std::sregex_iterator();
       ++it) {
    const std::string value = (*it)[2];
    INFO((*it)[0]);
    CHECK(value.find("&") == std::string::npos);
    CHECK(value.find("onerror") == std::string::npos);
  }
}

TEST_CASE("dashboard: lists and charts stay bounded on a large store", "[dashboard]") {
  TempDir dir;
  auto store = open_store(options_in(dir));
  const TimeUs now = now_us();
  std::vector<ActionInput> batch;
  for (int i = 0; i < 3000; ++i) {
    ActionInput in =
        action("type_" + std::to_string(i % 300), Json{{"blob", std::string(5000, 'x')}, {"i", i}});
    in.status = i % 7 == 0 ? ActionStatus::failed : ActionStatus::completed;
    in.at = now - static_cast<TimeUs>(i) * 60 * 1000000LL; // one a minute
    batch.push_back(in);
  }
  REQUIRE_OK(store->record_actions(batch).status());
  for (int i = 0; i < 200; ++i) {
    PeriodicInput p;
    p.sections = Json{{"active_processes", {{"processes", Json::array()}}}};
    for (int k = 0; k < 500; ++k) {
      p.sections["active_processes"]["processes"].push_back(Json{{"pid", k}, {"name", "p"}});
    }
    p.at = now - static_cast<TimeUs>(i) * 30 * 60 * 1000000LL;
    REQUIRE_OK(store->record_periodic(p).status());
  }
  DashboardOptions o;
  o.now = now;
  const std::string page = render(*store, o);
  CHECK(page.size() < 250 * 1000);
  CHECK(occurrences(page, "<tr class=\"action\">") == 50);
  CHECK(page.find("… 460 more") != std::string::npos); // the process table is cut
  CHECK(page.find(std::string(401, 'x')) == std::string::npos);
  // The failure chart: at most 20 types, the worst first.
  const auto failures = page.substr(page.find("id=\"chart-failures\""));
  CHECK(occurrences(failures.substr(0, failures.find("</figure>")), "<g><title>") == 20);
  // Every action of the last 7 days is in the hourly chart.
  CHECK(page.find("id=\"chart-hourly\" data-total=\"3000\"") != std::string::npos);

  o.recent_actions = 5;
  o.now = now - 49 * 60 * 1000000LL * 60; // 49 hours ago
  const std::string earlier = render(*store, o);
  CHECK(occurrences(earlier, "<tr class=\"action\">") == 5);
  // 3000 minutes is 50 hours: 49 hours back, the oldest 60 are in the chart.
  CHECK(earlier.find("id=\"chart-hourly\" data-total=\"60\"") != std::string::npos);
}
