#pragma once
// Table: human output of the list commands, columns aligned, two spaces apart.
#include <iosfwd>
#include <string>
#include <vector>

namespace bastion::gateway::admin {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  // add keeps a row, its control bytes escaped (authz/text.h escape_controls).
  void add(std::vector<std::string> row);
  bool empty() const { return rows_.empty(); }
  // print writes the header and the rows; the last column is not padded (no trailing blanks).
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace bastion::gateway::admin
