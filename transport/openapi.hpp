// The OpenAPI 3.1 document of the REST API, generated from the route table
// and the resource schemas the server itself runs on.
#pragma once

#include <string>
#include <vector>

#include "transport/rest_route.hpp"

namespace parley {

std::string make_openapi(const std::vector<rest_route>& routes);

} // namespace parley
