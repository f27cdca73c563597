// Flag spelling shared by the command-line mains (switchyard, switchyard-cli).
#pragma once

#include <cstring>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"

namespace switchyard {

// absl spells flags with underscores; accept the dashed spelling users of
// other servers type (--max-tokens) by rewriting the name part of each flag
// (up to any '=') in place. Values in their own argument are left alone.
// absl's negative form of a bool flag is --noname, with nothing between "no"
// and the name; other servers write --no-name (vLLM's
// --no-enable-prefix-caching), so --no-name and --no_name become --noname
// when `name` is a bool flag and no flag is itself called no_name. Call it
// after the flags are defined (any time in main).
inline void AcceptDashedFlags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* a = argv[i];
    if (a[0] != '-' || a[1] != '-') continue;
    for (char* c = a + 2; *c != '\0' && *c != '='; ++c) {
      if (*c == '-') *c = '_';
    }
    char* name = a + 2;
    // With a value (--no-x=true) it is no negative form: absl's message
    // about the unknown flag stands.
    if (std::strncmp(name, "no_", 3) != 0 || std::strchr(name, '=') != nullptr) continue;
    const absl::CommandLineFlag* positive = absl::FindCommandLineFlag(name + 3);
    if (positive == nullptr || !positive->IsOfType<bool>() || absl::FindCommandLineFlag(name) != nullptr) continue;
    std::memmove(name + 2, name + 3, std::strlen(name + 3) + 1);  // drop the '_' after "no"
  }
}

}  // namespace switchyard
