// done_notice: the confirmation after a POST comes from a fixed set of codes, never from the URL.
#include <gtest/gtest.h>

#include "web/portal.h"

namespace bastion::web {
namespace {

std::string notice_for(const std::string& done, const std::string& id) {
  httplib::Request req;
  req.params.emplace("done", done);
  req.params.emplace("id", id);
  return done_notice(req);
}

TEST(DoneNotice, KnownCodesNameTheRequestOrSession) {
  EXPECT_NE(notice_for("approved", "7").find("Request 7 approved."), std::string::npos);
  EXPECT_NE(notice_for("denied", "8").find("Request 8 denied."), std::string::npos);
  EXPECT_NE(notice_for("kill-requested", "9").find("Session 9 is being ended"), std::string::npos);
}

TEST(DoneNotice, AnythingElseShowsNothing) {
  EXPECT_EQ(notice_for("Your data was deleted", "1"), "");
  EXPECT_EQ(notice_for("approved", "7<script>"), "");
  EXPECT_EQ(notice_for("approved", ""), "");
  EXPECT_EQ(notice_for("approved", "1234567890123456789"), "");  // longer than a session id
  EXPECT_EQ(done_notice(httplib::Request{}), "");
}

}  // namespace
}  // namespace bastion::web
