// What `expert-load --watch` needs of a terminal: whether stdout is one that
// understands ANSI escapes, its size, and the sequences that take over the
// screen for a live picture and give it back as it was.
#pragma once

#include <string>

namespace switchyard::cli {

// A terminal (isatty) whose TERM is set and not "dumb": the convention by
// which programs tell a screen that draws escapes from one that prints them.
bool IsAnsiTerminal(int fd, const char* term);
// Colour unless NO_COLOR is set to anything but "" (https://no-color.org).
bool WantsColor(const char* no_color);

struct TerminalSize {
  int columns = 0;  // 0 = unknown
  int lines = 0;
};
// The window size of the terminal on `fd` (TIOCGWINSZ), else $COLUMNS and
// $LINES, else zeros.
TerminalSize QueryTerminalSize(int fd);

// The alternate screen with the cursor hidden, as full-screen programs
// (less, top) do, so that the shell's screen comes back intact on exit.
inline constexpr const char* kEnterScreen = "\x1b[?1049h\x1b[?25l";
inline constexpr const char* kLeaveScreen = "\x1b[?25h\x1b[?1049l";

// `frame` (lines ending in '\n') drawn over the previous one from the top
// left: each line erased to its end, and what is below the last erased, so
// nothing of a longer previous frame is left. The last newline is dropped so
// that a frame as tall as the screen does not scroll it.
std::string Redraw(const std::string& frame);

}  // namespace switchyard::cli
