#pragma once
#include <string>
#include <string_view>

namespace perch::chat {

// What a nickname looks like, so that two that read alike are told apart from two that differ:
// case folded (ASCII, Latin-1, Greek, Cyrillic, fullwidth forms), letters that are drawn like
// Latin ones in Cyrillic and Greek mapped to them, 0/O and 1/l/I/| taken as one, and invisible
// characters (zero-width spaces and joiners, soft hyphen, BOM) left out. "Alice", "alice",
// "ALICE", "Аlice" (a Cyrillic A) and "A\u200Blice" share one skeleton. Expects valid UTF-8 (a
// nickname has been through resourceprep).
std::string nick_skeleton(std::string_view nick);

}  // namespace perch::chat
