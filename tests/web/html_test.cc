#include "web/html.h"

#include <gtest/gtest.h>

namespace bastion::web {
namespace {

TEST(Html, EscapesEveryCharacterThatCouldOpenMarkupOrLeaveAnAttribute) {
  EXPECT_EQ(escape(R"(<script>alert("x")</script> & 'y')"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
}

TEST(Html, UrlEncodingKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(url_encode("web 1&x=\"<>\xc3\xa9"), "web%201%26x%3D%22%3C%3E%C3%A9");
  EXPECT_EQ(url_encode("A-z_0.9~"), "A-z_0.9~");
}

TEST(Html, APageHasALanguageAViewportNoScriptAndTheTitleEscaped) {
  const std::string html = render_page({"<Sessions>", "<p>x</p>", "carol", "tok\"en"});
  EXPECT_NE(html.find("<html lang=\"en\">"), std::string::npos);
  EXPECT_NE(html.find("name=\"viewport\""), std::string::npos);
  EXPECT_NE(html.find("<h1>&lt;Sessions&gt;</h1>"), std::string::npos);
  EXPECT_NE(html.find("value=\"tok&quot;en\""), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("style="), std::string::npos);
}

}  // namespace
}  // namespace bastion::web
