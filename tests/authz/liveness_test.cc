// Tests for authz/liveness.cc: the live re-check speaks decide()'s words and adds the key rule.
#include "authz/liveness.h"

#include <gtest/gtest.h>

#include <vector>

namespace bastion::authz {
namespace {

const Seconds kStart = from_unix(1795428120);  // 2026-11-23 10:02:00 UTC
const Seconds kEnd = from_unix(1795442520);    // 2026-11-23 14:02:00 UTC
const Seconds kMidday = from_unix(1795437000);

struct Live {
  Operator who{1, "alice", Role::Operator, "", false, "SECRET"};
  Server server{10, "web1", "10.0.0.5", 22, "acme", ServerKind::Dedicated, "ssh-ed25519 AAAA", {}};
  Grant grant;
  std::vector<OperatorKey> keys{{5, 1, "ssh-ed25519", "AAAA", "", "SHA256:abc"}};
  Live() {
    grant.id = 17;
    grant.operator_id = 1;
    grant.operator_name = "alice";
    grant.server_id = 10;
    grant.server_name = "web1";
    grant.login = "root";
    grant.ops = {"shell"};
    grant.not_before = kStart;
    grant.not_after = kEnd;
  }
  std::optional<std::string> at(Seconds now, bool with_grant = true, bool with_server = true) {
    return why_not_live({17, with_grant ? &grant : nullptr, &who, with_server ? &server : nullptr, keys, "SHA256:abc", now});
  }
};

TEST(Liveness, AnActiveGrantWithItsKeyGoesOn) { EXPECT_EQ(Live().at(kMidday), std::nullopt); }

TEST(Liveness, AnExpiredGrantEndsInDecidesWords) {
  EXPECT_EQ(Live().at(kEnd), "grant 17 expired at 2026-11-23 14:02:00 UTC; ask a security officer for a new grant");
}

TEST(Liveness, ARevokedGrantEndsInDecidesWords) {
  Live l;
  l.grant.revoked_at = kMidday;
  EXPECT_EQ(l.at(kMidday), "grant 17 was revoked at 2026-11-23 12:30:00 UTC; ask a security officer for a new grant");
}

TEST(Liveness, ADisabledAccountEnds) {
  Live l;
  l.who.disabled = true;
  EXPECT_EQ(l.at(kMidday), "account alice is disabled; ask a security officer to re-enable it");
}

TEST(Liveness, AServerTurnedSharedEnds) {
  Live l;
  l.server.kind = ServerKind::Shared;
  EXPECT_EQ(l.at(kMidday), "web1 is a shared server: access to shared servers is never granted");
}

TEST(Liveness, ADeletedGrantOrRemovedServerEnds) {
  EXPECT_EQ(Live().at(kMidday, false), "grant 17 no longer exists");
  EXPECT_EQ(Live().at(kMidday, true, false), "server web1 was removed");
}

TEST(Liveness, AGrantOfAnotherAccountIsNotThisSessionsGrant) {
  Live l;
  l.grant.operator_id = 2;
  EXPECT_EQ(l.at(kMidday), "the account of grant 17 no longer exists");
}

TEST(Liveness, RemovingTheKeyThatAuthenticatedEnds) {
  Live l;
  l.keys[0].fingerprint = "SHA256:other";
  EXPECT_EQ(l.at(kMidday), "key SHA256:abc of alice was removed");
}

}  // namespace
}  // namespace bastion::authz
