#include "gateway/admin/qr_text.h"

#include <qrencode.h>

#include <memory>

namespace bastion::gateway::admin {
namespace {

struct QrFree {
  void operator()(QRcode* q) const { QRcode_free(q); }
};
using QrPtr = std::unique_ptr<QRcode, QrFree>;

constexpr int kQuietZone = 2;  // modules of light border scanners need around the code

// QrGrid answers "is this module dark?" for coordinates that may fall in the quiet zone.
class QrGrid {
 public:
  explicit QrGrid(const QRcode& q) : q_(q) {}
  int size() const { return q_.width + 2 * kQuietZone; }
  bool dark(int x, int y) const {
    x -= kQuietZone;
    y -= kQuietZone;
    if (x < 0 || y < 0 || x >= q_.width || y >= q_.width) return false;
    return (q_.data[y * q_.width + x] & 1) != 0;  // bit 0 is the module colour
  }

 private:
  const QRcode& q_;
};

const char* half_block(bool top_dark, bool bottom_dark) {
  if (top_dark && bottom_dark) return " ";
  if (top_dark) return "\u2584";     // lower half light
  if (bottom_dark) return "\u2580";  // upper half light
  return "\u2588";
}

}  // namespace

Result<std::string> qr_text(std::string_view text) {
  const std::string owned(text);  // QRcode_encodeString needs a NUL-terminated string
  QrPtr code(QRcode_encodeString(owned.c_str(), 0, QR_ECLEVEL_L, QR_MODE_8, 1));
  if (!code) return Error{"cannot encode the QR code"};
  const QrGrid grid(*code);
  std::string out;
  for (int y = 0; y < grid.size(); y += 2) {
    for (int x = 0; x < grid.size(); ++x) out += half_block(grid.dark(x, y), grid.dark(x, y + 1));
    out += "\n";
  }
  return out;
}

}  // namespace bastion::gateway::admin
