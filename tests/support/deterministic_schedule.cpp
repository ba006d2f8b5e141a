// The deterministic scheduler (deterministic_schedule.hpp). The turn passes between real threads through one
// semaphore per participant: the thread holding the turn picks the next one, releases that one's semaphore and
// waits on its own. Only the thread holding the turn changes the schedule's state (under m_, which also
// orders it for the free-running threads after a failure).
#include "deterministic_schedule.hpp"

#include <semaphore>

namespace sluice::test {

namespace {
thread_local deterministic_schedule* tls_schedule = nullptr;
thread_local std::size_t tls_id = 0;
}  // namespace

struct deterministic_schedule::participant {
  enum class state { runnable, parked, joining, done };
  state st = state::runnable;
  const void* word = nullptr;  // while parked
  bool timed = false;
  bool timed_out = false;
  std::size_t joining = none;  // while joining
  std::counting_semaphore<> turn{0};
};

deterministic_schedule::deterministic_schedule(std::uint64_t seed, schedule_options opts)
    : rng_(seed), seed_(seed), opts_(opts) {
  ps_.push_back(std::make_unique<participant>());
  tls_schedule = this;
  tls_id = 0;
}

deterministic_schedule::~deterministic_schedule() {
  std::unique_lock lk(m_);
  ps_[0]->st = participant::state::done;
  // Threads still running (a test that did not join them) go on without us.
  if (!free_.load()) fail_locked("", 0);
  tls_schedule = nullptr;
}

bool deterministic_schedule::failed() const {
  std::lock_guard lk(m_);
  return !failure_.empty();
}
std::string deterministic_schedule::failure() const {
  std::lock_guard lk(m_);
  return failure_;
}
std::uint64_t deterministic_schedule::steps() const {
  std::lock_guard lk(m_);
  return steps_;
}
std::uint64_t deterministic_schedule::trace() const {
  std::lock_guard lk(m_);
  return trace_;
}

std::uint64_t deterministic_schedule::next_random_locked() { return rng_(); }

std::size_t deterministic_schedule::pick_locked() {
  std::size_t runnable[64];
  std::size_t n = 0;
  for (std::size_t i = 0; i < ps_.size() && n < 64; ++i)
    if (ps_[i]->st == participant::state::runnable) runnable[n++] = i;
  if (n == 0) {
    // Nobody can run: a timed waiter's deadline is the only thing that can still happen.
    for (std::size_t i = 0; i < ps_.size() && n < 64; ++i)
      if (ps_[i]->st == participant::state::parked && ps_[i]->timed) runnable[n++] = i;
    if (n == 0) return none;
    std::size_t chosen = runnable[next_random_locked() % n];
    ps_[chosen]->st = participant::state::runnable;
    ps_[chosen]->timed_out = true;
    return chosen;
  }
  return runnable[next_random_locked() % n];
}

void deterministic_schedule::fail_locked(std::string why, std::size_t self) {
  if (!why.empty() && failure_.empty()) {
    failure_ = std::move(why) + " (seed " + std::to_string(seed_) + ", after " + std::to_string(steps_) +
               " steps; threads:";
    for (std::size_t i = 0; i < ps_.size(); ++i) {
      static const char* names[] = {"runnable", "parked", "joining", "done"};
      failure_ += " " + std::to_string(i) + "=" + names[static_cast<int>(ps_[i]->st)];
    }
    failure_ += ")";
  }
  free_.store(true);
  // Every other participant that has not ended waits for its turn (or is about to): let it go.
  for (std::size_t i = 0; i < ps_.size(); ++i)
    if (i != self && ps_[i]->st != participant::state::done) ps_[i]->turn.release();
}

// Called by the thread holding the turn: chooses who goes next, and (unless self leaves) waits for the turn to
// come back. Returns with lk unlocked.
void deterministic_schedule::hand_over(std::unique_lock<std::mutex>& lk, std::size_t self, bool self_leaves) {
  if (free_.load()) {
    lk.unlock();
    return;
  }
  if (++steps_ > opts_.max_steps) {
    fail_locked("step budget of " + std::to_string(opts_.max_steps) + " exceeded (a livelock?)", self);
    lk.unlock();
    return;
  }
  std::size_t next = pick_locked();
  if (next == none) {
    bool anyone_left = false;
    for (auto& p : ps_) anyone_left |= p->st != participant::state::done;
    if (anyone_left) fail_locked("no thread can run: every thread is parked or joining (a lost wake-up?)", self);
    lk.unlock();
    return;
  }
  trace_ = (trace_ ^ next) * 1099511628211ull;
  if (next == self) {
    lk.unlock();
    return;
  }
  participant* me = ps_[self].get();
  participant* them = ps_[next].get();
  lk.unlock();
  them->turn.release();
  if (!self_leaves) me->turn.acquire();
}

void deterministic_schedule::point() {
  deterministic_schedule* s = tls_schedule;
  if (!s || s->free_.load()) return;
  std::unique_lock lk(s->m_);
  s->hand_over(lk, tls_id, false);
}

bool deterministic_schedule::chance(double p) {
  deterministic_schedule* s = tls_schedule;
  if (!s || p <= 0 || s->free_.load()) return false;
  std::lock_guard lk(s->m_);
  return static_cast<double>(s->next_random_locked() >> 11) * 0x1.0p-53 < p;
}

double deterministic_schedule::spurious_cas_rate() {
  deterministic_schedule* s = tls_schedule;
  return s ? s->opts_.spurious_cas_failures : 0.0;
}

bool deterministic_schedule::park(const void* word, const std::function<bool()>& matches, bool timed) {
  deterministic_schedule* s = tls_schedule;
  if (!s || s->free_.load()) {
    std::this_thread::yield();  // a spurious wake-up, which every caller must tolerate anyway
    return true;
  }
  point();
  std::unique_lock lk(s->m_);
  if (s->free_.load() || !matches()) return true;  // the word changed: EAGAIN
  if (s->opts_.spurious_wakeups > 0 &&
      static_cast<double>(s->next_random_locked() >> 11) * 0x1.0p-53 < s->opts_.spurious_wakeups)
    return true;
  participant& me = *s->ps_[tls_id];
  me.st = participant::state::parked;
  me.word = word;
  me.timed = timed;
  me.timed_out = false;
  s->hand_over(lk, tls_id, false);
  lk.lock();
  me.st = participant::state::runnable;
  me.word = nullptr;
  return !me.timed_out;
}

void deterministic_schedule::unpark(const void* word, int count) {
  deterministic_schedule* s = tls_schedule;
  if (!s || s->free_.load()) return;
  point();
  std::lock_guard lk(s->m_);
  std::vector<std::size_t> waiting;
  for (std::size_t i = 0; i < s->ps_.size(); ++i)
    if (s->ps_[i]->st == participant::state::parked && s->ps_[i]->word == word) waiting.push_back(i);
  // Which sleepers a wake picks is up to the kernel: pick at random.
  while (count > 0 && !waiting.empty()) {
    std::size_t k = s->next_random_locked() % waiting.size();
    s->ps_[waiting[k]]->st = participant::state::runnable;
    waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(k));
    --count;
  }
}

