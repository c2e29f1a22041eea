// operator web-enrol | web-cert: what an officer does on the host for the web portal (web/);
// web-login: a reviewer or officer who is on SSH asks for a one-time sign-in link for herself.
#include <ostream>

#include "authz/web_session_policy.h"
#include "gateway/admin/handlers.h"
#include "gateway/admin/self_signed_cert.h"
#include "gateway/admin/web_enrolment.h"

namespace bastion::gateway::admin {

int operator_web_enrol(const Args& args, CommandContext& ctx) {
  CommandLine cl("operator web-enrol", "NAME [--portal-url URL]",
                 "Print a one-time link (valid 24 hours) with which the account sets its web portal password.");
  cl.positional("NAME");
  cl.options()("portal-url", po::value<std::string>()->default_value(kDefaultPortalUrl)->value_name("URL"),
               "where bastion-web is reached");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  const auto name = (*vm)["NAME"].as<std::string>();
  const auto who = ctx.store.find_operator(name);
  if (!who) return refuse(ctx, "unknown operator '" + name + "'");
  auto link = issue_web_enrolment(ctx, *who, (*vm)["portal-url"].as<std::string>());
  if (!link) return refuse(ctx, link.error().message);
  if (wants_json(*vm)) {
    print_json(ctx, {{"name", name}, {"web_enrolment_url", *link}});
  } else {
    ctx.out << "web enrolment link for " << name << " (once, 24 hours): " << *link << "\n";
  }
  return kExitOk;
}

int web_login(const Args& args, CommandContext& ctx) {
  CommandLine cl("web-login", "",
                 "Print a one-time link (valid 2 minutes) that signs you in to the web portal (bastion-web).");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  // The link signs in the account that asked, which only the SSH front knows for sure (key + TOTP).
  if (!ctx.remote) {
    return refuse(ctx, "web-login signs in the account that runs it over SSH (ssh NAME@bastion web-login); on the "
                       "host, `operator web-enrol NAME` prints a password link");
  }
  if (ctx.portal_url.empty()) {
    return refuse(ctx, "this bastion does not know the web portal's address; its administrator sets it with "
                       "bastiond --portal-url https://HOST:PORT");
  }
  const auto who = ctx.store.find_operator(ctx.actor);
  if (!who) return refuse(ctx, "account " + ctx.actor + " is no longer registered");
  auto url = issue_web_login_link(ctx, *who, ctx.portal_url);
  if (!url) return refuse(ctx, url.error().message);
  if (wants_json(*vm)) {
    print_json(ctx, {{"name", who->name}, {"web_login_url", *url}, {"valid_seconds", authz::kWebLoginLinkLife.count()}});
  } else {
    ctx.out << "sign-in link for " << who->name << " (once, within 2 minutes): " << *url << "\n";
  }
  return kExitOk;
}

int web_cert(const Args& args, CommandContext& ctx) {
  CommandLine cl("web-cert", "--cert FILE --key FILE [--host NAME] [--days N]",
                 "Make a self-signed TLS certificate and key for bastion-web (a demo; use your CA's in production).");
  cl.options()("cert", po::value<std::string>()->required()->value_name("FILE"), "certificate to write (PEM)")(
      "key", po::value<std::string>()->required()->value_name("FILE"), "private key to write (PEM, mode 0600)")(
      "host", po::value<std::string>()->default_value("localhost")->value_name("NAME"), "the portal's host name")(
      "days", po::value<int>()->default_value(365)->value_name("N"), "validity in days");
  const auto vm = cl.parse(args, ctx);
  if (!vm) return kExitOk;
  if (ctx.remote) return refuse(ctx, "web-cert writes files on the bastion host: run it there with bastionctl");
  const int days = (*vm)["days"].as<int>();
  if (days < 1 || days > 3650) throw UsageError("--days must be between 1 and 3650");
  const SelfSignedFiles files{(*vm)["cert"].as<std::string>(), (*vm)["key"].as<std::string>()};
  if (auto st = make_self_signed_cert(files, (*vm)["host"].as<std::string>(), days); !st) {
    return refuse(ctx, st.error().message);
  }
  ctx.out << "certificate " << files.cert_path << " and key " << files.key_path << " written (self-signed, "
          << days << " days)\n";
  return kExitOk;
}

}  // namespace bastion::gateway::admin
