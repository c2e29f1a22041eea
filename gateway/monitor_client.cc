#include "gateway/monitor_client.h"

#include <cstdlib>

namespace bastion::gateway {

Result<monitor::Received> MonitorClient::ask(const monitor::Message& request) {
  if (!monitor::is_request(request.type)) std::abort();  // a bug in this process, not input
  if (auto st = monitor::send_message(sock_.get(), request); !st) return Error{"the monitor is gone: " + st.error().message};
  auto answer = monitor::receive_message(sock_.get());
  if (!answer) return Error{"the monitor ended the connection: " + answer.error().message};
  if (monitor::is_request(answer->message.type))
    return Error{std::string("the monitor answered with a request (") + monitor::type_name(answer->message.type) + ")"};
  return answer;
}

}  // namespace bastion::gateway