std::size_t deterministic_schedule::add_participant() {
  std::lock_guard lk(m_);
  ps_.push_back(std::make_unique<participant>());
  std::size_t id = ps_.size() - 1;
  if (free_.load()) ps_[id]->turn.release();  // no turns any more: it runs at once
  return id;
}

void deterministic_schedule::run_participant(std::size_t id, const std::function<void()>& fn) {
  tls_schedule = this;
  tls_id = id;
  participant* me;
  {
    std::lock_guard lk(m_);
    me = ps_[id].get();
  }
  me->turn.acquire();  // the first turn
  fn();
  std::unique_lock lk(m_);
  me->st = participant::state::done;
  for (auto& p : ps_)
    if (p->st == participant::state::joining && p->joining == id) {
      p->st = participant::state::runnable;
      p->joining = none;
    }
  hand_over(lk, id, true);
  tls_schedule = nullptr;
}

void deterministic_schedule::join_participant(std::size_t id) {
  std::unique_lock lk(m_);
  if (free_.load() || ps_[id]->st == participant::state::done) return;
  participant& me = *ps_[tls_id];
  me.st = participant::state::joining;
  me.joining = id;
  hand_over(lk, tls_id, false);
  lk.lock();
  me.st = participant::state::runnable;
  me.joining = none;
}

void det_thread::start(std::function<void()> fn) {
  deterministic_schedule* s = tls_schedule;
  if (!s) {
    t_ = std::thread(std::move(fn));
    return;
  }
  sched_ = s;
  id_ = s->add_participant();
  t_ = std::thread([s, id = id_, fn = std::move(fn)] { s->run_participant(id, fn); });
  deterministic_schedule::point();  // the new thread may well go first
}

void det_thread::join() {
  if (sched_ && tls_schedule == sched_) sched_->join_participant(id_);
  t_.join();
}

void det_mutex::lock() {
  std::uint32_t c = 0;
  if (state_.compare_exchange_strong(c, 1)) return;
  if (c != 2) c = state_.exchange(2);
  while (c != 0) {
    det_sync::park_wait(state_, 2, nullptr);
    c = state_.exchange(2);
  }
}

bool det_mutex::try_lock() {
  std::uint32_t c = 0;
  return state_.compare_exchange_strong(c, 1);
}

void det_mutex::unlock() {
  if (state_.fetch_sub(1) != 1) {
    state_.store(0);
    det_sync::park_wake(state_, 1);
  }
}

}  // namespace sluice::test
