// Renders a NodeStatus for humans (aligned tables) or scripts (JSON).
#ifndef OVX_LOADER_STATUS_FORMAT_H_
#define OVX_LOADER_STATUS_FORMAT_H_

#include <string>

#include "loader/loader.h"
#include "nlohmann/json.hpp"

namespace ovx::loader {

std::string FormatStatusTable(const NodeStatus& status);
nlohmann::json StatusToJson(const NodeStatus& status);

// One drop event: a line for humans, an object for scripts.
std::string FormatDropEvent(const ovx_drop_event& event);
nlohmann::json DropEventToJson(const ovx_drop_event& event);

}  // namespace ovx::loader

#endif  // OVX_LOADER_STATUS_FORMAT_H_
