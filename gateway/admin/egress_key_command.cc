// egress-key: the public key officers install in ~LOGIN/.ssh/authorized_keys on each server.
#include <ostream>

#include "gateway/admin/handlers.h"
#include "gateway/keys.h"

namespace bastion::gateway::admin {

int egress_key(const Args& args, CommandContext& ctx) {
  CommandLine cl("egress-key", "", "Print the bastion's egress public key, to install on servers.");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  // From the private key itself rather than the .pub beside it: the .pub could be stale or edited.
  auto key = load_private_key(ctx.keys.egress_key);
  if (!key) return refuse(ctx, key.error().message);
  auto line = public_key_line(key->get());
  if (!line) return refuse(ctx, line.error().message);
  if (wants_json(*vm)) {
    print_json(ctx, {{"public_key", *line}, {"fingerprint", fingerprint(key->get())}});
  } else {
    ctx.out << *line << " bastion-egress\n";
  }
  return kExitOk;
}

}  // namespace bastion::gateway::admin
