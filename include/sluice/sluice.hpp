// sluice/sluice.hpp -- the umbrella header: every public concept of sluice in one include.
#pragma once
#include "aio.hpp"
#include "file_lock.hpp"
#include "pipeline.hpp"
#include "queue.hpp"
#include "subprocess.hpp"
#include "system.hpp"
#include "thread.hpp"
#include "thread_pool.hpp"
