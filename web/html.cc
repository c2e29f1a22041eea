#include "web/html.h"

namespace bastion::web {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string page_open(const Page& page, const std::vector<std::string>& scripts, const std::vector<std::string>& styles) {
  std::string nav;
  if (!page.account.empty()) {
    nav = "<nav aria-label=\"Portal\"><ul><li><a href=\"/sessions\">Sessions</a></li>"
          "<li><a href=\"/report\">Access report</a></li><li><a href=\"/requests\">Requests</a></li>"
          "<li><a href=\"/live\">Live</a></li><li><a href=\"/grants\">Grants</a></li>"
          "<li><a href=\"/export\">" + std::string(page.officer ? "Export a client's data" : "Export our data") +
          "</a></li></ul>"
          "<form method=\"post\" action=\"/sign-out\" class=\"sign-out\">"
          "<input type=\"hidden\" name=\"csrf\" value=\"" + escape(page.csrf) + "\">"
          "<span>" + escape(page.account) + "</span> <button type=\"submit\">Sign out</button></form></nav>";
  }
  std::string script_tags;
  for (const auto& href : styles) script_tags += "<link rel=\"stylesheet\" href=\"" + escape(href) + "\">";
  for (const auto& src : scripts) script_tags += "<script defer src=\"" + escape(src) + "\"></script>";
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" + escape(page.title) + " · Bastion</title>"
         "<link rel=\"stylesheet\" href=\"/static/style.css\">" + script_tags + "</head><body>"
         "<header><p class=\"brand\">Bastion</p>" + nav + "</header>"
         "<main><h1>" + escape(page.title) + "</h1>";
}

std::string page_close() { return "</main></body></html>\n"; }

std::string render_page(const Page& page, const std::vector<std::string>& scripts,
                        const std::vector<std::string>& styles) {
  return page_open(page, scripts, styles) + page.body + page_close();
}

std::string notice(std::string_view text, bool is_error) {
  return std::string("<p class=\"") + (is_error ? "error\" role=\"alert\">" : "ok\" role=\"status\">") + escape(text) +
         "</p>";
}

const std::string_view kStyleSheet = R"(*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff}
header{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem;padding:.5rem 1rem;background:#12304d;color:#fff}
header a,header span{color:#fff}
.brand{margin:0;font-weight:700}
nav{display:flex;flex-wrap:wrap;align-items:center;gap:1rem}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
.sign-out{display:flex;align-items:center;gap:.5rem;margin:0}
main{padding:1rem;max-width:72rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
a{color:#0b4f8a}
label{display:block;font-weight:600;margin-top:.75rem}
input,select,button{font:inherit;padding:.4rem .5rem;max-width:100%}
input,select{border:1px solid #555;border-radius:3px;width:100%;max-width:24rem;background:#fff;color:#1a1a1a}
button{margin-top:1rem;border:1px solid #12304d;border-radius:3px;background:#12304d;color:#fff;cursor:pointer}
header button{margin:0;background:#fff;color:#12304d}
.filters{display:flex;flex-wrap:wrap;gap:0 1rem;align-items:end}
.filters div{flex:1 1 10rem}
.table-wrap{overflow-x:auto;margin:1rem 0;position:relative}
table{border-collapse:collapse;width:100%}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border-bottom:1px solid #bbb;padding:.35rem .5rem;text-align:left;vertical-align:top}
dl{display:grid;grid-template-columns:minmax(7rem,max-content) 1fr;gap:.25rem 1rem}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
.error{color:#8a0b0b;font-weight:600}
.ok{color:#0b5a1e;font-weight:600}
button.danger{background:#8a0b0b;border-color:#8a0b0b}
a.danger{color:#8a0b0b;font-weight:600}
.verified{color:#0b5a1e}
.mismatch{color:#8a0b0b;font-weight:600}
.pager{display:flex;gap:1rem}
th a{white-space:nowrap}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
code{overflow-wrap:anywhere}
pre.stream{overflow:auto;max-height:30rem;border:1px solid #bbb;padding:.5rem;white-space:pre-wrap;overflow-wrap:anywhere}
.player{margin:1rem 0;max-width:100%}
#commands button{margin:.25rem 0;text-align:left}
#commands button[aria-current]{outline:3px solid #0b5a1e}
@media print{header,nav,.filters,.pager{display:none}body{font-size:10pt}.table-wrap{overflow:visible}th,td{padding:.1rem .25rem}a{color:inherit;text-decoration:none}}
)";

}  // namespace bastion::web
