# embed_js.cmake: writes OUT, a C++ file defining bastion::web::kPlayScript with the text of IN.
file(READ ${IN} text)
string(FIND "${text}" ")js\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter )js\"")
endif()
file(WRITE ${OUT} "// Generated from web/static/play.js by web/embed_js.cmake; do not edit.\n#include <string_view>\nnamespace bastion::web {\nextern const std::string_view kPlayScript;\nconst std::string_view kPlayScript = R\"js(${text})js\";\n}  // namespace bastion::web\n")
