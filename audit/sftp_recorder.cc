#include "audit/sftp_recorder.h"

#include <utility>
#include <vector>

namespace bastion::audit {
namespace {

class SftpRecorder final : public ChannelRecorder {
 public:
  SftpRecorder(ChannelRecorderPtr inner, SftpOperationSink sink, SftpLimits limits)
      : inner_(std::move(inner)), sink_(std::move(sink)), parser_(limits) {}

  bool record(Stream s, std::string_view data) override {
    if (!error_.empty() || !inner_->record(s, data)) return false;
    if (s == Stream::Error) return true;
    return report(parser_.feed(s == Stream::Input ? SftpDirection::ToServer : SftpDirection::ToClient, data));
  }

  bool resize(int cols, int rows) override { return error_.empty() && inner_->resize(cols, rows); }

  Result<RecordingSummary> close() override {
    const bool reported = error_.empty() && report(parser_.finish());
    auto summary = inner_->close();
    if (reported || !summary) return summary;
    return Error{"SFTP operations could not be written to the audit log (" + error_ + "); recording " + summary->path +
                 " closed with sha256 " + summary->sha256};
  }

 private:
  // report hands each operation to the sink; the first refusal is kept and
  // fails this recorder.
  bool report(std::vector<SftpOperation> ops) {
    for (SftpOperation &op : ops) {
      auto st = sink_(op.kind, std::move(op.details));
      if (!st) {
        error_ = st.error().message.empty() ? "refused" : st.error().message;
        return false;
      }
    }
    return true;
  }

  ChannelRecorderPtr inner_;
  SftpOperationSink sink_;
  SftpParser parser_;
  std::string error_;
};

}  // namespace

ChannelRecorderPtr sftp_recorder(ChannelRecorderPtr inner, SftpOperationSink on_operation, SftpLimits limits) {
  return std::make_unique<SftpRecorder>(std::move(inner), std::move(on_operation), limits);
}

}  // namespace bastion::audit
