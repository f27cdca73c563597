#include "tools/cli/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace switchyard::cli {
namespace {

int EnvInt(const char* name) {
  int v = 0;
  const char* s = std::getenv(name);
  return s != nullptr && absl::SimpleAtoi(s, &v) && v > 0 ? v : 0;
}

}  // namespace

bool IsAnsiTerminal(int fd, const char* term) {
  return isatty(fd) == 1 && term != nullptr && term[0] != '\0' && std::strcmp(term, "dumb") != 0;
}

bool WantsColor(const char* no_color) { return no_color == nullptr || no_color[0] == '\0'; }

TerminalSize QueryTerminalSize(int fd) {
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return {ws.ws_col, ws.ws_row};
  return {EnvInt("COLUMNS"), EnvInt("LINES")};
}

std::string Redraw(const std::string& frame) {
  std::string body = frame;
  if (!body.empty() && body.back() == '\n') body.pop_back();
  return absl::StrCat("\x1b[H", absl::StrReplaceAll(body, {{"\n", "\x1b[K\n"}}), "\x1b[K\x1b[J");
}

}  // namespace switchyard::cli
