// `expert-load --watch`'s picture: a heat map of one ExpertLoad, one row per
// layer and one cell per expert, coloured by the expert's share of the
// layer's tokens relative to an even share (1 / experts), with the layer's
// max/mean imbalance and token count at the right. A pure function of the
// response, so that it is tested without a server or a terminal.
#pragma once

#include <string>

#include "switchyard/v1/switchyard.pb.h"
#include "tools/cli/commands.h"

namespace switchyard::cli {

struct HeatMapOptions {
  LoadWindow window = LoadWindow::kSinceStart;
  // Every line fits in this many terminal columns (down to a floor of a few
  // cells per row): experts are drawn two columns wide, one column wide,
  // two to a column (half blocks, colour only), and beyond that summed in
  // groups of 2, 4, 8, ... experts per cell.
  int width = 100;
  // At most this many lines (down to a floor of the title, the axis, one
  // layer and a note): the legend is left out when it would leave room for
  // fewer than 4 layers, and layers that do not fit are named in one line
  // instead. 0 = no limit.
  int max_lines = 0;
  // 256-colour cells (xterm SGR 38;5 / 48;5); else shade characters.
  bool color = true;
};

// Lines end in '\n'. In colour every row ends with an SGR reset.
std::string RenderHeatMap(const v1::ExpertLoad& load, const HeatMapOptions& options);

}  // namespace switchyard::cli
