#pragma once
// Rendering values for messages and logs: times in UTC, and untrusted bytes escaped so that they
// cannot garble a terminal or forge a log line.
#include <string>
#include <string_view>

#include "authz/clock.h"

namespace bastion {

// format_utc renders a time as "2026-11-23 14:02:00 UTC" for sentences a person reads.
std::string format_utc(Seconds t);

// iso8601_utc renders "2026-11-23T14:02:00Z" for JSON and tables.
std::string iso8601_utc(Seconds t);

// escape_unprintable keeps printable ASCII and renders every other byte as \xNN.
std::string escape_unprintable(std::string_view s);

// escape_controls renders only the bytes a terminal acts on as \xNN: C0 controls, DEL and the
// UTF-8 encodings of C1 controls (U+0080..U+009F, e.g. CSI); other UTF-8 text ("…") stays. For
// table cells, whose values may be old rows written before names were escaped.
std::string escape_controls(std::string_view s);

}  // namespace bastion
