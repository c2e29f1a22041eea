#include "gateway/channel_bridge.h"

#include <libssh/callbacks.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <tuple>

#include <spdlog/spdlog.h>

#include "authz/env_policy.h"

namespace bastion::gateway {
namespace {
constexpr std::size_t kMaxEnv = 32;
// kChunk: the payload of one full packet as libssh writes it. OpenSSH's maximum packet is 32 KiB and
// libssh keeps 10 bytes of the peer's maximum for headers, so a 32 KiB write goes out as 32758 + 10
// bytes; move() therefore forwards in multiples of kChunk (see there).
constexpr std::size_t kChunk = 32 * 1024 - 10;
// kMaxRead: the answers of the SFTP gate the operator may leave unread before its requests stop
// being read (gate_backlog).
constexpr std::size_t kMaxRead = 4 * kChunk;

// The window each bridged channel offers its sender: the operator's channel (uploads) and the
// server's (downloads). libssh 0.10 offers 1 280 000 bytes (WINDOWBASE in its channels.c) and tops
// the window up only once it has fallen under half of that, so on a long link at most 0.6–1.3 MB
// is in flight per round trip where OpenSSH keeps 2 MiB (issue 16). libssh has no setter, but its
// ssh_channel_read_timeout() grows the window to `count - buffered` when a read asks for more than
// the buffer and the window hold together. So read_all() below asks for everything buffered plus
// kWindow: it copies the buffered bytes (never more: the buffer holds them all) and the window
// goes back up to kWindow at once. It does so when kTopUpAfter bytes arrived since the last top-up:
// the sender always has at least kWindow - kTopUpAfter = 2 MiB it may send ("refilled early"), for one 20-byte
// WINDOW_ADJUST per kTopUpAfter bytes.
//
// Memory per channel and direction stays bounded (backpressure): a read always takes all that libssh
// holds, so libssh never tops the window up on its own (it does when a read leaves the window under
// 640 000 bytes, which a partial read would, window after window, whatever is buffered); the window
// is topped up only by a read, and nothing is read while `pending` holds a packet's worth that the
// receiver has not taken. So libssh buffers at most kWindow (stdout and stderr share it), pending
// at most kReadCap + kChunk, and the one read buffer of the process is kReadCap: about 4 MiB per
// direction in the worst case, none of it while a channel idles (a held interactive session stays
// within its few KiB). A peer that sends past the window is read kReadCap at a time; libssh's own
// buffer is then the sender's doing, as it was before.
constexpr std::size_t kTopUpAfter = 4 * kChunk;
constexpr std::uint32_t kWindow = (2u << 20) + kTopUpAfter;  // never under OpenSSH's 2 MiB
constexpr std::size_t kReadCap = kWindow + kMaxRead;
}  // namespace


ChannelBridge::ChannelBridge(int number, ssh_channel client, std::uint64_t& arrivals)
    : number_(number), client_(client), arrivals_(arrivals) {
  client_cb_.userdata = this;
  client_cb_.channel_data_function = &ChannelBridge::on_data;
  client_cb_.channel_eof_function = &ChannelBridge::on_eof;
  client_cb_.channel_close_function = &ChannelBridge::on_client_close;
  client_cb_.channel_signal_function = &ChannelBridge::on_client_signal;
  client_cb_.channel_pty_request_function = &ChannelBridge::on_pty_request;
  client_cb_.channel_env_request_function = &ChannelBridge::on_env_request;
  client_cb_.channel_shell_request_function = &ChannelBridge::on_shell_request;
  client_cb_.channel_exec_request_function = &ChannelBridge::on_exec_request;
  client_cb_.channel_subsystem_request_function = &ChannelBridge::on_subsystem_request;
  client_cb_.channel_pty_window_change_function = &ChannelBridge::on_window_change;
  ssh_callbacks_init(&client_cb_);
  ssh_set_channel_callbacks(client_.get(), &client_cb_);
}

ChannelBridge::~ChannelBridge() {
  if (upstream_) ssh_remove_channel_callbacks(upstream_.get(), &upstream_cb_);
  if (client_) ssh_remove_channel_callbacks(client_.get(), &client_cb_);
}

void ChannelBridge::attach(ChannelPtr upstream, audit::ChannelRecorderPtr recorder,
                           std::unique_ptr<audit::SftpGate> gate) {
  upstream_ = std::move(upstream);
  recorder_ = std::move(recorder);
  gate_ = std::move(gate);
  pty_ = request_.pty.has_value();
  upstream_cb_.userdata = this;
  upstream_cb_.channel_data_function = &ChannelBridge::on_data;
  upstream_cb_.channel_eof_function = &ChannelBridge::on_eof;
  upstream_cb_.channel_close_function = &ChannelBridge::on_upstream_close;
  upstream_cb_.channel_exit_status_function = &ChannelBridge::on_upstream_exit_status;
  upstream_cb_.channel_exit_signal_function = &ChannelBridge::on_upstream_exit_signal;
  ssh_callbacks_init(&upstream_cb_);
  ssh_set_channel_callbacks(upstream_.get(), &upstream_cb_);
  state_ = State::Running;
  // Opening the channel and asking for the command waited for the server's replies, and libssh
  // handled whatever came in the same reads before these callbacks existed: a command as quick as
  // `true` may already have sent its output, exit status, EOF and close. Data and EOF are read from
  // the channel's state by pump(); the close and the exit status are caught up here, or the bridge
  // would wait for callbacks that already had their moment.
  if (ssh_channel_is_closed(upstream_.get())) upstream_closed_ = true;
  catch_up_exit_status();
  arrived();  // one pump() now, for what is already buffered
}

// catch_up_exit_status takes the exit status libssh holds for a closed upstream channel whose
// exit-status message came before the callbacks were set (an exit signal that came then is not
// kept by libssh 0.10: the session then ends without one).
void ChannelBridge::catch_up_exit_status() {
  if (!upstream_closed_ || exit_status_ || exit_signal_) return;
  // The channel is closed, so this answers at once from what libssh recorded; -1: none came.
  const int status = ssh_channel_get_exit_status(upstream_.get());
  if (status >= 0) exit_status_ = status;
}

void ChannelBridge::respond(const std::string& text, bool to_stderr, int exit_status) {
  if (!text.empty()) {
    if (to_stderr)
      ssh_channel_write_stderr(client_.get(), text.data(), static_cast<uint32_t>(text.size()));
    else
      ssh_channel_write(client_.get(), text.data(), static_cast<uint32_t>(text.size()));
  }
  exit_status_ = exit_status;
  finish(to_stderr ? text : "");
}

void ChannelBridge::respond(const std::string& out, const std::string& err, int exit_status) {
  // An admin command's answer can be larger than the operator's window (an export archive streams
  // on stdout): a non-blocking write would stop at the window and drop the rest, so these writes
  // wait for window adjustments. Only admin connections answer this way; they carry no proxied
  // session that the wait could stall.
  ssh_session session = ssh_channel_get_session(client_.get());
  ssh_set_blocking(session, 1);
  if (!out.empty()) ssh_channel_write(client_.get(), out.data(), static_cast<uint32_t>(out.size()));
  if (!err.empty()) ssh_channel_write_stderr(client_.get(), err.data(), static_cast<uint32_t>(err.size()));
  ssh_set_blocking(session, 0);
  exit_status_ = exit_status;
  finish("");
}

void ChannelBridge::attach_console(std::unique_ptr<AdminConsole> console) {
  console_ = std::move(console);
  console_pending_ = console_->greeting();
  state_ = State::Console;
}

void ChannelBridge::read_input_line(std::function<void(std::string& line)> then) {
  line_reader_ = std::move(then);
  input_line_.clear();
  state_ = State::Console;
}

// pump_input_line reads the channel's input until its first line is whole, then hands it on.
bool ChannelBridge::pump_input_line() {
  if (client_closed_) {
    OPENSSL_cleanse(input_line_.data(), input_line_.size());
    input_line_.clear();
    line_reader_ = nullptr;
    finish("");
    return true;
  }
  bool progress = false;
  std::array<char, 256> buf;
  for (;;) {
    const int avail = ssh_channel_poll(client_.get(), 0);
    const bool ended = avail == SSH_EOF || avail == SSH_ERROR;
    if (!ended) {
      if (avail <= 0) return progress;
      const int n = ssh_channel_read_nonblocking(client_.get(), buf.data(), buf.size(), 0);
      if (n <= 0) return progress;
      input_line_.append(buf.data(), static_cast<std::size_t>(n));
      OPENSSL_cleanse(buf.data(), buf.size());
      progress = true;
    }
    const auto newline = input_line_.find('\n');
    if (!ended && newline == std::string::npos && input_line_.size() < kMaxInputLine) continue;
    if (newline != std::string::npos) {
      OPENSSL_cleanse(input_line_.data() + newline, input_line_.size() - newline);
      input_line_.resize(newline);
    }
    if (input_line_.size() > kMaxInputLine) {
      OPENSSL_cleanse(input_line_.data() + kMaxInputLine, input_line_.size() - kMaxInputLine);
      input_line_.resize(kMaxInputLine);
    }
    if (!input_line_.empty() && input_line_.back() == '\r') input_line_.pop_back();
    auto then = std::move(line_reader_);
    line_reader_ = nullptr;
    then(input_line_);
    OPENSSL_cleanse(input_line_.data(), input_line_.size());
    input_line_.clear();
    return true;
  }
}

void ChannelBridge::mark_forward(std::string host, int port, std::string originator, int originator_port) {
  request_.kind = RequestKind::Forward;
  request_.forward_host = std::move(host);
  request_.forward_port = port;
  request_.originator = std::move(originator);
  request_.originator_port = originator_port;
  state_ = State::Starting;
}

// pump_console feeds what the operator typed to the console and sends its answer as the
// operator's window allows.
bool ChannelBridge::pump_console() {
  bool progress = false;
  if (client_closed_) {
    finish("");
    return true;
  }
  std::array<char, 1024> buf;
  while (!console_->finished()) {
    int avail = ssh_channel_poll(client_.get(), 0);
    if (avail == SSH_EOF || avail == SSH_ERROR) {
      console_pending_.clear();
      exit_status_ = 0;
      finish("");
      return true;
    }
    if (avail <= 0) break;
    int n = ssh_channel_read_nonblocking(client_.get(), buf.data(), buf.size(), 0);
    if (n <= 0) break;
    console_pending_ += console_->feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    progress = true;
  }
  uint32_t window = ssh_channel_window_size(client_.get());
  if (!console_pending_.empty() && window > 0) {
    uint32_t n = std::min<uint32_t>(window, static_cast<uint32_t>(std::min<std::size_t>(console_pending_.size(), kChunk)));
    int w = ssh_channel_write(client_.get(), console_pending_.data(), n);
    if (w > 0) console_pending_.erase(0, static_cast<std::size_t>(w));
    progress = true;
  }
  if (console_->finished() && console_pending_.empty()) {
    exit_status_ = 0;
    finish("");
    return true;
  }
  return progress;
}

void ChannelBridge::cut(const std::string& message) {
  std::string line = "\r\nbastion: " + message + "\r\n";
  ssh_channel_write_stderr(client_.get(), line.data(), static_cast<uint32_t>(line.size()));
  if (upstream_ && !upstream_closed_) ssh_channel_close(upstream_.get());
  exit_signal_.reset();
  exit_status_ = 255;
  finish(message);
}

void ChannelBridge::window_change(int cols, int rows) {
  if (request_.pty) {
    request_.pty->cols = cols;
    request_.pty->rows = rows;
  }
  if (state_ != State::Running) return;
  ssh_channel_change_pty_size(upstream_.get(), cols, rows);
  if (recorder_ && !recorder_->resize(cols, rows)) cut("the session recording cannot be written; session ended");
}

void ChannelBridge::forward_signal(const char* name) {
  if (state_ == State::Running && name != nullptr) ssh_channel_request_send_signal(upstream_.get(), name);
}

bool ChannelBridge::flush(ssh_channel to, bool to_stderr, Pending& pending, bool whole_packets) {
  std::size_t n = std::min<std::size_t>(pending.bytes.size(), ssh_channel_window_size(to));
  if (whole_packets) n -= n % kChunk;
  if (n == 0) return true;
  int w = to_stderr ? ssh_channel_write_stderr(to, pending.bytes.data(), static_cast<uint32_t>(n))
                    : ssh_channel_write(to, pending.bytes.data(), static_cast<uint32_t>(n));
  if (w < 0) return false;
  pending.bytes.erase(0, static_cast<std::size_t>(w));
  if (pending.bytes.empty() && pending.bytes.capacity() > kMaxRead) std::string().swap(pending.bytes);  // idle: give back
  return true;
}

int ChannelBridge::read_all(ssh_channel from, int from_stderr, std::size_t avail, char* buf) {
  Inflow& in = from == client_.get() ? from_operator_ : from_server_;
  const std::size_t take = std::min(avail, kReadCap);
  std::size_t ask = take;
  if (take == avail && in.since_top_up + avail >= kTopUpAfter) ask = avail + kWindow;  // see kWindow
  // Timeout 0: libssh reads no packet when its buffer holds a byte already, so this copies `take`.
  int n = ssh_channel_read_timeout(from, buf, static_cast<uint32_t>(ask), from_stderr, 0);
  if (n <= 0) return n;
  in.since_top_up = ask > take ? 0 : in.since_top_up + static_cast<std::size_t>(n);
  return n;
}

// move reads what `from` holds, records it, and forwards it in whole packets; a shorter tail waits
// in `pending` for the next read to complete it, or for release() when the loop has nothing else
// to do. A bulk transfer thus goes out one full packet per packet received, where forwarding each
// read as it came would add a 10-byte packet after every one (libssh keeps 10 bytes of the peer's
// maximum packet for headers, and OpenSSH fills its packets to that maximum).
ChannelBridge::Flow ChannelBridge::move(ssh_channel from, int from_stderr, ssh_channel to, bool to_stderr,
                                        audit::Stream stream, Pending& pending) {
  static std::array<char, kReadCap> buf;  // one session process, one thread: shared by all bridges
  bool moved = false;
  for (;;) {
    std::size_t before = pending.bytes.size();
    if (!flush(to, to_stderr, pending, true)) return failed("write", to);
    moved |= pending.bytes.size() != before;
    if (pending.bytes.size() >= kChunk) break;  // the receiver is not taking more right now
    if (stream == audit::Stream::Input && gate_backlog()) break;
    const uint32_t window = ssh_channel_window_size(to);
    if (window <= pending.bytes.size()) break;
    int avail = ssh_channel_poll(from, from_stderr);
    if (avail == SSH_EOF) {
      // Not drained: unless Eof is returned now, the EOF is forwarded on a later pass, and no
      // callback will come to say so.
      drained_pass_ = false;
      if (pending.bytes.empty()) return moved ? Flow::Moved : Flow::Eof;
      before = pending.bytes.size();  // the tail goes out before the EOF
      if (!flush(to, to_stderr, pending, false)) return failed("write", to);
      return moved || pending.bytes.size() != before ? Flow::Moved : Flow::Idle;
    }
    if (avail == SSH_ERROR) return failed("poll", from);
    if (avail <= 0) {
      // Nothing buffered: this direction is drained if nothing waits in pending either.
      if (!pending.bytes.empty()) drained_pass_ = false;
      return moved ? Flow::Moved : Flow::Idle;
    }
    // All that is buffered, even past the receiver's window: a read that left bytes in libssh would
    // let it grow the window on its own (see kWindow). pending then holds the rest until it is taken.
    int n = read_all(from, from_stderr, static_cast<std::size_t>(avail), buf.data());
    if (n == SSH_ERROR) return failed("read", from);
    if (n <= 0) break;
    std::string_view got(buf.data(), static_cast<std::size_t>(n));
    std::string through_gate;
    if (gate_ && stream == audit::Stream::Output) {  // recorded with the gate's answers, as sent on
      if (!gated(stream, got, through_gate)) return Flow::Failed;
      got = through_gate;
    }
    if (recorder_ && !recorder_->record(stream, got)) {
      cut("the session recording cannot be written; session ended so that nothing passes unrecorded");
      return Flow::Failed;
    }
    if (gate_ && stream == audit::Stream::Input) {  // recorded as the operator sent it, forwarded as allowed
      if (!gated(stream, got, through_gate)) return Flow::Failed;
      got = through_gate;
    }
    moved = true;
    if (got.empty()) continue;  // the gate holds a partial request, or answered what came
    if (!pending.bytes.empty()) {
      pending.bytes.append(got);  // completes the held tail; the next flush sends the whole packets
      continue;
    }
    pending.since = std::chrono::steady_clock::now();
    // Straight from the read buffer (within the window): a short read (typing) at once, a long one
    // in whole packets, holding its tail back.
    std::size_t now = got.size() < kChunk ? got.size() : got.size() - got.size() % kChunk;
    now = std::min<std::size_t>(now, ssh_channel_window_size(to));  // the gate's answers may add bytes
    int w = to_stderr ? ssh_channel_write_stderr(to, got.data(), static_cast<uint32_t>(now))
                      : ssh_channel_write(to, got.data(), static_cast<uint32_t>(now));
    if (w < 0) return failed("write", to);
    pending.bytes.assign(got.substr(static_cast<std::size_t>(w)));
  }
  // Left the loop with bytes still to move (a full window, a held packet, a read that failed to
  // come): not drained, so the next pass pumps this bridge again.
  drained_pass_ = false;
  return moved ? Flow::Moved : Flow::Idle;
}

bool ChannelBridge::gated(audit::Stream stream, std::string_view got, std::string& out) {
  out.clear();
  auto st = stream == audit::Stream::Input ? gate_->from_operator(got, out) : gate_->from_server(got, out);
  if (!st) {
    cut("SFTP stream refused: " + st.error().message + "; channel ended");
    return false;
  }
  return true;
}

bool ChannelBridge::gate_backlog() const {
  return gate_ && gate_->answers_waiting() + to_operator_out_.bytes.size() >= kMaxRead;
}

bool ChannelBridge::gate_answers() {
  std::string answers, notices;
  gate_->take_answers(answers);
  gate_->take_notices(notices);
  if (answers.empty() && notices.empty()) return true;
  if (recorder_ && ((!answers.empty() && !recorder_->record(audit::Stream::Output, answers)) ||
                    (!notices.empty() && !recorder_->record(audit::Stream::Error, notices)))) {
    cut("the session recording cannot be written; session ended so that nothing passes unrecorded");
    return false;
  }
  // Behind what the server sent before (the gate answers only between its packets), in order, and
  // forwarded now rather than held for a packet's worth: an answer is a whole reply. The notice goes
  // first: sftp in batch mode exits on the refusal's status, and a stderr line sent after it could
  // arrive after its ssh had gone (seen once: the operator got "Permission denied" without why).
  for (auto [text, pending, to_stderr] :
       {std::tuple{&notices, &to_operator_err_, true}, std::tuple{&answers, &to_operator_out_, false}}) {
    if (text->empty()) continue;
    if (pending->bytes.empty()) pending->since = std::chrono::steady_clock::now();
    pending->bytes += *text;
    if (!flush(client_.get(), to_stderr, *pending, false)) {
      cut("lost the connection to the operator");
      return false;
    }
  }
  return true;
}

std::optional<std::chrono::steady_clock::time_point> ChannelBridge::hold_deadline() const {
  if (state_ != State::Running) return std::nullopt;
  std::optional<std::chrono::steady_clock::time_point> first;
  auto held = [&first](const Pending& p, ssh_channel to) {
    if (p.bytes.empty() || ssh_channel_window_size(to) == 0) return;
    if (!first || p.since + kHoldAtMost < *first) first = p.since + kHoldAtMost;
  };
  held(to_server_, upstream_.get());
  held(to_operator_out_, client_.get());
  held(to_operator_err_, client_.get());
  return first;
}

bool ChannelBridge::release(bool quiet) {
  if (state_ != State::Running) return false;
  bool wrote = false;
  const auto now = std::chrono::steady_clock::now();
  auto out = [&](ssh_channel to, bool to_stderr, Pending& p) {
    if (p.bytes.empty() || (!quiet && now - p.since < kHoldAtMost)) return;
    const std::size_t before = p.bytes.size();
    if (!flush(to, to_stderr, p, false)) return;  // the next pump sees the failure and ends the channel
    wrote |= p.bytes.size() != before;
  };
  out(upstream_.get(), false, to_server_);
  out(client_.get(), false, to_operator_out_);
  out(client_.get(), true, to_operator_err_);
  return wrote;
}

ChannelBridge::Flow ChannelBridge::failed(const char* what, ssh_channel ch) {
  ssh_session s = ssh_channel_get_session(ch);
  spdlog::debug("channel {}: {} on the {} side failed: {}", number_, what, ch == client_.get() ? "operator" : "server",
                s ? ssh_get_error(s) : "no session");
  return Flow::Failed;
}

bool ChannelBridge::ready() const {
  auto can_move = [](ssh_channel from, int is_stderr, ssh_channel to) {
    return ssh_channel_window_size(to) > 0 && ssh_channel_poll(from, is_stderr) > 0;
  };
  if (state_ == State::Console) return ssh_channel_poll(client_.get(), 0) > 0;
  if (state_ != State::Running) return false;
  // A tail shorter than a packet is not "ready": it waits for more bytes or for release().
  auto can_flush = [](const Pending& p, ssh_channel to) {
    return p.bytes.size() >= kChunk && ssh_channel_window_size(to) >= kChunk;
  };
  if (can_flush(to_server_, upstream_.get()) || can_flush(to_operator_out_, client_.get()) ||
      can_flush(to_operator_err_, client_.get()))
    return true;
  return (!client_eof_forwarded_ && !gate_backlog() && can_move(client_.get(), 0, upstream_.get())) ||
         (!out_eof_ && can_move(upstream_.get(), 0, client_.get())) ||
         (!err_eof_ && can_move(upstream_.get(), 1, client_.get()));
}

bool ChannelBridge::pump() {
  if (state_ == State::Console) return line_reader_ ? pump_input_line() : pump_console();
  if (state_ != State::Running) return false;
  const std::uint64_t began = own_arrivals_;
  drained_pass_ = true;
  const bool progress = pump_running();
  // Drained only in the plain running state: both directions still open, nothing held, no gate.
  drained_ = state_ == State::Running && drained_pass_ && !gate_ && !client_eof_forwarded_ && !out_eof_ &&
             !err_eof_ && !client_closed_;
  drained_since_ = began;
  return progress;
}

bool ChannelBridge::pump_running() {
  bool progress = false;
  auto step = [&](Flow f, bool& eof_flag) {
    if (f == Flow::Moved) progress = true;
    if (f == Flow::Eof) eof_flag = true;
    return f != Flow::Failed;
  };
  if (client_closed_) {
    ssh_channel_close(upstream_.get());
    finish("");  // the operator closed the channel: a normal end
    return true;
  }
  if (!client_eof_forwarded_) {
    bool eof = false;
    if (!step(move(client_.get(), 0, upstream_.get(), false, audit::Stream::Input, to_server_), eof)) {
      if (state_ == State::Running) cut("lost the connection to the server");
      return true;
    }
    if (eof) {
      ssh_channel_send_eof(upstream_.get());
      client_eof_forwarded_ = true;
    }
  }
  // With a pty the server merges stderr into stdout; without one the streams stay apart.
  auto err_stream = pty_ ? audit::Stream::Output : audit::Stream::Error;
  if (gate_ && !gate_answers()) return true;
  if ((!out_eof_ &&
       !step(move(upstream_.get(), 0, client_.get(), false, audit::Stream::Output, to_operator_out_), out_eof_)) ||
      (!err_eof_ &&
       !step(move(upstream_.get(), 1, client_.get(), true, err_stream, to_operator_err_), err_eof_))) {
    if (state_ == State::Running) cut("lost the connection to the server");
    return true;
  }
  if (!(out_eof_ && err_eof_)) return progress;
  // All the server's data is out. sshd sends exit-status, then EOF, then CLOSE, and clients rely on
  // that order: an OpenSSH mux master that has sent its own EOF closes the channel on seeing ours,
  // and would then never see the exit status. So once the operator half-closed, the server's EOF is
  // held until its exit status (or close) arrives, and finish() sends exit-status, EOF, close.
  catch_up_exit_status();
  bool exited = exit_status_ || exit_signal_ || upstream_closed_;
  if (exited) {
    finish("");
    return true;
  }
  if (!upstream_eof_forwarded_ && !client_eof_forwarded_) {
    ssh_channel_send_eof(client_.get());
    upstream_eof_forwarded_ = true;
    progress = true;
  }
  return progress;
}

void ChannelBridge::finish(const std::string& reason) {
  if (state_ == State::Done) return;
  end_reason_ = reason;
  spdlog::debug("channel {}: finishing (exit status {}, signal {}, operator closed {}, server closed {}) {}", number_,
                exit_status_ ? std::to_string(*exit_status_) : "none", exit_signal_ ? exit_signal_->name : "none",
                client_closed_, upstream_closed_, reason);
  ssh_channel ch = client_.get();
  if (!client_closed_) {
    if (exit_signal_) {
      ssh_channel_request_send_exit_signal(ch, exit_signal_->name.c_str(), exit_signal_->core_dumped ? 1 : 0,
                                           exit_signal_->message.c_str(), "");
    } else if (exit_status_) {
      ssh_channel_request_send_exit_status(ch, *exit_status_);
    }
    ssh_channel_send_eof(ch);
    ssh_channel_close(ch);
  }
  if (exit_signal_ && !exit_status_) exit_status_ = 128;  // for the session row: killed by a signal
  state_ = State::Done;
}

int ChannelBridge::on_pty_request(ssh_session, ssh_channel, const char* term, int cols, int rows, int, int,
                                  void* self) {
  auto* b = static_cast<ChannelBridge*>(self);
  if (b->state_ != State::AwaitingRequest) return -1;
  // The target sets TERM from this name and ncurses opens files named after it: a name of another
  // shape is replaced (and reported with the dropped environment, gateway/session_process.cc).
  const std::string sent = term ? term : "xterm";
  auto safe = authz::terminal_name(sent);
  if (!safe) b->request_.refused_term = sent.substr(0, 256);
  b->request_.pty = audit::PtyInfo{safe.value_or(std::string(authz::kFallbackTerminal)), cols, rows};
  return 0;
}

int ChannelBridge::on_env_request(ssh_session, ssh_channel, const char* name, const char* value, void* self) {
  auto* b = static_cast<ChannelBridge*>(self);
  if (b->state_ != State::AwaitingRequest || b->request_.env.size() >= kMaxEnv || !name || !value) return -1;
  b->request_.env.emplace_back(name, value);
  return 0;
}

int ChannelBridge::begin(RequestKind kind, const char* text) {
  if (state_ != State::AwaitingRequest) return -1;
  request_.kind = kind;
  request_.command = text ? text : "";
  state_ = State::Starting;
  return 0;
}

int ChannelBridge::on_shell_request(ssh_session, ssh_channel, void* self) {
  return static_cast<ChannelBridge*>(self)->begin(RequestKind::Shell, "");
}

int ChannelBridge::on_exec_request(ssh_session, ssh_channel, const char* command, void* self) {
  return static_cast<ChannelBridge*>(self)->begin(RequestKind::Exec, command);
}

int ChannelBridge::on_subsystem_request(ssh_session, ssh_channel, const char* name, void* self) {
  return static_cast<ChannelBridge*>(self)->begin(RequestKind::Subsystem, name);
}

int ChannelBridge::on_window_change(ssh_session, ssh_channel, int cols, int rows, int, int, void* self) {
  static_cast<ChannelBridge*>(self)->window_change(cols, rows);
  return 0;
}

// on_data only counts: it consumes nothing (returns 0), so the bytes stay in the channel's buffer
// for pump() to read, record and forward.
int ChannelBridge::on_data(ssh_session, ssh_channel, void*, uint32_t, int, void* self) {
  static_cast<ChannelBridge*>(self)->arrived();
  return 0;
}

void ChannelBridge::on_eof(ssh_session, ssh_channel, void* self) { static_cast<ChannelBridge*>(self)->arrived(); }

void ChannelBridge::on_client_close(ssh_session, ssh_channel, void* self) {
  auto* b = static_cast<ChannelBridge*>(self);
  b->client_closed_ = true;
  b->arrived();
}

void ChannelBridge::on_client_signal(ssh_session, ssh_channel, const char* sig, void* self) {
  static_cast<ChannelBridge*>(self)->forward_signal(sig);
}

void ChannelBridge::on_upstream_close(ssh_session, ssh_channel, void* self) {
  auto* b = static_cast<ChannelBridge*>(self);
  b->upstream_closed_ = true;
  b->arrived();
}

void ChannelBridge::on_upstream_exit_status(ssh_session, ssh_channel, int status, void* self) {
  auto* b = static_cast<ChannelBridge*>(self);
  b->exit_status_ = status;
  b->arrived();
}

void ChannelBridge::on_upstream_exit_signal(ssh_session, ssh_channel, const char* sig, int core, const char* msg,
                                            const char*, void* self) {
  auto* b = static_cast<ChannelBridge*>(self);
  b->exit_signal_ = ExitSignal{sig ? sig : "KILL", core != 0, msg ? msg : ""};
  b->arrived();
}

}  // namespace bastion::gateway
