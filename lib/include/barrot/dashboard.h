// The dashboard: one self-contained HTML page (no script, no external
// resource) with the health verdict, the latest periodic snapshot, totals,
// the newest actions and three inline SVG charts.
//
// Every value taken from snapshots is HTML-escaped and shown as text; the
// page also carries a Content-Security-Policy that allows no script and no
// remote load at all, so a value that slipped through could not run.
//
// Thread-safety: as the Store used.
#pragma once

#include <barrot/export.h>
#include <barrot/health.h>
#include <barrot/status.h>
#include <barrot/store.h>

#include <cstddef>
#include <string>

namespace barrot {

struct DashboardOptions {
  TimeUs now = 0;                               // 0: now_us()
  std::size_t recent_actions = 50;              // rows in the newest-actions table
  TimeUs chart_window = 7 * 24 * k_us_per_hour; // span of the three charts
  std::size_t max_failure_types = 20;           // bars in the failure-rate chart
  // The verdict's checks. Quick by default: a dashboard of a large store
  // should not read all of it (run `barrot health` for the full checks).
  HealthOptions health = [] {
    HealthOptions h;
    h.quick = true;
    return h;
  }();
};

// The page, as text. Reads only what it shows: the newest rows, counts
// over indexes, and the charts' window.
BARROT_EXPORT Result<std::string> render_dashboard(Store& store, const DashboardOptions& options);

// `text` with & < > " ' replaced by entities: safe in element content and
// in quoted attribute values.
BARROT_EXPORT std::string html_escape(std::string_view text);

} // namespace barrot
