#pragma once
// DirectoryService.WatchChanges' initial-metadata key carrying the seq a stream starts after
// (directory.proto, WatchChangesRequest.from_now). Written by the directory, read by clients
// such as sasectl to resume a stream that broke before its first change.

#include <string_view>

namespace sase::common {

inline constexpr std::string_view kWatchCursorHeader = "sase-watch-cursor";

}  // namespace sase::common
