// Boost 1.81's Process v2 for the benchmarks' peers. It is header-only by default; with std::filesystem it
// forgets two names its own headers use (boost::optional and an unqualified decay), so they are supplied
// before it is included.
#pragma once
#define BOOST_PROCESS_USE_STD_FS 1
#include <type_traits>
#include <boost/optional.hpp>
namespace boost::process::v2::posix {
using std::decay;
}
#include <boost/process/v2/process.hpp>
