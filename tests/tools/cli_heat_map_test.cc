// The expert-load heat map (switchyard-cli expert-load --watch), as text:
// exact frames for small loads, and the folding that keeps a row of many
// experts within the width.
#include "tools/cli/heat_map.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/cli/terminal.h"

namespace switchyard::cli {
namespace {

std::string Bg(int color) { return absl::StrCat("\x1b[48;5;", color, "m"); }
std::string Half(int left, int right) { return absl::StrCat("\x1b[38;5;", left, ";48;5;", right, "m\u258c"); }
const std::string kReset = "\x1b[0m";

// Terminal columns of a line: escape sequences take none, a UTF-8 character one.
int Columns(const std::string& line) {
  int columns = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\x1b') {
      while (i < line.size() && line[i] != 'm') ++i;
    } else if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) {
      ++columns;
    }
  }
  return columns;
}

// Layer 0: 4 2 1 1 of 8 tokens, so 2x, 1x, .5x and .5x an even share;
// layer 1: no tokens yet.
v1::ExpertLoad SmallLoad() {
  v1::ExpertLoad load;
  load.set_num_layers(2);
  load.set_num_experts(4);
  load.set_top_k(2);
  load.set_num_steps(7);
  load.set_window_seconds(60);
  v1::LayerExpertLoad* l0 = load.add_layers();
  l0->set_layer(0);
  for (int64_t c : {4, 2, 1, 1}) l0->add_tokens(c);
  l0->set_imbalance(2);
  for (int64_t c : {0, 0, 3, 1}) l0->add_recent_tokens(c);  // 0, 0, 3x, 1x
  l0->set_recent_imbalance(3);
  for (int64_t c : {1, 1, 1, 1}) l0->add_last_step_tokens(c);
  l0->set_last_step_imbalance(1);
  v1::LayerExpertLoad* l1 = load.add_layers();
  l1->set_layer(1);
  for (int i = 0; i < 4; ++i) {
    l1->add_tokens(0);
    l1->add_recent_tokens(0);
    l1->add_last_step_tokens(0);
  }
  return load;
}

// `experts` experts in each of `layers` layers; expert e gets e + 1 tokens.
v1::ExpertLoad RampLoad(int layers, int experts) {
  v1::ExpertLoad load;
  load.set_num_layers(layers);
  load.set_num_experts(experts);
  load.set_top_k(8);
  load.set_num_steps(123456);
  for (int l = 0; l < layers; ++l) {
    v1::LayerExpertLoad* layer = load.add_layers();
    layer->set_layer(l);
    for (int e = 0; e < experts; ++e) layer->add_tokens(e + 1);
    layer->set_imbalance(1.98);
  }
  return load;
}

TEST(CliHeatMapTest, ColourCellsByShareOverAnEvenShare) {
  HeatMapOptions options;
  options.width = 60;
  EXPECT_EQ(RenderHeatMap(SmallLoad(), options),
            "expert load since start: 2 layers, 4 experts, top_k 2,\n"
            "  7 engine steps\n"  // the title wraps at the width too
            "layer 0 1 2 3   max/mean       tokens\n"
            // 2x red, 1x green, .5x blue; the row's colour reset before the numbers.
            "    0 " + Bg(196) + "  " + Bg(34) + "  " + Bg(31) + "  " + Bg(31) + "  " + kReset +
            "      2.00            8\n"
            "    1 " + Bg(236) + "  " + Bg(236) + "  " + Bg(236) + "  " + Bg(236) + "  " + kReset +
            "      0.00            0\n"
            // The colour bar, wrapped at 60 columns, and grey for a layer without tokens.
            "tokens \u00f7 even share (1/4 per expert): 0 " + Bg(17) + "  " + kReset + " .25 " + Bg(19) + "  " +
            kReset + " .5 " + Bg(31) + "  " + kReset + "\n"
            "  .75 " + Bg(37) + "  " + kReset + " .9 " + Bg(34) + "  " + kReset + " 1.1 " + Bg(184) + "  " + kReset +
            " 1.5 " + Bg(214) + "  " + kReset + " 2 " + Bg(196) + "  " + kReset + " 3 " + Bg(201) + "  " + kReset +
            "  no tokens " + Bg(236) + "  " + kReset + "\n");
}

TEST(CliHeatMapTest, ShadesWithoutColour) {
  HeatMapOptions options;
  options.width = 60;
  options.color = false;
  EXPECT_EQ(RenderHeatMap(SmallLoad(), options),
            "expert load since start: 2 layers, 4 experts, top_k 2,\n"
            "  7 engine steps\n"  // the title wraps at the width too
            "layer 0 1 2 3   max/mean       tokens\n"
            "    0 \u2588\u2588\u2592\u2592\u2591\u2591\u2591\u2591      2.00            8\n"  // ██▒▒░░░░
            "    1 " + std::string(8, ' ') + "      0.00            0\n"
            "tokens \u00f7 even share (1/4 per expert): 0 \u00b7 .5 \u2591 .9 \u2592 1.1 \u2593\n"
            "  2 \u2588  blank: no tokens\n");
}

TEST(CliHeatMapTest, WindowsPickTheirCountsImbalanceAndTitle) {
  HeatMapOptions options;
  options.width = 60;
  options.color = false;
  options.window = LoadWindow::kRecent;
  const std::vector<std::string> recent = absl::StrSplit(RenderHeatMap(SmallLoad(), options), '\n');
  EXPECT_EQ(recent[0], "expert load over the last 60 s: 2 layers, 4 experts,");
  EXPECT_EQ(recent[1], "  top_k 2, 7 engine steps");
  EXPECT_EQ(recent[3], "    0 \u00b7\u00b7\u00b7\u00b7\u2588\u2588\u2592\u2592      3.00            4");
  options.window = LoadWindow::kLastStep;
  const std::vector<std::string> last = absl::StrSplit(RenderHeatMap(SmallLoad(), options), '\n');
  EXPECT_EQ(last[0], "expert load in the last step: 2 layers, 4 experts, top_k 2,");
  EXPECT_EQ(last[3], "    0 \u2592\u2592\u2592\u2592\u2592\u2592\u2592\u2592      1.00            4");
}

