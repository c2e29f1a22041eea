#pragma once
// ChannelBridge: one operator channel joined to one upstream channel. It moves bytes only as far as
// the receiving side's SSH window allows (backpressure: what is not read stays in libssh's bounded
// channel buffer, whose window then stops the sender), and passes every byte through the recorder
// before forwarding it (DESIGN.md rule 6). EOF, exit status/signal and close are passed on in order.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "audit/recorder.h"
#include "audit/sftp_gate.h"
#include "gateway/admin_console.h"
#include <libssh/callbacks.h>

#include "gateway/ssh_ptr.h"

namespace bastion::gateway {

enum class RequestKind { None, Shell, Exec, Subsystem, Forward };

// What the operator asked for on this channel before it started.
struct ChannelRequest {
  std::optional<audit::PtyInfo> pty;  // its term name already checked (authz::terminal_name)
  std::string refused_term;           // the terminal name sent, if it was replaced
  std::vector<std::pair<std::string, std::string>> env;  // as sent; authz::decide_env picks what passes
  RequestKind kind = RequestKind::None;
  std::string command;  // exec command line, or subsystem name
  std::string forward_host;  // direct-tcpip destination, as seen from the server
  int forward_port = 0;
  std::string originator;    // direct-tcpip originator address and port, passed on
  int originator_port = 0;
};

struct ExitSignal {
  std::string name;
  bool core_dumped = false;
  std::string message;
};

class ChannelBridge {
 public:
  // Running: bridged to a server. Console: talking to the admin console (officers, reviewers).
  enum class State { AwaitingRequest, Starting, Running, Console, Done };

  // `arrivals` counts, for the whole session process, every time libssh queued data, an EOF or a
  // close on a bridged channel: the session process compares it across a pass to know whether a
  // read done while serving one channel filled another's buffer (see ready()).
  ChannelBridge(int number, ssh_channel client, std::uint64_t& arrivals);
  ~ChannelBridge();
  ChannelBridge(const ChannelBridge&) = delete;
  ChannelBridge& operator=(const ChannelBridge&) = delete;

  int number() const { return number_; }
  ssh_channel client() const { return client_.get(); }
  State state() const { return state_; }
  ChannelRequest& request() { return request_; }
  const ChannelRequest& request() const { return request_; }

  // State::Starting: the operator's shell/exec/subsystem request was accepted; the session process
  // authorizes it and connects upstream outside of libssh callbacks.
  // attach: the upstream channel is open and its request sent; bytes may flow. With a gate (an
  // SFTP channel under limited transfer entries), the operator's requests pass through it
  // (audit/sftp_gate.h): refused ones never reach the server; the gate's answers go to the
  // operator between the server's packets, recorded as the operator got them, and each refusal
  // is also a line on the operator's stderr.
  void attach(ChannelPtr upstream, audit::ChannelRecorderPtr recorder, std::unique_ptr<audit::SftpGate> gate = nullptr);

  // respond ends the channel without an upstream: text on stdout or stderr, then exit status.
  void respond(const std::string& text, bool to_stderr, int exit_status);
  void respond(const std::string& out, const std::string& err, int exit_status);

  // attach_console hands the channel to the admin console until the operator leaves it.
  void attach_console(std::unique_ptr<AdminConsole> console);
  // read_input_line: the channel's first line of input (up to '\n', a trailing '\r' dropped, or
  // the end of input; at most kMaxInputLine bytes), then `then(line)`, which must answer (respond).
  // For an admin command that takes a secret on standard input (`export`'s passphrase); the line is
  // wiped after `then`, the bytes after it are never read.
  static constexpr std::size_t kMaxInputLine = 2048;
  void read_input_line(std::function<void(std::string& line)> then);

  // mark_forward: a direct-tcpip channel, already authorized, waiting for its upstream.
  void mark_forward(std::string host, int port, std::string originator, int originator_port);

  // cut ends a running channel from the bastion's side (grant ended, server lost, recording failed).
  void cut(const std::string& message);

