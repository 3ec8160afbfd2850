// The whole public API of the barrot library.
#pragma once

#include <barrot/archive.h>
#include <barrot/daemon.h>
#include <barrot/dashboard.h>
#include <barrot/diff.h>
#include <barrot/health.h>
#include <barrot/options.h>
#include <barrot/periodic.h>
#include <barrot/search.h>
#include <barrot/snapshot.h>
#include <barrot/status.h>
#include <barrot/store.h>
#include <barrot/tracker.h>
#include <barrot/view.h>
