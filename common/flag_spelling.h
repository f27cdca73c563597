// Flag spelling shared by the command-line mains (switchyard, switchyard-cli).
#pragma once

namespace switchyard {

// absl spells flags with underscores; accept the dashed spelling users of
// other servers type (--max-tokens) by rewriting the name part of each flag
// (up to any '=') in place. Values in their own argument are left alone.
inline void AcceptDashedFlags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* a = argv[i];
    if (a[0] != '-' || a[1] != '-') continue;
    for (char* c = a + 2; *c != '\0' && *c != '='; ++c) {
      if (*c == '-') *c = '_';
    }
  }
}

}  // namespace switchyard