  // pump moves what the windows allow; returns true if any byte moved.
  bool pump();
  // idle: pumping now would move nothing, so the session process skips it. True when the last
  // pump() found both directions' buffers empty and nothing pending, and no data, EOF, close or
  // exit status has come for this bridge since that pump began (every libssh callback of the
  // bridge counts). A connection carrying 50 idle shells then pumps only the one being typed in:
  // each pump of an idle bridge costs libssh polls of every socket (ready() says why), which made
  // the CPU per keystroke grow with the number of sessions on the connection (issue 21). A bridge
  // in any other situation (bytes held, a full window, an SFTP gate, EOFs being exchanged, the
  // console) is pumped on every pass, as before.
  bool idle() const {
    return state_ == State::Running && drained_ && own_arrivals_ == drained_since_;
  }
  // release forwards the tails pump() held back waiting for a full packet: all of them once the
  // network is quiet (nothing came while the session process waited for the hold to end), else
  // those held for kHoldAtMost (another channel's traffic on the same connection keeps the network
  // busy). Returns true if any byte moved. hold_deadline: when the oldest such tail, one its
  // receiver's window would take some of, must go out at the latest; none if there is no such tail.
  // The session process waits for the network until then (not a poll that returns at once: the
  // next packet of a bulk upload is usually a few microseconds away, and a tail released in that
  // moment went out as a packet of its own, one per packet received, with a pass of the loop each).
  static constexpr std::chrono::milliseconds kHoldAtMost{2};
  bool release(bool quiet);
  std::optional<std::chrono::steady_clock::time_point> hold_deadline() const;
  // ready: bytes are buffered on one side and the other side's window would take them now.
  // Checking a channel with an empty buffer makes libssh read pending packets of every session in
  // the event, which can fill another bridge's buffer after its own check: the session process
  // blocks only when `arrivals` did not move during the whole pass.
  bool ready() const;

  // window_change forwards a new terminal size and records it.
  void window_change(int cols, int rows);
  void forward_signal(const char* name);

  // Once Done: how it ended, for the session row.
  std::optional<int> exit_status() const { return exit_status_; }
  const std::string& end_reason() const { return end_reason_; }
  // hold_recorder keeps a recording opened for a channel that is then refused (its server could
  // not be reached): the refusal is written to it and it is closed with the session.
  void hold_recorder(audit::ChannelRecorderPtr recorder) { recorder_ = std::move(recorder); }
  // take_recorder hands over the recorder (null if none), for the session process to close.
  audit::ChannelRecorderPtr take_recorder() { return std::move(recorder_); }
  bool client_gone() const { return client_closed_; }

  // Set by the session process once it has written the session row; back to 0 once it has begun
  // closing it (SessionProcess::close_session_row).
  std::int64_t session_id = 0;
  std::optional<std::int64_t> grant_id;
  Seconds started_at{};  // when its recording opened

 private:
  enum class Flow { Moved, Idle, Eof, Failed };
  // Pending: bytes read (and recorded) but not yet forwarded: a tail shorter than a packet held
  // for the next read (see move), or what the receiver's window does not take now (e.g. while a
  // key re-exchange holds its channel writes). Nothing more is read once it holds a packet's worth,
  // so memory per direction stays bounded (channel_bridge.cc, kWindow, states the bound).
  struct Pending {
    std::string bytes;
    std::chrono::steady_clock::time_point since{};  // when bytes last went from empty to not
  };
  // Inflow: what a channel received since this bridge last topped its window up (see read_all()).
  struct Inflow {
    std::size_t since_top_up = SIZE_MAX / 2;  // the first read tops up
  };
  // read_all takes all `avail` bytes libssh holds for `from` (at most kReadCap) into buf and, once
  // kTopUpAfter bytes came since the last time, grows the window `from` offers back to kWindow.
  // Returns what ssh_channel_read_timeout returns.
  int read_all(ssh_channel from, int from_stderr, std::size_t avail, char* buf);
  Flow move(ssh_channel from, int from_stderr, ssh_channel to, bool to_stderr, audit::Stream stream,
            Pending& pending);
  // flush writes what the window takes of pending (only whole packets if whole_packets); false on
  // a write error.
  bool flush(ssh_channel to, bool to_stderr, Pending& pending, bool whole_packets);
  bool pump_console();
  bool pump_input_line();
  // gated passes what was read through the gate: the operator's requests (Input) become those to
  // forward, the server's bytes (Output) gain the gate's answers. False (the channel is cut) if the
  // gate refuses the stream.
  bool gated(audit::Stream stream, std::string_view got, std::string& out);
  // gate_answers moves the gate's answers and refusal lines to the operator once the server's
  // stream is between packets; false if they cannot be recorded (the channel is cut).
  bool gate_answers();
  // gate_backlog: the operator is not reading the gate's answers; stop reading its requests.
  bool gate_backlog() const;
  Flow failed(const char* what, ssh_channel ch);
  void finish(const std::string& reason);
  void install_callbacks();

