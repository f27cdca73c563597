#include "tools/cli/heat_map.h"

#include <algorithm>
#include <iterator>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"

namespace switchyard::cli {
namespace {

// A cell's level is how many bounds its ratio (share of the layer's tokens
// over an even share) reaches. Colour: blues below an even share, green
// around it, yellow to red above it, magenta at 3x and more, so that cold and
// hot experts stand apart at a glance (xterm 256-colour indices).
constexpr double kColorBounds[] = {0.25, 0.5, 0.75, 0.9, 1.1, 1.5, 2, 3};
constexpr const char* kColorLabels[] = {"0", ".25", ".5", ".75", ".9", "1.1", "1.5", "2", "3"};
constexpr int kColors[] = {17, 19, 31, 37, 34, 184, 214, 196, 201};
constexpr int kNoTokensColor = 236;  // dark grey: the layer has no tokens yet
// Without colour, fewer and coarser levels: five shades are all a reader
// tells apart.
constexpr double kShadeBounds[] = {0.5, 0.9, 1.1, 2};
constexpr const char* kShadeLabels[] = {"0", ".5", ".9", "1.1", "2"};
constexpr const char* kShades[] = {"\u00b7", "\u2591", "\u2592", "\u2593", "\u2588"};  // · ░ ▒ ▓ █
constexpr const char* kLeftHalf = "\u258c";                                           // ▌
constexpr const char* kReset = "\x1b[0m";

constexpr int kNoTokens = -1;

int Level(double ratio, absl::Span<const double> bounds) {
  if (ratio < 0) return kNoTokens;
  int level = 0;
  while (level < static_cast<int>(bounds.size()) && ratio >= bounds[level]) ++level;
  return level;
}

int Color(int level) { return level == kNoTokens ? kNoTokensColor : kColors[level]; }
const char* Shade(int level) { return level == kNoTokens ? " " : kShades[level]; }

// How a row's cells are drawn: two columns per cell, one, or two cells per
// column (the left half in the foreground colour, the right half in the
// background colour); a cell sums `group` neighbouring experts.
enum class CellShape { kWide, kNarrow, kHalf };
struct Layout {
  int group = 1;
  int cells = 0;
  CellShape shape = CellShape::kWide;
  int columns = 0;  // a row's cells, in terminal columns
};

// The least folding that fits `available` columns, widest cells first.
Layout ChooseLayout(int experts, int available, bool color) {
  for (int group = 1;; group *= 2) {
    const int cells = (experts + group - 1) / group;
    if (group == 1 && 2 * cells <= available) return {group, cells, CellShape::kWide, 2 * cells};
    if (cells <= available) return {group, cells, CellShape::kNarrow, cells};
    if (color && (cells + 1) / 2 <= available) return {group, cells, CellShape::kHalf, (cells + 1) / 2};
    if (cells <= 1) return {group, cells, CellShape::kNarrow, cells};
  }
}

// Each cell's tokens over an even share of the layer's (1 / experts per
// expert); -1 for every cell while the layer has no tokens.
std::vector<double> CellRatios(const google::protobuf::RepeatedField<int64_t>& counts, int experts,
                               const Layout& layout) {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  std::vector<double> ratios(layout.cells, -1.0);
  if (total <= 0) return ratios;
  for (int cell = 0; cell < layout.cells; ++cell) {
    const int first = cell * layout.group;
    const int end = std::min(first + layout.group, experts);
    int64_t sum = 0;
    for (int e = first; e < end && e < counts.size(); ++e) sum += counts[e];
    ratios[cell] = static_cast<double>(sum) * experts / (static_cast<double>(total) * (end - first));
  }
  return ratios;
}

std::string DrawCells(const std::vector<double>& ratios, const Layout& layout, bool color) {
  std::string s;
  if (!color) {
    for (double r : ratios) {
      const char* shade = Shade(Level(r, kShadeBounds));
      absl::StrAppend(&s, shade, layout.shape == CellShape::kWide ? shade : "");
    }
    return s;
  }
  const auto color_of = [](double r) { return Color(Level(r, kColorBounds)); };
  if (layout.shape == CellShape::kHalf) {
    for (size_t i = 0; i < ratios.size(); i += 2) {
      const std::string right =
          i + 1 < ratios.size() ? absl::StrCat("48;5;", color_of(ratios[i + 1])) : "49";  // 49: default background
      absl::StrAppend(&s, "\x1b[38;5;", color_of(ratios[i]), ";", right, "m", kLeftHalf);
    }
  } else {
    const char* blank = layout.shape == CellShape::kWide ? "  " : " ";
    for (double r : ratios) absl::StrAppend(&s, "\x1b[48;5;", color_of(r), "m", blank);
  }
  absl::StrAppend(&s, kReset);
  return s;
}

// Expert numbers above the cells: every `step` experts, the least power of
// two whose labels do not touch.
std::string Axis(int experts, const Layout& layout) {
  std::string axis(layout.columns, ' ');
  if (experts <= 0) return axis;
  const int digits = static_cast<int>(absl::StrCat(experts - 1).size());
  // Columns taken by `step` experts, and the column of expert e.
  const auto span = [&](int step) {
    switch (layout.shape) {
      case CellShape::kWide: return 2 * step;
      case CellShape::kNarrow: return step / layout.group;
      case CellShape::kHalf: return step / (2 * layout.group);
    }
    return step;
  };
  int step = layout.shape == CellShape::kHalf ? 2 * layout.group : layout.group;
  while (span(step) < digits + 1) step *= 2;
  for (int e = 0; e < experts; e += step) {
    const int column = span(e);
    const std::string label = absl::StrCat(e);
    if (column + static_cast<int>(label.size()) > layout.columns) break;
    axis.replace(column, label.size(), label);
  }
  return axis;
}

// Items (text, its terminal columns) joined by spaces into lines of at most
// `width` columns where they allow it, the lines after the first indented
// by two.
using Item = std::pair<std::string, int>;
std::string Wrap(const std::vector<Item>& items, int width) {
  std::string s;
  int used = 0;
  for (const auto& [text, columns] : items) {
    if (used == 0) {
      s = text;
      used = columns;
    } else if (used + 1 + columns > width) {
      absl::StrAppend(&s, "\n  ", text);
      used = 2 + columns;
    } else {
      absl::StrAppend(&s, " ", text);
      used += 1 + columns;
    }
  }
  return absl::StrCat(s, "\n");
}

Item Ascii(std::string text) {
  const int columns = static_cast<int>(text.size());
  return {std::move(text), columns};
}

// "tokens ÷ even share (1/8 per expert): 0 ██ .25 ██ ...": the colour bar,
// each bound between the colours below and above it.
std::string Legend(int experts, bool any_without_tokens, int width, bool color) {
  std::vector<Item> items;
  const std::string head = absl::StrCat("tokens \u00f7 even share (1/", experts, " per expert):");
  items.push_back({head, static_cast<int>(head.size()) - 1});  // ÷ is two bytes, one column
  const int levels = color ? std::size(kColors) : std::size(kShades);
  for (int level = 0; level < levels; ++level) {
    const std::string label = color ? kColorLabels[level] : kShadeLabels[level];
    if (color) {
      items.push_back({absl::StrCat(label, " \x1b[48;5;", kColors[level], "m  ", kReset), label.size() + 3});
    } else {
      items.push_back({absl::StrCat(label, " ", kShades[level]), label.size() + 2});
    }
  }
  if (any_without_tokens) {
    if (color) {
      items.push_back({absl::StrCat(" no tokens \x1b[48;5;", kNoTokensColor, "m  ", kReset), 13});
    } else {
      items.push_back(Ascii(" blank: no tokens"));
    }
  }
  return Wrap(items, width);
}

std::string Title(const v1::ExpertLoad& load, LoadWindow window, int experts, const Layout& layout, int width) {
  const std::string when = window == LoadWindow::kSinceStart ? "since start"
                           : window == LoadWindow::kRecent
                               ? absl::StrCat("over the last ", load.window_seconds(), " s")
                               : "in the last step";
  std::vector<Item> items = {Ascii(absl::StrCat("expert load ", when, ":")),
                             Ascii(absl::StrCat(load.num_layers(), " layers,")),
                             Ascii(absl::StrCat(experts, " experts,")), Ascii(absl::StrCat("top_k ", load.top_k(), ",")),
                             Ascii(absl::StrCat(load.num_steps(), " engine steps"))};
  const int per_column = layout.shape == CellShape::kHalf ? 2 * layout.group : layout.group;
  if (per_column > 1) items.push_back(Ascii(absl::StrCat("(", per_column, " experts per column)")));
  return Wrap(items, width);
}

constexpr int kLeftColumns = 6;    // "%5d ": the layer
constexpr int kRightColumns = 23;  // "  %8.2f %12d": imbalance, tokens

}  // namespace

std::string RenderHeatMap(const v1::ExpertLoad& load, const HeatMapOptions& options) {
  int experts = load.num_experts();
  bool any_without_tokens = false;
  for (const v1::LayerExpertLoad& l : load.layers()) {
    const auto& counts = ExpertCounts(l, options.window);
    experts = std::max(experts, counts.size());
    int64_t total = 0;
    for (int64_t c : counts) total += c;
    any_without_tokens |= total == 0;
  }
  const int available = std::max(1, options.width - kLeftColumns - kRightColumns);
  const Layout layout = ChooseLayout(experts, available, options.color);
  const std::string legend = Legend(experts, any_without_tokens, options.width, options.color);
  const int legend_lines = static_cast<int>(std::count(legend.begin(), legend.end(), '\n'));

  std::string s = Title(load, options.window, experts, layout, options.width);
  const int title_lines = static_cast<int>(std::count(s.begin(), s.end(), '\n'));
  absl::StrAppend(&s, "layer ", Axis(experts, layout), absl::StrFormat("  %8s %12s\n", "max/mean", "tokens"));
  const int layers = load.layers_size();
  // Too few lines: the legend goes first, unless it leaves room for a few
  // layers; then the layers that do not fit, named in one line.
  const int fixed = title_lines + 1;  // and the axis
  bool with_legend = true;
  if (options.max_lines > 0 && fixed + layers + legend_lines > options.max_lines) {
    with_legend = options.max_lines - fixed - legend_lines - 1 >= std::min(layers, 4);
  }
  int shown = layers;
  const int room = options.max_lines - fixed - (with_legend ? legend_lines : 0);
  if (options.max_lines > 0 && room < layers) shown = std::max(1, room - 1);
  for (int i = 0; i < shown && i < layers; ++i) {
    const v1::LayerExpertLoad& l = load.layers(i);
    const auto& counts = ExpertCounts(l, options.window);
    int64_t total = 0;
    for (int64_t c : counts) total += c;
    absl::StrAppend(&s, absl::StrFormat("%5d ", l.layer()),
                    DrawCells(CellRatios(counts, experts, layout), layout, options.color),
                    absl::StrFormat("  %8.2f %12d\n", LayerImbalance(l, options.window), total));
  }
  if (shown < layers) {  // two or more: the note takes the line of one
    absl::StrAppend(&s, "... layers ", load.layers(shown).layer(), "-", load.layers(layers - 1).layer(),
                    " not shown\n");
  }
  return with_legend ? absl::StrCat(s, legend) : s;
}

}  // namespace switchyard::cli