TEST(CliHeatMapTest, SixtyFourExpertsTwoToAColumnInHalfBlocks) {
  v1::ExpertLoad load = RampLoad(1, 64);
  // Experts 0 and 1 get everything: 32x an even share each, the rest none.
  for (int e = 0; e < 64; ++e) load.mutable_layers(0)->set_tokens(e, e < 2 ? 100 : 0);
  HeatMapOptions options;
  options.width = 80;  // 51 columns for cells: too few for 64, enough for 32 halves
  const std::vector<std::string> lines = absl::StrSplit(RenderHeatMap(load, options), '\n');
  EXPECT_EQ(lines[0], "expert load since start: 1 layers, 64 experts, top_k 8, 123456 engine steps");
  EXPECT_EQ(lines[1], "  (2 experts per column)");
  // Every 8th expert labelled, 4 columns apart.
  EXPECT_EQ(lines[2], "layer 0   8   16  24  32  40  48  56    max/mean       tokens");
  std::string row = "    0 " + Half(201, 201);
  for (int i = 1; i < 32; ++i) row += Half(17, 17);
  EXPECT_EQ(lines[3], row + kReset + "      1.98          200");
}

TEST(CliHeatMapTest, ManyExpertsAreSummedInGroupsToFit) {
  HeatMapOptions options;
  options.width = 80;
  // 128 experts: 64 half columns do not fit in 51, so pairs are summed and
  // drawn two to a column: 4 experts per column.
  std::vector<std::string> lines = absl::StrSplit(RenderHeatMap(RampLoad(2, 128), options), '\n');
  EXPECT_NE(lines[1].find("(4 experts per column)"), std::string::npos) << lines[1];
  // Without colour there are no halves: groups of 4 experts, one per column.
  options.color = false;
  lines = absl::StrSplit(RenderHeatMap(RampLoad(2, 128), options), '\n');
  EXPECT_NE(lines[1].find("(4 experts per column)"), std::string::npos) << lines[1];
  // Groups of 4 of the ramp 1..128 over an even share of 4 * 64.5 tokens:
  // 10/258 ... 506/258, from "·" (< .5) to "▓" (< 2).
  const std::string row = lines[3];
  EXPECT_EQ(row.rfind("    0 \u00b7", 0), 0u) << row;
  EXPECT_NE(row.find("\u2593      1.98"), std::string::npos) << row;
}

TEST(CliHeatMapTest, EveryLineFitsTheWidth) {
  for (const int experts : {8, 60, 64, 128, 256}) {
    for (const int width : {40, 60, 80, 100, 160, 200}) {
      for (const bool color : {true, false}) {
        HeatMapOptions options;
        options.width = width;
        options.color = color;
        const std::string map = RenderHeatMap(RampLoad(3, experts), options);
        for (const std::string& line : std::vector<std::string>(absl::StrSplit(map, '\n', absl::SkipEmpty()))) {
          EXPECT_LE(Columns(line), width) << experts << " experts, colour " << color << ":\n" << line;
        }
      }
    }
  }
}

TEST(CliHeatMapTest, LayersBeyondTheLinesAreNamedNotDrawn) {
  HeatMapOptions options;
  options.width = 100;
  options.color = false;
  options.max_lines = 8;
  const std::string map = RenderHeatMap(RampLoad(10, 8), options);
  const std::vector<std::string> lines = absl::StrSplit(map, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 8u) << map;  // title, axis, 4 layers, the note, the legend
  EXPECT_EQ(lines[5].rfind("    3 ", 0), 0u) << map;
  EXPECT_EQ(lines[6], "... layers 4-9 not shown");
  EXPECT_EQ(lines[7].rfind("tokens \u00f7 even share", 0), 0u) << map;
  options.max_lines = 0;
  const std::vector<std::string> all = absl::StrSplit(RenderHeatMap(RampLoad(10, 8), options), '\n', absl::SkipEmpty());
  EXPECT_EQ(all.size(), 13u);
}

TEST(CliHeatMapTest, TheLegendMakesRoomForLayersFirst) {
  HeatMapOptions options;
  options.width = 100;
  options.color = false;
  options.max_lines = 5;
  // 3 layers fit without the legend.
  std::string map = RenderHeatMap(RampLoad(3, 8), options);
  std::vector<std::string> lines = absl::StrSplit(map, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u) << map;
  EXPECT_EQ(lines[4].rfind("    2 ", 0), 0u) << map;
  // 10 do not: 2 of them, and the note.
  map = RenderHeatMap(RampLoad(10, 8), options);
  lines = absl::StrSplit(map, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u) << map;
  EXPECT_EQ(lines[4], "... layers 2-9 not shown");
}

TEST(CliHeatMapTest, RedrawErasesWhatThePreviousFrameLeft) {
  EXPECT_EQ(Redraw("ab\nc\n"), "\x1b[Hab\x1b[K\nc\x1b[K\x1b[J");
}

TEST(CliHeatMapTest, EscapesOnlyForATerminalThatTakesThem) {
  EXPECT_FALSE(IsAnsiTerminal(-1, "xterm-256color"));  // not a terminal
  EXPECT_TRUE(WantsColor(nullptr));
  EXPECT_TRUE(WantsColor(""));
  EXPECT_FALSE(WantsColor("1"));
}

}  // namespace
}  // namespace switchyard::cli