  // Requests on the operator's channel: recorded before start, answered at once (0 = accept).
  static int on_pty_request(ssh_session, ssh_channel, const char* term, int cols, int rows, int, int, void* self);
  static int on_env_request(ssh_session, ssh_channel, const char* name, const char* value, void* self);
  static int on_shell_request(ssh_session, ssh_channel, void* self);
  static int on_exec_request(ssh_session, ssh_channel, const char* command, void* self);
  static int on_subsystem_request(ssh_session, ssh_channel, const char* name, void* self);
  static int on_window_change(ssh_session, ssh_channel, int cols, int rows, int, int, void* self);
  int begin(RequestKind kind, const char* text);

  void catch_up_exit_status();
  static int on_data(ssh_session, ssh_channel, void*, uint32_t, int, void* self);
  static void on_eof(ssh_session, ssh_channel, void* self);
  static void on_client_close(ssh_session, ssh_channel, void* self);
  static void on_client_signal(ssh_session, ssh_channel, const char* sig, void* self);
  static void on_upstream_close(ssh_session, ssh_channel, void* self);
  static void on_upstream_exit_status(ssh_session, ssh_channel, int status, void* self);
  static void on_upstream_exit_signal(ssh_session, ssh_channel, const char* sig, int core, const char* msg,
                                      const char* lang, void* self);

  int number_;
  ChannelPtr client_;
  ChannelPtr upstream_;
  audit::ChannelRecorderPtr recorder_;
  std::unique_ptr<audit::SftpGate> gate_;
  std::unique_ptr<AdminConsole> console_;
  std::string console_pending_;  // console output waiting for the operator's window
  std::function<void(std::string&)> line_reader_;  // read_input_line's continuation
  std::string input_line_;                         // what it has read so far
  ChannelRequest request_;
  State state_ = State::AwaitingRequest;
  bool pty_ = false;

  Inflow from_operator_;
  Inflow from_server_;
  Pending to_server_;
  Pending to_operator_out_;
  Pending to_operator_err_;
  bool client_closed_ = false;
  bool upstream_closed_ = false;
  bool client_eof_forwarded_ = false;
  bool out_eof_ = false;
  bool err_eof_ = false;
  bool upstream_eof_forwarded_ = false;
  std::optional<int> exit_status_;
  std::optional<ExitSignal> exit_signal_;
  std::string end_reason_;

  std::uint64_t& arrivals_;
  // For idle(): this bridge's own count of callbacks, its value when the last pump() began, and
  // whether that pump left both directions empty. drained_pass_ is pump()'s running verdict.
  std::uint64_t own_arrivals_ = 0;
  std::uint64_t drained_since_ = 0;
  bool drained_ = false;
  bool drained_pass_ = false;
  // arrived: a callback queued something for this bridge (or changed its state).
  void arrived() {
    ++arrivals_;
    ++own_arrivals_;
  }
  bool pump_running();
  ssh_channel_callbacks_struct client_cb_{};
  ssh_channel_callbacks_struct upstream_cb_{};
};

}  // namespace bastion::gateway
