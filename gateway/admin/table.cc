#include "gateway/admin/table.h"

#include <algorithm>
#include <ostream>

#include "authz/text.h"

namespace bastion::gateway::admin {
namespace {

// display_width counts UTF-8 code points, not bytes, so "…" in a reason does not skew a column.
std::size_t display_width(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

void print_row(std::ostream& out, const std::vector<std::string>& row, const std::vector<std::size_t>& widths) {
  for (std::size_t i = 0; i < row.size(); ++i) {
    out << row[i];  // already escaped by Table::add
    if (i + 1 < row.size()) out << std::string(widths[i] - display_width(row[i]) + 2, ' ');
  }
  out << "\n";
}

}  // namespace

void Table::add(std::vector<std::string> row) {
  // A cell can hold bytes someone else chose (a user name sent before authentication, a reason):
  // a terminal must not act on them.
  for (auto& cell : row) cell = escape_controls(cell);
  rows_.push_back(std::move(row));
}

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> widths(headers_.size());
  for (std::size_t i = 0; i < headers_.size(); ++i) widths[i] = display_width(headers_[i]);
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  }
  print_row(out, headers_, widths);
  for (const auto& row : rows_) print_row(out, row, widths);
}

}  // namespace bastion::gateway::admin
